import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('schema (not yet implemented)')
    .action(() => {
      throw new KilnError('`kiln schema` is not yet implemented');
    });
}

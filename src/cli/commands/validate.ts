import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('validate (not yet implemented)')
    .action(() => {
      throw new KilnError('`kiln validate` is not yet implemented');
    });
}

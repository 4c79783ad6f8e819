import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';

export function registerIso(program: Command): void {
  program
    .command('iso')
    .description('iso (not yet implemented)')
    .action(() => {
      throw new KilnError('`kiln iso` is not yet implemented');
    });
}

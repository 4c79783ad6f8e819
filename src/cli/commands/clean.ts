import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';

export function registerClean(program: Command): void {
  program
    .command('clean')
    .description('clean (not yet implemented)')
    .action(() => {
      throw new KilnError('`kiln clean` is not yet implemented');
    });
}

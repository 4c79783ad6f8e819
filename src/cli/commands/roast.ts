import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';

export function registerRoast(program: Command): void {
  program
    .command('roast')
    .description('roast (not yet implemented)')
    .action(() => {
      throw new KilnError('`kiln roast` is not yet implemented');
    });
}

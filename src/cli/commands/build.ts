import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build (not yet implemented)')
    .action(() => {
      throw new KilnError('`kiln build` is not yet implemented');
    });
}

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { cleanLeftovers } from '../../imager/clean.js';
import { KilnError } from '../../core/errors.js';

export function registerClean(program: Command): void {
  program
    .command('clean')
    .description("release mounts, loop devices and temporary files left by killed builds (running builds' are never touched; only inside Kiln's work directories)")
    .option('--under <dir>', 'only what builds with their output under this directory left (e.g. --under ./out)')
    .action(async (opts: { under?: string }) => {
      const report = await cleanLeftovers(opts.under ? resolve(opts.under) : undefined);
      for (const r of report.released) process.stdout.write(`released ${r}\n`);
      for (const r of report.refused) process.stdout.write(`refused ${r}\n`);
      if (report.failed.length) throw new KilnError(`could not release ${report.failed.length} resource(s)`, undefined, report.failed);
      if (report.refused.length) {
        throw new KilnError(`refused ${report.refused.length} record(s) that point outside Kiln's work and state directories (left as they are; inspect and remove them by hand)`, undefined, report.refused);
      }
      if (!report.released.length) process.stdout.write('nothing to clean\n');
    });
}

import type { Command } from 'commander';
import { withScope } from '../../core/scope.js';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('explain how two images differ: container, partition table, each partition\'s filesystem and files (exit 0 same, 1 different)')
    .argument('<a>', 'disk image (raw, vhdx, vhd, qcow2, vmdk), root filesystem directory or tarball')
    .argument('<b>', 'the image to compare it with')
    .action(async (a: string, b: string) => {
      const { diffImages } = await import('../../diff/index.js');
      const report = await withScope('kiln diff', (scope) => diffImages(a, b, scope));
      for (const line of report.lines) process.stdout.write(`${line}\n`);
      process.exitCode = report.same ? 0 : 1;
    });
}

import type { Command } from 'commander';
import { KilnError, ExitCode } from '../../core/errors.js';
import { info } from '../../core/log.js';
import { ALL_PACKAGES, aptHost, aptInstall } from '../../host/index.js';
import { run } from '../../core/exec.js';

/**
 * `kiln prereqs [--all] [--install]`: list (or install) the Debian packages Kiln needs on the host.
 * `--all` covers everything: building every image type, the ISO maker, the RPM tests, the end-to-end
 * tests (qemu, OVMF, SeaBIOS) and the benchmarks (mkosi) — what `npm test` runs on a fresh machine.
 */
export function registerPrereqs(program: Command): void {
  program
    .command('prereqs')
    .description('check (or install with --install) the Debian packages Kiln needs on this host')
    .option('--all', 'everything the test suite and the benchmarks use too (default: what `kiln build` needs)')
    .option('--install', 'install the missing packages with apt-get (root on Debian/Ubuntu)')
    .action(async (opts: { all?: boolean; install?: boolean }) => {
      const wanted = opts.all ? [...ALL_PACKAGES] : BUILD_PACKAGES;
      const missing = await missingPackages(wanted);
      if (!missing.length) {
        info(`host prerequisites: all ${wanted.length} packages installed`);
        return;
      }
      if (opts.install) {
        if (process.getuid?.() !== 0 || !aptHost()) {
          throw new KilnError(`cannot install host packages here (${process.getuid?.() !== 0 ? 'not root' : 'not a Debian/Ubuntu host'})`, ExitCode.MissingHostTools, [
            `install these packages: ${missing.join(' ')}`,
          ]);
        }
        await aptInstall(missing);
        return;
      }
      process.stdout.write(`${missing.join('\n')}\n`);
      throw new KilnError(`${missing.length} host package(s) missing`, ExitCode.MissingHostTools, [`install them with: kiln prereqs${opts.all ? ' --all' : ''} --install (as root), or apt-get install ${missing.join(' ')}`]);
    });
}

/** What `kiln build` of the shipped configs needs (a build checks its own config's tools again). */
const BUILD_PACKAGES = ['mmdebstrap', 'bubblewrap', 'util-linux', 'mount', 'fdisk', 'e2fsprogs', 'dosfstools', 'mtools', 'xfsprogs', 'qemu-utils', 'tar', 'gzip'];

async function missingPackages(packages: readonly string[]): Promise<string[]> {
  const r = await run('dpkg-query', ['-W', '-f', '${Package}\t${db:Status-Abbrev}\n', ...packages], { allowFailure: true });
  const installed = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .filter((f) => f[1]?.startsWith('ii'))
      .map((f) => f[0]),
  );
  return packages.filter((p) => !installed.has(p));
}

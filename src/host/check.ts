/**
 * Host prerequisites: find what is missing; on Debian/Ubuntu as root install it with apt (and say
 * so); anywhere else stop with exit code 4 and the list of packages to install.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ExitCode, KilnError } from '../core/errors.js';
import { run, which } from '../core/exec.js';
import { info } from '../core/log.js';
import { FILE_PACKAGES, packagesFor } from './packages.js';

export interface Missing {
  tools: string[];
  files: string[];
  packages: string[];
}

export async function findMissing(tools: readonly string[], files: readonly string[] = []): Promise<Missing> {
  const missingTools: string[] = [];
  for (const t of [...new Set(tools)]) if (!(await which(t))) missingTools.push(t);
  const missingFiles = [...new Set(files)].filter((f) => !existsSync(f));
  const packages = new Set(packagesFor(missingTools).packages);
  for (const f of missingFiles) if (FILE_PACKAGES[f]) packages.add(FILE_PACKAGES[f]);
  return { tools: missingTools, files: missingFiles, packages: [...packages].sort() };
}

/** Is this a Debian-family host where Kiln may install with apt? */
export function aptHost(osRelease = readOsRelease()): boolean {
  const ids = `${osRelease.ID ?? ''} ${osRelease.ID_LIKE ?? ''}`;
  return /\b(debian|ubuntu)\b/.test(ids);
}

function readOsRelease(): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const line of readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m) out[m[1]!] = m[2]!.replace(/^"|"$/g, '');
    }
    return out;
  } catch {
    return {};
  }
}

export async function aptInstall(packages: readonly string[]): Promise<void> {
  info(`installing host packages with apt: ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env, captureStdout: false, allowFailure: true });
  let r = await install();
  if (r.code !== 0) {
    // a fresh machine may have stale or no package indexes
    await run('apt-get', ['update'], { env, captureStdout: false });
    r = await install();
  }
  if (r.code !== 0) {
    throw new KilnError(`apt-get could not install the host packages: ${packages.join(' ')}`, ExitCode.MissingHostTools, r.stderrTail.split('\n').slice(-10));
  }
}

/**
 * Make sure `tools`/`files` exist, installing their packages when allowed. `install` false: only
 * report. Throws KilnError(exit 4) when something is still missing.
 */
export async function ensureHostTools(tools: readonly string[], files: readonly string[] = [], opts: { install?: boolean } = {}): Promise<void> {
  const missing = await findMissing(tools, files);
  if (!missing.tools.length && !missing.files.length) return;
  const canInstall = (opts.install ?? true) && process.getuid?.() === 0 && aptHost();
  if (canInstall && missing.packages.length) {
    await aptInstall(missing.packages);
    const still = await findMissing(tools, files);
    if (!still.tools.length && !still.files.length) return;
    missing.tools = still.tools;
    missing.files = still.files;
  }
  const what = [...missing.tools, ...missing.files].join(', ');
  throw new KilnError(`host tools missing: ${what}`, ExitCode.MissingHostTools, [
    missing.packages.length ? `install these Debian/Ubuntu packages (as root): apt-get install ${missing.packages.join(' ')}` : '',
    canInstall ? '' : process.getuid?.() !== 0 ? 'run kiln as root to let it install them with apt' : 'this is not a Debian/Ubuntu host: install the equivalent packages with its package manager',
  ].filter(Boolean));
}

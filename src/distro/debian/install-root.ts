/**
 * A Debian install into an image root, every step in the tool sandbox (chroot/sandbox.ts):
 *
 * 1. download — the host's apt, with the host's network but no image: the lists (apt-get update)
 *    and every package the install needs (--download-only, see downloadSets) into this build's
 *    lists and archives directories. Only apt runs here, never a package's script.
 * 2. install — mmdebstrap with no network: essential packages by dpkg, the rest by apt, maintainer
 *    scripts chrooted into the root. The sandbox holds the root read-write, the archives and lists
 *    read-only (the .debs are hard links into the shared cache: a script could otherwise rewrite a
 *    package other builds install — apt trusts a cached .deb of the right size), its own /proc
 *    and /dev nodes in the root, and of the host only /usr and package-manager configuration,
 *    read-only. `chroot /proc/1/root` from a maintainer script reaches that view, nothing more.
 *
 * Used by the Debian backend (image builds) and by iso/ (the installer's tree).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { output, type RunOptions } from '../../core/exec.js';
import { logToFile } from '../../core/log.js';
import { runInToolSandbox, type SandboxBind } from '../../chroot/chroot.js';
import { aptDownloadConfig, downloadSets, EATMYDATA_PACKAGES, mmdebstrapArgs, sandboxSources, sourcePaths, type MmdebstrapPlan } from './mmdebstrap.js';

export interface DebianInstall extends Omit<MmdebstrapPlan, 'sources'> {
  /** apt source lines ("deb [opts] URI SUITE COMPONENTS"). */
  sources: string[];
  /** This build's archives directory (filled from the shared cache before; new downloads land here). */
  archives: string;
  /** This build's apt lists directory (seeded from the cache before). */
  lists: string;
  /** A scratch directory for phase 1's apt state (created and removed here). */
  scratch: string;
  /** Host paths the mmdebstrap hooks read (`upload` sources) or write (`copy-out` targets). */
  hookReadable?: string[];
  hookWritable?: string[];
  /** Environment of mmdebstrap (the host's by default). */
  env?: NodeJS.ProcessEnv;
  /** Each output line of both phases (error collection, progress). */
  onLine?: (line: string, phase: 'download' | 'install') => void;
  hint?: string;
  /**
   * A root-only apt auth.conf (repository credentials): only the download phase reads it, so it
   * reaches neither the image nor a package's script.
   */
  netrc?: string;
}

let nativeArch: string | undefined;
async function arch(): Promise<string> {
  nativeArch ??= await output('dpkg', ['--print-architecture']);
  return nativeArch;
}

/** Phase 1: the lists and every package the install will need, with the network, without the image. */
export async function downloadPackages(req: DebianInstall): Promise<void> {
  const a = await arch();
  const dir = join(req.scratch, 'apt');
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['etc/apt/apt.conf.d', 'etc/apt/preferences.d', 'etc/apt/sources.list.d']) mkdirSync(join(dir, d), { recursive: true });
  mkdirSync(join(req.lists, 'partial'), { recursive: true });
  mkdirSync(join(req.archives, 'partial'), { recursive: true });
  const sources = sandboxSources(req.sources);
  writeFileSync(join(dir, 'etc/apt/sources.list'), `${sources.join('\n')}\n`);
  writeFileSync(join(dir, 'status'), '');
  const conf = join(dir, 'apt.conf');
  writeFileSync(conf, aptDownloadConfig({ dir, lists: req.lists, archives: req.archives, ...(req.netrc ? { netrc: req.netrc } : {}) }, a));
  const sandbox = { writable: [dir, req.lists, req.archives], readable: [...sourcePaths(sources), ...(req.netrc ? [req.netrc] : [])], network: true };
  const opts: RunOptions = {
    env: { ...process.env, APT_CONFIG: conf, DEBIAN_FRONTEND: 'noninteractive' },
    captureStdout: false,
    onLine: (line) => req.onLine?.(line, 'download'),
    ...(req.hint ? { hint: req.hint } : {}),
  };
  try {
    await runInToolSandbox(['apt-get', 'update', '--error-on=any', '-q'], sandbox, opts);
    const packages = [...req.packages, ...(req.eatmydata ? EATMYDATA_PACKAGES : [])];
    for (const set of downloadSets(req.release, a, packages)) {
      await runInToolSandbox(['apt-get', '--download-only', '--yes', '-q', 'install', ...set], sandbox, opts);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Phase 2: mmdebstrap into the root, offline, from what phase 1 fetched. */
export async function installPackages(req: DebianInstall): Promise<void> {
  // apt-get install locks these (a private file of this build, writable inside); mmdebstrap
  // removes lists/auxfiles when it exists, which a read-only bind refuses
  for (const d of [req.archives, req.lists]) writeFileSync(join(d, 'lock'), '', { flag: 'a' });
  rmSync(join(req.lists, 'auxfiles'), { recursive: true, force: true });
  const root = req.root;
  const binds: SandboxBind[] = [
    { source: req.archives, dest: `${root}/var/cache/apt/archives`, readOnly: true },
    { source: join(req.archives, 'lock'), dest: `${root}/var/cache/apt/archives/lock` },
    { source: req.lists, dest: `${root}/var/lib/apt/lists`, readOnly: true },
    { source: join(req.lists, 'lock'), dest: `${root}/var/lib/apt/lists/lock` },
  ];
  const args = mmdebstrapArgs({ ...req, sources: sandboxSources(req.sources) });
  logToFile(`install: mmdebstrap offline in the sandbox, from ${req.archives}`);
  await runInToolSandbox(
    ['mmdebstrap', ...args],
    {
      installRoot: root,
      binds,
      readable: [...(req.hookReadable ?? [])],
      writable: [...(req.hookWritable ?? [])],
    },
    {
      env: { ...(req.env ?? process.env) },
      captureStdout: false,
      onLine: (line) => req.onLine?.(line, 'install'),
      ...(req.hint ? { hint: req.hint } : {}),
    },
  );
}

/** Both phases. */
export async function installDebianRoot(req: DebianInstall): Promise<void> {
  await downloadPackages(req);
  await installPackages(req);
}

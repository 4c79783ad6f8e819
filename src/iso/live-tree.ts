/**
 * The graphical installer's live system: a Debian 12 tree (resources/installer/gui: systemd, X,
 * Calamares, Node.js and the installer's disk tools, Kiln's Calamares job and units) made the same
 * sandboxed way as the installer initrd's tree (debian-tree.ts), packed by roast's squashfs
 * converter. The installer initrd's /init mounts it (kernel command line kiln.live) and switches
 * to it. Cached under <cache>/installer-gui/<inputs>-<versions>/live.squashfs, keyed like the
 * initrd: the inputs (every file below, the installer bundle) and the Debian package versions
 * (the same versions give the same kernel as the initrd's, whose modules the live root carries).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { writeAtomically } from '../core/atomic.js';
import { KilnError } from '../core/errors.js';
import { run } from '../core/exec.js';
import { info, stage } from '../core/log.js';
import type { Scope } from '../core/scope.js';
import { roast } from '../roast/index.js';
import { INSTALLER_BUNDLE, REPO_ROOT } from './bundle.js';
import { debianTree, type TreeFile } from './debian-tree.js';
import { suiteFingerprint } from './debian-suite.js';

export const GUI_RESOURCES = join(REPO_ROOT, 'resources/installer/gui');
const CALAMARES_MODULES = '/usr/lib/x86_64-linux-gnu/calamares/modules';
const RECIPE_VERSION = '1';

/** The files the live tree is made from, and where they go in it. */
export function liveFiles(resources = GUI_RESOURCES): TreeFile[] {
  const unitDir = join(resources, 'systemd');
  const moduleDir = join(resources, 'calamares/kilninstall');
  return [
    { source: INSTALLER_BUNDLE, destination: '/installer/kiln-installer.js' },
    { source: join(resources, 'session/kiln-calamares-session'), destination: '/usr/local/bin/kiln-calamares-session', mode: 0o755 },
    ...readdirSync(unitDir).sort().map((f) => ({ source: join(unitDir, f), destination: `/etc/systemd/system/${f}` })),
    ...readdirSync(moduleDir).sort().map((f) => ({ source: join(moduleDir, f), destination: `${CALAMARES_MODULES}/kilninstall/${f}` })),
  ];
}

export function livePackages(resources = GUI_RESOURCES): string[] {
  return (JSON.parse(readFileSync(join(resources, 'live-packages.json'), 'utf8')) as { packages: string[] }).packages;
}

/** The `<inputs>` half of the cache key. */
export function liveInputsHash(resources = GUI_RESOURCES): string {
  const h = createHash('sha256');
  h.update(`recipe ${RECIPE_VERSION}\n`);
  for (const f of [join(resources, 'live-packages.json'), join(resources, 'live-setup.sh'), ...liveFiles(resources).map((x) => x.source)]) {
    if (!existsSync(f)) throw new KilnError(`the graphical installer's input ${f} does not exist`);
    h.update(`${f.slice(REPO_ROOT.length)}\n`);
    h.update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

/** The live system's squashfs, built when its inputs or the Debian package versions changed. */
export async function liveSquashfs(scope: Scope, cacheRoot: string, opts: { rebuild?: boolean } = {}): Promise<string> {
  // the installer bundle is made by installerBoot() before this runs
  const key = `${liveInputsHash()}-${(await suiteFingerprint()) ?? 'offline'}`;
  const cacheDir = join(cacheRoot, 'installer-gui');
  mkdirSync(cacheDir, { recursive: true });
  const dir = join(cacheDir, key);
  const squashfs = join(dir, 'live.squashfs');
  if (existsSync(squashfs) && !opts.rebuild) {
    info(`graphical live system: cached (${key})`);
    return squashfs;
  }
  const lockTarget = join(cacheDir, `${key}.lock`);
  writeFileSync(lockTarget, '', { flag: 'a' });
  const unlock = await lockfile.lock(lockTarget, { retries: { retries: 1000, minTimeout: 1000, maxTimeout: 5000 }, stale: 60_000 });
  try {
    if (existsSync(squashfs) && !opts.rebuild) return squashfs;
    rmSync(dir, { recursive: true, force: true });
    stage(`graphical live system: building (${key})`);
    await writeAtomically(scope, dir, async (temp) => {
      mkdirSync(temp, { recursive: true });
      const tree = join(temp, 'tree');
      await debianTree(tree, {
        packages: [...livePackages(), 'linux-image-amd64'],
        files: liveFiles(),
        steps: [{ script: join(GUI_RESOURCES, 'live-setup.sh') }],
        exclude: [
          '/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*',
          // drivers a live installer never loads (the kernel image itself goes in live-setup.sh: it boots from the ISO)
          ...['drivers/media', 'drivers/net', 'drivers/infiniband', 'drivers/staging', 'drivers/iio', 'sound', 'net'].map((d) => `/lib/modules/*/kernel/${d}/*`),
        ],
      });
      stage('graphical live system: packing (squashfs)');
      const out = join(temp, 'roasted');
      await roast({ input: { kind: 'tree', path: tree }, artifacts: [{ Name: 'live', Type: 'squashfs' }], outDir: out, scope });
      const [made] = readdirSync(out);
      if (!made) throw new KilnError('roast made no squashfs of the live tree');
      await run('mv', [join(out, made), join(temp, 'live.squashfs')]);
      rmSync(tree, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    });
  } finally {
    await unlock();
  }
  return squashfs;
}

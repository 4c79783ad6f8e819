/**
 * Everything the ISO boots before the payload: the installer's kernel and initrd (from the static
 * config resources/installer/iso-initrd.json) and grub's BIOS and EFI boot images (grub tools come
 * from the same Debian 12 tree, never from the host). One Debian tree is made for all of them,
 * then packed; the result is cached under <cache>/installer/<key>/ where the key hashes the config,
 * every file it names, the installer bundle, the grub setup and the Debian package versions.
 * An unchanged key costs no time: nothing is rebuilt.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { writeAtomically } from '../core/atomic.js';
import { KilnError } from '../core/errors.js';
import { run } from '../core/exec.js';
import { info, stage } from '../core/log.js';
import type { Scope } from '../core/scope.js';
import { debianTree, type TreeSpec } from './debian-tree.js';
import { suiteFingerprint } from './debian-suite.js';
import { GRUB_EARLY_CFG, GRUB_MODULES } from './layout.js';
import { bundleInstaller, REPO_ROOT } from './bundle.js';
import { roast } from '../roast/index.js';

export const INITRD_CONFIG = join(REPO_ROOT, 'resources/installer/iso-initrd.json');
/**
 * Shared by every build on the machine, like the imager's package cache (/var/cache/kiln/<distro>):
 * the installer does not depend on the config being built, so any out/ directory reuses it.
 */
export const DEFAULT_CACHE_ROOT = process.env.KILN_ISO_CACHE ?? '/var/cache/kiln';
/** Bump when the way the cache entry is made changes (not its inputs). */
const RECIPE_VERSION = '1';
const GRUB_PACKAGES = ['grub-pc-bin', 'grub-efi-amd64-bin'];

export interface InstallerBoot {
  dir: string;
  kernel: string;
  initrd: string;
  /** grub i386-pc-eltorito core image (BIOS, CD and, through boot_hybrid.img, USB). */
  biosImage: string;
  /** grub's MBR for hybrid USB boot. */
  hybridMbr: string;
  /** BOOTX64.EFI */
  efiBinary: string;
  key: string;
  reused: boolean;
}

export interface InitrdConfig {
  packages: string[];
  kernel: string;
  files: { source: string; destination: string; mode?: number }[];
  scripts: string[];
  /** Every input file, for the cache key. */
  inputs: string[];
}

/** Read the static initrd config (a regular image config with one rootfs SystemConfig). */
export function readInitrdConfig(file = INITRD_CONFIG): InitrdConfig {
  const base = dirname(file);
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as {
    SystemConfigs: {
      PackageLists?: string[];
      Packages?: string[];
      KernelOptions?: Record<string, string>;
      AdditionalFiles?: Record<string, string | { Path: string; Permissions?: string }>;
      PostInstallScripts?: { Path: string }[];
    }[];
  };
  const sc = cfg.SystemConfigs[0];
  if (!sc) throw new KilnError(`${file}: SystemConfigs is empty`);
  const inputs = [file];
  const packages: string[] = [];
  for (const list of sc.PackageLists ?? []) {
    const path = resolve(base, list);
    inputs.push(path);
    packages.push(...(JSON.parse(readFileSync(path, 'utf8')) as { packages: string[] }).packages);
  }
  packages.push(...(sc.Packages ?? []));
  const kernel = sc.KernelOptions?.default;
  if (!kernel) throw new KilnError(`${file}: SystemConfigs[0].KernelOptions.default is required (the installer boots that kernel)`);
  const files = Object.entries(sc.AdditionalFiles ?? {}).map(([src, dst]) => {
    const source = resolve(base, src);
    inputs.push(source);
    return typeof dst === 'string'
      ? { source, destination: dst }
      : { source, destination: dst.Path, ...(dst.Permissions ? { mode: parseInt(dst.Permissions, 8) } : {}) };
  });
  const scripts = (sc.PostInstallScripts ?? []).map((s) => resolve(base, s.Path));
  inputs.push(...scripts);
  return { packages: [...new Set(packages)], kernel, files, scripts, inputs };
}

/** Hash of everything the initrd is made from (the `<inputs>` half of the cache key). */
export function inputsHash(cfg: InitrdConfig): string {
  const h = createHash('sha256');
  h.update(`recipe ${RECIPE_VERSION}\n${JSON.stringify(GRUB_MODULES)}\n${GRUB_EARLY_CFG}\n${GRUB_PACKAGES.join(',')}\n`);
  for (const f of cfg.inputs) {
    if (!existsSync(f)) throw new KilnError(`${INITRD_CONFIG}: ${f} does not exist`);
    h.update(`${f.slice(REPO_ROOT.length)}\n`);
    h.update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

export async function installerBoot(scope: Scope, cacheRoot: string, opts: { rebuild?: boolean } = {}): Promise<InstallerBoot> {
  await bundleInstaller();
  const cfg = readInitrdConfig();
  const inputs = inputsHash(cfg);
  const versions = await suiteFingerprint();
  const cacheDir = join(cacheRoot, 'installer');
  mkdirSync(cacheDir, { recursive: true });
  let key = `${inputs}-${versions ?? 'offline'}`;
  if (!versions) {
    // offline: the newest entry built from the same inputs is as good as we can know
    const same = readdirSync(cacheDir).filter((n) => n.startsWith(`${inputs}-`)).sort((a, b) => statSync(join(cacheDir, b)).mtimeMs - statSync(join(cacheDir, a)).mtimeMs);
    if (same[0]) key = same[0];
  }
  const dir = join(cacheDir, key);
  const result = (reused: boolean): InstallerBoot => ({
    dir,
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    biosImage: join(dir, 'eltorito.img'),
    hybridMbr: join(dir, 'boot_hybrid.img'),
    efiBinary: join(dir, 'BOOTX64.EFI'),
    key,
    reused,
  });
  if (existsSync(join(dir, 'initrd.img')) && !opts.rebuild) {
    info(`installer initrd: cached (${key})`);
    return result(true);
  }
  // one builder per key: a concurrent build of the same inputs waits, then reuses the result
  const lockTarget = join(cacheDir, `${key}.lock`);
  writeFileSync(lockTarget, '', { flag: 'a' });
  const unlock = await lockfile.lock(lockTarget, { retries: { retries: 1000, minTimeout: 1000, maxTimeout: 5000 }, stale: 60_000 });
  try {
    if (existsSync(join(dir, 'initrd.img')) && !opts.rebuild) {
      info(`installer initrd: cached (${key}), built by a concurrent run`);
      return result(true);
    }
    await buildInto(scope, dir, key, cfg, !!opts.rebuild);
  } finally {
    await unlock();
  }
  return result(false);
}

async function buildInto(scope: Scope, dir: string, key: string, cfg: InitrdConfig, rebuild: boolean): Promise<void> {
  if (rebuild) rmSync(dir, { recursive: true, force: true });
  stage(`installer initrd: building (${key}); inputs changed or nothing cached yet`);
  await writeAtomically(scope, dir, async (temp) => {
    mkdirSync(temp, { recursive: true });
    const tree = join(temp, 'tree');
    await makeTree(temp, tree, cfg);
    stage('installer initrd: packing');
    await packInitrd(scope, tree, temp);
    rmSync(tree, { recursive: true, force: true });
  });
}

async function makeTree(work: string, tree: string, cfg: InitrdConfig): Promise<void> {
  // grub's boot images are made in the tree (its grub, not the host's), copied out, then grub is
  // removed so the initrd carries only what the installer runs.
  const grubScript = join(work, 'grub-images.sh');
  writeFileSync(grubScript, grubImagesScript());
  const purgeScript = join(work, 'purge-grub.sh');
  writeFileSync(purgeScript, `set -e\napt-get purge -y -q --autoremove ${GRUB_PACKAGES.join(' ')} grub-common >/dev/null\n`);
  const kernelOut = join(work, 'boot');
  const spec: TreeSpec = {
    packages: [...cfg.packages, cfg.kernel, ...GRUB_PACKAGES],
    files: cfg.files,
    steps: [
      { script: grubScript },
      { copyOut: { from: '/kiln-boot', to: work } },
      { script: purgeScript },
      ...cfg.scripts.map((script) => ({ script })),
      { copyOut: { from: '/boot', to: work } },
    ],
    // never unpacked: documentation and whole driver families an installer does not load
    exclude: [
      '/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*', '/usr/share/locale/*',
      ...['drivers/gpu', 'drivers/media', 'drivers/net', 'drivers/infiniband', 'drivers/staging', 'drivers/iio', 'sound', 'net'].map(
        (d) => `/lib/modules/*/kernel/${d}/*`, // the package's own path (before /usr merge)
      ),
    ],
  };
  await debianTree(tree, spec);
  for (const f of ['early.cfg', 'eltorito.img', 'BOOTX64.EFI', 'boot_hybrid.img']) await run('mv', [join(work, 'kiln-boot', f), join(work, f)]);
  rmSync(join(work, 'kiln-boot'), { recursive: true, force: true });
  const vmlinuz = readdirSync(kernelOut).find((n) => n.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new KilnError(`the installer tree has no kernel in /boot (package ${cfg.kernel})`);
  await run('cp', [join(kernelOut, vmlinuz), join(work, 'vmlinuz')]);
  rmSync(kernelOut, { recursive: true, force: true });
  await run('sh', ['-c', 'rm -rf "$1"/boot/* "$1"/kiln-boot', 'sh', tree]);
}

function grubImagesScript(): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    'set -e',
    'mkdir -p /kiln-boot',
    `printf '%s' ${q(GRUB_EARLY_CFG)} > /kiln-boot/early.cfg`,
    `grub-mkimage -O i386-pc-eltorito -p /boot/grub -c /kiln-boot/early.cfg -o /kiln-boot/eltorito.img ${GRUB_MODULES['i386-pc'].join(' ')}`,
    `grub-mkimage -O x86_64-efi -p /boot/grub -c /kiln-boot/early.cfg -o /kiln-boot/BOOTX64.EFI ${GRUB_MODULES['x86_64-efi'].join(' ')}`,
    'cp /usr/lib/grub/i386-pc/boot_hybrid.img /kiln-boot/',
    '',
  ].join('\n');
}

/** The tree → initrd through roast's initrd converter (newc cpio, zstd, /dev/console ensured). */
async function packInitrd(scope: Scope, tree: string, work: string): Promise<void> {
  const outDir = join(work, 'roasted');
  await roast({ input: { kind: 'tree', path: tree }, artifacts: [{ Name: 'initrd', Type: 'initrd', Compression: 'zst' }], outDir, scope });
  const [made] = readdirSync(outDir).filter((n) => n.startsWith('initrd'));
  if (!made) throw new KilnError('roast made no initrd from the installer tree');
  await run('mv', [join(outDir, made), join(work, 'initrd.img')]);
  rmSync(outDir, { recursive: true, force: true });
}

/**
 * The Debian backend: mmdebstrap installs the base system and every package in one call (apt and
 * dpkg run inside the image chroot), from the configured repositories or the host's Debian mirror;
 * downloaded .debs are kept in a shared cache directory (see cache.ts: concurrent builds are safe
 * and do not queue); the image's own /var/cache/apt/archives stays empty unless
 * PreserveTdnfCache asks for the installed .debs to be kept (`preserveCache`). The dpkg path
 * filters (DisableRpmDocs / OverrideRpmLocales) are written into the root by the pipeline before
 * this runs, so dpkg honours them from the first package on.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CommandError, ExitCode, KilnError } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import { endProgress, info, logToFile, warn } from '../../core/log.js';
import { dropArchives, syncIn, syncListsIn, syncListsOut, syncOut } from './cache.js';
import { findDistro } from '../rules/index.js';
import type { ChrootFn, DistroBackend, GrubTools, InstalledPackage, InstallRequest } from '../backend.js';
import { mmdebstrapArgs } from './mmdebstrap.js';
import { missingPackages, PackageProgress } from './progress.js';
import { sourceLines } from './sources.js';

const RELEASE_NAMES: Record<string, string> = { '12': 'bookworm', '13': 'trixie' };
/** Upstream's Azure Linux kernel name, accepted in KernelOptions for convenience. */
const KERNEL_ALIASES: Record<string, string> = { kernel: 'linux-image-amd64' };

export class DebianBackend implements DistroBackend {
  readonly name = 'debian';
  readonly family = 'debian' as const;
  readonly release: string;

  constructor(release?: string) {
    const info = findDistro('debian');
    const r = release ?? info?.releases[0] ?? 'bookworm';
    this.release = RELEASE_NAMES[r] ?? r;
  }

  readonly grub: GrubTools = {
    mkimage: 'grub-mkimage',
    mkconfig: 'grub-mkconfig',
    install: 'grub-install',
    libDir: '/usr/lib/grub',
    configPath: '/boot/grub/grub.cfg',
    defaultsFile: '/etc/default/grub',
  };

  hostTools(): string[] {
    return ['mmdebstrap', 'unshare', 'flock', 'chroot', 'mount', 'umount'];
  }

  kernelPackage(kernel: string | undefined): string | undefined {
    return kernel ? (KERNEL_ALIASES[kernel] ?? kernel) : undefined;
  }

  implicitPackages(req: Pick<InstallRequest, 'sc' | 'boot' | 'kernel' | 'packages'>): string[] {
    const out: string[] = [];
    const kernel = this.kernelPackage(req.kernel);
    if (kernel) out.push(kernel);
    if (req.boot !== 'none') {
      // grub-*-bin: the modules and grub-mkimage, without the postinst that runs grub-install on
      // the host's disks; grub2-common: grub-mkconfig and the /etc/grub.d scripts
      out.push(req.boot === 'efi' ? 'grub-efi-amd64-bin' : 'grub-pc-bin', 'grub2-common');
      if (req.boot === 'efi' && req.packages.includes('shim-signed')) out.push('grub-efi-amd64-signed');
      // an initramfs generator for the kernel (one the config chose wins)
      if (!req.packages.some((p) => p === 'dracut' || p === 'initramfs-tools' || p === 'tiny-initramfs')) out.push('initramfs-tools', 'zstd');
    }
    return out;
  }

  async install(req: InstallRequest): Promise<void> {
    const packages = dedupe([...req.packages, ...this.implicitPackages(req)]);
    const sources = sourceLines(req.repos, this.release);
    // zstd initramfs: fast to make and to unpack (initramfs-tools falls back to gzip without zstd)
    const conf = join(req.root, 'etc/initramfs-tools/conf.d');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'kiln.conf'), 'COMPRESS=zstd\nCOMPRESSLEVEL=3\n');
    const archives = join(req.scratchDir, 'apt-archives');
    const lists = join(req.scratchDir, 'apt-lists');
    const sourcesKey = createHash('sha256').update(sources.join('\n')).digest('hex').slice(0, 16);
    await syncListsIn(req.cacheDir, sourcesKey, lists);
    const args = mmdebstrapArgs({
      root: req.root,
      release: this.release,
      packages,
      sources,
      archives,
      lists,
      eatmydata: true,
      deferInitramfs: packages.includes('initramfs-tools'),
    });
    const cached = await syncIn(req.cacheDir, archives);
    info(`installing ${packages.length} packages and their dependencies (${cached} cached) from ${sources.map((s) => s.split(' ').slice(-3, -1).join(' ')).join(', ')}`);
    const progress = new PackageProgress();
    const t0 = Date.now();
    const errors: string[] = [];
    try {
      // a private mount namespace: mmdebstrap's own mounts (/dev, /proc, the archives bind mount)
      // cannot outlive it, even if it is killed
      await run('unshare', ['--mount', '--propagation', 'private', '--', 'mmdebstrap', ...args], {
        captureStdout: false,
        onLine: (line) => {
          if (line.startsWith('E:')) errors.push(line);
          // mmdebstrap's phases and the slow triggers, time-stamped in the log (where the time goes)
          if (/^(I: |update-initramfs: |Processing triggers for )/.test(line)) logToFile(`[+${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
          if (progress.feed(line)) req.onProgress?.(progress.done, progress.total);
        },
      });
    } catch (e) {
      const missing = missingPackages(errors);
      if (missing.length) {
        throw new KilnError(
          `package${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}`,
          ExitCode.BuildFailed,
          [
            `searched (${this.release}): ${sources.join(' | ')}`,
            `check the names in PackageLists/Packages of SystemConfig "${req.sc.Name}" (apt-cache search NAME on a Debian ${this.release} host), or add the repository that has them to PackageRepos`,
          ],
        );
      }
      if (e instanceof CommandError) throw e;
      throw e;
    } finally {
      endProgress();
      // downloads are complete files (apt renames them into place), even from a failed install
      await syncOut(req.cacheDir, archives).catch((e: Error) => warn(`package cache not updated: ${e.message}`));
      await syncListsOut(req.cacheDir, sourcesKey, lists).catch((e: Error) => warn(`package lists cache not updated: ${e.message}`));
      await dropArchives(archives);
      await dropArchives(lists);
    }
  }

  async manifest(root: string): Promise<InstalledPackage[]> {
    const r = await run('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', '${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n']);
    return r.stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .filter((f) => f[0]?.startsWith('ii'))
      .map(([, name, version, arch]) => ({ name: name!, version: version!, arch: arch! }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async kernels(root: string): Promise<string[]> {
    const boot = join(root, 'boot');
    if (!existsSync(boot)) return [];
    return readdirSync(boot)
      .filter((f) => f.startsWith('vmlinuz-'))
      .map((f) => f.slice('vmlinuz-'.length))
      .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  }

  /** Build the initramfs of every installed kernel (install deferred it; see mmdebstrap.ts). */
  async updateInitramfs(root: string, chroot: ChrootFn): Promise<void> {
    if (!existsSync(join(root, 'usr/sbin/update-initramfs'))) return; // another generator (dracut) or none
    for (const k of await this.kernels(root)) {
      const exists = existsSync(join(root, 'boot', `initrd.img-${k}`));
      await chroot(['update-initramfs', exists ? '-u' : '-c', '-k', k]);
    }
  }

  /** PreserveTdnfCache: copy the installed packages' .debs from the shared cache into the image. */
  async preserveCache(root: string, cacheDir: string, installed: InstalledPackage[]): Promise<number> {
    const dest = join(root, 'var/cache/apt/archives');
    mkdirSync(dest, { recursive: true });
    const wanted = new Set(installed.map((p) => `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`));
    let n = 0;
    for (const f of readdirSync(cacheDir)) {
      if (wanted.has(f)) {
        await copyFile(join(cacheDir, f), join(dest, f));
        n++;
      }
    }
    return n;
  }
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

/**
 * The Debian backend: mmdebstrap installs the base system and every package in one call (apt and
 * dpkg run inside the image chroot), from the configured repositories or the host's Debian mirror,
 * in two sandboxed phases (install-root.ts): apt downloads with the network, then mmdebstrap
 * installs without it, maintainer scripts seeing nothing of the host;
 * downloaded .debs are kept in a shared cache directory (see cache.ts: concurrent builds are safe
 * and do not queue); the image's own /var/cache/apt/archives stays empty unless
 * PreserveTdnfCache asks for the installed .debs to be kept (`preserveCache`). The dpkg path
 * filters (DisableRpmDocs / OverrideRpmLocales) are written into the root by install() before
 * mmdebstrap runs, so dpkg honours them from the first package on.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CommandError, ExitCode, KilnError } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import { endProgress, info, logToFile, warn } from '../../core/log.js';
import { dpkgExcludes, DPKG_EXCLUDES_FILE } from '../../system/render/dpkg-excludes.js';
import { dropArchives, syncIn, syncListsIn, syncListsOut, syncOut } from './cache.js';
import type { ChrootFn, DistroBackend, InstalledPackage, InstallRequest, PackageStateRequest } from '../backend.js';
import { BackendBase } from '../common.js';
import { downloadPackages, installPackages, type DebianInstall } from './install-root.js';
import { finishDebianPackageState } from './package-state.js';
import { missingPackages, PackageProgress } from './progress.js';
import { authConf, authSources, sourceLines } from './sources.js';
import { registerSecret, splitCredentials } from '../../core/credentials.js';
import { copyBytes, createFileAt, resolveInRoot, withDirInRoot, writeInRoot } from '../../system/paths.js';

export class DebianBackend extends BackendBase implements DistroBackend {
  readonly family = 'debian' as const;

  hostTools(): string[] {
    return ['mmdebstrap', 'apt-get', 'bwrap', 'flock', 'mount', 'umount', 'dpkg-query'];
  }

  hostFiles(): string[] {
    return ['/usr/share/mmdebstrap/hooks/eatmydata/customize.sh'];
  }

  async install(req: InstallRequest): Promise<void> {
    const packages = this.packageSet(req);
    const sources = sourceLines(req.repos, this.release, req.mirror, this.decl);
    // written before any package: dpkg honours the path filters from the first file on
    const excludes = dpkgExcludes(req.sc);
    if (excludes) await writeInRoot(req.root, DPKG_EXCLUDES_FILE, excludes, { mode: 0o644 });
    // zstd initramfs: fast to make and to unpack (initramfs-tools falls back to gzip without zstd)
    await writeInRoot(req.root, '/etc/initramfs-tools/conf.d/kiln.conf', 'COMPRESS=zstd\nCOMPRESSLEVEL=3\n', { mode: 0o644 });
    const archives = join(req.scratchDir, 'apt-archives');
    const lists = join(req.scratchDir, 'apt-lists');
    const sourcesKey = createHash('sha256').update(sources.join('\n')).digest('hex').slice(0, 16);
    // repository credentials: a root-only file in the (0700) scratch directory, never the image
    const withAuth = authSources(req.repos, req.mirror);
    const auth = authConf(withAuth);
    let netrc: string | undefined;
    if (auth) {
      for (const r of withAuth) registerSecret(splitCredentials(r.BaseUrl).password);
      netrc = join(req.scratchDir, 'apt-auth.conf');
      writeFileSync(netrc, auth, { mode: 0o600 });
    }
    await syncListsIn(req.cacheDir, sourcesKey, lists);
    const cached = await syncIn(req.cacheDir, archives);
    info(`installing ${packages.length} packages and their dependencies (${cached} cached) from ${sources.map((s) => s.split(' ').slice(-3, -1).join(' ')).join(', ')}`);
    const progress = new PackageProgress();
    const t0 = Date.now();
    const errors: string[] = [];
    const plan: DebianInstall = {
      root: req.root,
      release: this.release,
      packages,
      sources,
      archives,
      lists,
      scratch: req.scratchDir,
      eatmydata: true,
      deferInitramfs: packages.includes('initramfs-tools'),
      ...(netrc ? { netrc } : {}),
      onLine: (line, phase) => {
        if (line.startsWith('E:')) errors.push(line);
        // the phases and the slow triggers, time-stamped in the log (where the time goes)
        if (/^(I: |update-initramfs: |Processing triggers for |Fetched )/.test(line)) logToFile(`[+${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
        if (phase === 'install' && progress.feed(line)) req.onProgress?.(progress.done, progress.total);
      },
    };
    let synced = false;
    const syncCaches = async () => {
      if (synced) return;
      synced = true;
      // downloads are complete files (apt renames them into place), even from a failed download;
      // only what apt fetched goes back: nothing from the install phase, where package scripts run
      await syncOut(req.cacheDir, archives).catch((e: Error) => warn(`package cache not updated: ${e.message}`));
      await syncListsOut(req.cacheDir, sourcesKey, lists).catch((e: Error) => warn(`package lists cache not updated: ${e.message}`));
    };
    try {
      try {
        await downloadPackages(plan);
      } finally {
        await syncCaches();
      }
      logToFile(`[+${((Date.now() - t0) / 1000).toFixed(1)}s] downloads complete; installing without network`);
      await installPackages(plan);
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
      const fetchFailure = fetchProblem(errors);
      if (fetchFailure) throw new KilnError(fetchFailure.message, ExitCode.BuildFailed, [...fetchFailure.lines, `sources (${this.release}): ${sources.join(' | ')}`, fetchFailure.hint]);
      if (e instanceof CommandError) throw e;
      throw e;
    } finally {
      endProgress();
      await dropArchives(archives);
      await dropArchives(lists);
    }
  }

  async manifest(root: string): Promise<InstalledPackage[]> {
    // resolved in the image: a link there must not make the manifest list the host's packages
    const r = await run('dpkg-query', [`--admindir=${await resolveInRoot(root, '/var/lib/dpkg')}`, '-W', '-f', '${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n']);
    return r.stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .filter((f) => f[0]?.startsWith('ii'))
      .map(([, name, version, arch]) => ({ name: name!, version: version!, arch: arch! }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Build the initramfs of every installed kernel (install deferred it; see mmdebstrap.ts). */
  async updateInitramfs(root: string, chroot: ChrootFn): Promise<void> {
    if (!existsSync(join(root, 'usr/sbin/update-initramfs'))) return; // another generator (dracut) or none
    for (const k of await this.kernels(root)) {
      const exists = existsSync(join(root, 'boot', this.decl.initramfs.fileName(k)));
      await chroot(['update-initramfs', exists ? '-u' : '-c', '-k', k]);
    }
  }

  async finishPackageState(req: PackageStateRequest): Promise<string> {
    await finishDebianPackageState(req);
    if (req.sc.PreserveTdnfCache !== true) return 'package caches emptied';
    const n = await this.preserveCache(req.root, req.cacheDir, req.installed);
    return `PreserveTdnfCache: kept ${n} package files in ${this.decl.packageCacheDir}`;
  }

  /** PreserveTdnfCache: copy the installed packages' .debs from the shared cache into the image. */
  private async preserveCache(root: string, cacheDir: string, installed: InstalledPackage[]): Promise<number> {
    const wanted = new Set(installed.map((p) => `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`));
    // written through an open directory of the image (this runs after the config's scripts, which
    // may have made the cache directory a link): never onto the build host
    return await withDirInRoot(root, this.decl.packageCacheDir, {}, async (dest) => {
      let n = 0;
      for (const f of readdirSync(cacheDir)) {
        if (!wanted.has(f)) continue;
        const from = await open(join(cacheDir, f), 'r');
        try {
          const to = await createFileAt(dest, f);
          try {
            await copyBytes(from, to);
          } finally {
            await to.close();
          }
        } finally {
          await from.close();
        }
        n++;
      }
      return n;
    });
  }
}

/**
 * apt's download errors, said plainly (found by bench/faults.sh: otherwise the first line is
 * mmdebstrap's 300-character command line): the repositories cannot be reached at all, or a
 * file their index names is gone (the repository changed while the build ran).
 */
export function fetchProblem(errors: readonly string[]): { message: string; lines: string[]; hint: string } | undefined {
  const failed = errors.filter((l) => /Failed to fetch|Unable to fetch/.test(l));
  if (!failed.length) return undefined;
  const lines = failed.slice(0, 4).map((l) => `  ${l}`);
  if (failed.some((l) => /Temporary failure resolving|Could not resolve|Could not connect|Connection (timed out|refused)|No route to host|Network is unreachable/.test(l))) {
    return { message: 'the package repositories cannot be reached', lines, hint: "check this host's network (DNS, routes, proxy), or point PackageRepos / --mirror at a reachable mirror" };
  }
  if (failed.some((l) => /\b404\b|Not Found|Hash Sum mismatch|File has unexpected size/.test(l))) {
    return { message: 'a package the repository index lists could not be downloaded (the repository changed while the build ran?)', lines, hint: 'build again: the next build reads the current index' };
  }
  return { message: 'downloading packages failed', lines, hint: 'see the apt errors above and the full log' };
}

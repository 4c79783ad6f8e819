/**
 * The RPM backend (Azure Linux and any RPM distribution in the catalog): tdnf when the host has it,
 * else dnf, installing with --installroot into the mounted image. Neither the host's nor the
 * image's repo files are read (explicit reposdir, config and varsdir; no plugins); the database is
 * created with `rpm --initdb` under /var/lib/rpm (Debian's rpm would use ~/.rpmdb: a private HOME
 * with its own .rpmmacros fixes that and carries DisableRpmDocs / OverrideRpmLocales as rpm
 * macros). Downloaded packages stay in the shared cache (locked while the transaction runs).
 */
import { copyFile, readdir } from 'node:fs/promises';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';
import { CommandError, ExitCode, KilnError } from '../../core/errors.js';
import { run, which } from '../../core/exec.js';
import { runInToolSandbox, type ToolSandbox } from '../../chroot/chroot.js';
import { endProgress, info } from '../../core/log.js';
import { copyIntoRoot, removeInRoot, writeInRoot } from '../../system/paths.js';
import type { ChrootFn, DistroBackend, InstalledPackage, InstallKeyRequest, InstallRequest, PackageStateRequest } from '../backend.js';
import { BackendBase } from '../common.js';
import { excludeDocs, hostMacros, imageMacros, RPM_DBPATH } from './macros.js';
import { RpmProgress, rpmFailure } from './progress.js';
import { describeRepos, renderRepoFile, rpmRepos, trustedKeyDir, type RpmRepo } from './repos.js';
import { repoInputs, rpmSnapshot, toolVersion } from './tree-key.js';

const MANIFEST_DIR = '/var/lib/rpmmanifest';
/** upstream's RemoveRpmDb manifests: `rpm -qa`, and one line of details per package */
const MANIFEST_2_FORMAT = '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{INSTALLTIME}\\t%{ARCH}\\t%{VENDOR}\\t%{EPOCH}\\t%{SIZE}\\t%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\t%{SOURCERPM}\\n';

export class RpmBackend extends BackendBase implements DistroBackend {
  readonly family = 'rpm' as const;

  hostTools(): string[] {
    return ['rpm', 'bwrap', 'mount', 'umount'];
  }

  hostFiles(): string[] {
    return [];
  }

  async installInputs(req: InstallKeyRequest): Promise<Record<string, unknown>> {
    const packages = this.packageSet(req).sort();
    const repos = rpmRepos(this.decl, this.release, req.repos, req.mirror);
    const tool = (await which('tdnf')) ? 'tdnf' : 'dnf';
    const placeholder = { ...req, root: 'ROOT', cacheDir: 'CACHE', scratchDir: 'SCRATCH' } as InstallRequest;
    return {
      repos: repoInputs(repos),
      packages,
      hostMacros: hostMacros(req.sc),
      imageMacros: imageMacros(req.sc),
      tool: await toolVersion(tool),
      rpm: await toolVersion('rpm'),
      conf: tool === 'tdnf' ? tdnfConf('CACHE', 'REPOS') : dnfConf('CACHE', 'REPOS'),
      args: tool === 'tdnf' ? tdnfArgs(placeholder, 'CONF', 'REPOS', this.release, packages) : dnfArgs(placeholder, 'CONF', 'REPOS', 'WORK', this.release, packages),
    };
  }

  async repoSnapshot(req: InstallKeyRequest): Promise<string | undefined> {
    return await rpmSnapshot(rpmRepos(this.decl, this.release, req.repos, req.mirror), this.release);
  }

  async install(req: InstallRequest): Promise<void> {
    const packages = this.packageSet(req);
    // they end dnf's/tdnf's argv: one starting with "-" would be an option (e.g. --installroot=/)
    const optionLike = packages.find((p) => p.trimStart().startsWith('-'));
    if (optionLike !== undefined) throw new KilnError(`package "${optionLike}" starts with "-"; refusing to pass it to the package manager`, ExitCode.InvalidConfig);
    const repos = rpmRepos(this.decl, this.release, req.repos, req.mirror);
    const work = join(req.scratchDir, 'rpm');
    const home = join(work, 'home');
    const reposDir = join(work, 'repos.d');
    for (const d of [home, reposDir, ...Object.values(dnfHostDirs(work))]) mkdirSync(d, { recursive: true, mode: 0o700 });
    writeFileSync(join(home, '.rpmmacros'), hostMacros(req.sc));
    for (const r of repos) {
      const local = r.baseurl.startsWith('file:') ? { metadataExpire: '0' } : {};
      // root-only: the build's copy is the only one with the repository's credentials
      writeFileSync(join(reposDir, `${r.id}.repo`), renderRepoFile(r, { ...local, credentials: true }), { mode: 0o600 });
    }
    // a reproducible build's SOURCE_DATE_EPOCH (set for every host tool): rpm >= 4.18 then records it
    // as each package's install time and transaction id instead of the clock
    const epoch = process.env.SOURCE_DATE_EPOCH;
    const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', ...(epoch ? { SOURCE_DATE_EPOCH: epoch } : {}) };
    await run('rpm', ['--root', req.root, '--dbpath', RPM_DBPATH, '--initdb'], { env });
    // settings for packages installed later, in the image (they are the image's own, like upstream's)
    for (const [path, text] of Object.entries(imageMacros(req.sc))) await writeInRoot(req.root, path, text, { mode: 0o644 });

    const tool = (await which('tdnf')) ? 'tdnf' : 'dnf';
    const conf = join(work, `${tool}.conf`);
    writeFileSync(conf, tool === 'tdnf' ? tdnfConf(req.cacheDir, reposDir) : dnfConf(req.cacheDir, reposDir));
    const args = tool === 'tdnf' ? tdnfArgs(req, conf, reposDir, this.release, packages) : dnfArgs(req, conf, reposDir, work, this.release, packages);

    info(`installing ${packages.length} packages and their dependencies with ${tool} from ${describeRepos(repos)}`);
    const progress = new RpmProgress();
    const messages: string[] = [];
    mkdirSync(req.cacheDir, { recursive: true });
    const unlock = await lockCache(req.cacheDir);
    try {
      // in the tool sandbox (docs/security.md): scriptlets, chrooted by rpm into the root, get its
      // /proc and minimal /dev and see nothing else of the host; network only for remote repositories
      await runInToolSandbox([tool, ...args], rpmSandbox(req.root, work, req.cacheDir, repos, this.release), {
        env,
        captureStdout: false,
        onLine: (line) => {
          if (/error|not signed|no match|unable|failed|cannot|nokey/i.test(line)) messages.push(line);
          if (progress.feed(line)) req.onProgress?.(progress.done, progress.total);
        },
      });
    } catch (e) {
      throw this.explain(e, messages, repos, req);
    } finally {
      endProgress();
      await unlock();
      if (tool === 'dnf') await moveOutOfRoot(req.root, DNF_LOG_IN_ROOT, join(work, 'log'));
    }
    await this.installRepoFiles(req.root, repos);
  }

  /** Turn the package manager's failure into an error naming the package or the repository. */
  private explain(e: unknown, messages: string[], repos: RpmRepo[], req: InstallRequest): unknown {
    const f = rpmFailure(messages);
    const searched = `searched: ${describeRepos(repos)}`;
    if (f.unsignedMetadata.length) {
      const bad = repos.filter((r) => f.unsignedMetadata.includes(r.id));
      return new KilnError(`the metadata of repository ${bad.map((r) => `${r.id} (${r.baseurl})`).join(', ') || f.unsignedMetadata.join(', ')} is not signed by a trusted key (repomd.xml.asc missing or not verified)`, ExitCode.BuildFailed, [
        ...messages.slice(-2).map((l) => `  | ${l}`),
        'a mirror re-signed with your own key: put the public key in ' + trustedKeyDir(this.decl.name) + '; a repository of your own without signed metadata: "RepoGPGCheck": false in PackageRepos',
      ], 'REPO_UNTRUSTED');
    }
    if (f.unreachable.length) {
      const bad = repos.filter((r) => f.unreachable.includes(r.id));
      return new KilnError(`repository ${bad.map((r) => `${r.id} (${r.baseurl})`).join(', ') || f.unreachable.join(', ')} cannot be read`, ExitCode.BuildFailed, [
        ...messages.slice(-3).map((l) => `  | ${l}`),
        req.repos.length ? 'check BaseUrl in PackageRepos' : 'check --mirror / Distro.Mirror, or the network; an air-gapped build needs a mirror (kiln build --mirror file:///path)',
      ], 'REPO_UNREACHABLE');
    }
    if (f.unsigned.length) {
      return new KilnError(`package${f.unsigned.length > 1 ? 's' : ''} ${f.unsigned.join(', ')} failed the signature check (unsigned, or signed by a key that is not trusted)`, ExitCode.BuildFailed, [
        searched,
        'use packages signed by the repository\'s key; a repository you trust without signatures needs "GPGCheck": false in PackageRepos',
      ], 'PACKAGE_UNSIGNED');
    }
    if (f.missing.length) {
      return new KilnError(`package${f.missing.length > 1 ? 's' : ''} not found: ${f.missing.join(', ')}`, ExitCode.BuildFailed, [
        `${searched} (release ${this.release})`,
        `check the names in PackageLists/Packages of SystemConfig "${req.sc.Name}", or add the repository that has them to PackageRepos`,
      ], 'PACKAGE_NOT_FOUND');
    }
    if (e instanceof CommandError) return e;
    return e;
  }

  /** PackageRepos with "Install": true land in the image, their local keys beside them. */
  private async installRepoFiles(root: string, repos: RpmRepo[]): Promise<void> {
    for (const r of repos.filter((x) => x.install)) {
      const keys: string[] = [];
      for (const k of r.gpgkeys) {
        if (!k.startsWith('file:')) {
          keys.push(k);
          continue;
        }
        const dest = `/etc/pki/rpm-gpg/${basename(fileURLToPath(k))}`;
        await copyIntoRoot(fileURLToPath(k), root, dest);
        keys.push(`file://${dest}`);
      }
      await writeInRoot(root, `/etc/yum.repos.d/${r.id}.repo`, renderRepoFile({ ...r, gpgkeys: keys }), { mode: 0o644 });
    }
  }

  async manifest(root: string): Promise<InstalledPackage[]> {
    if (!existsSync(join(root, RPM_DBPATH.slice(1)))) return [];
    const r = await run('rpm', ['--root', root, '--dbpath', RPM_DBPATH, '-qa', '--qf', '%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%|LICENSE?{%{LICENSE}}:{}|\\n']);
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'))
      .filter(([name]) => name !== 'gpg-pubkey') // imported keys are database entries, not packages
      .map(([name, version, arch, license]) => ({ name: name!, version: version!, arch: arch!, ...(license ? { license } : {}) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * dracut for every installed kernel, not host-only (the build host is not the machine that
   * boots). --nostrip: the distribution's binaries and modules are stripped already, and stripping
   * them again was 90% of dracut's CPU time (45 s → 5.5 s user on core-efi); zstd: several times
   * faster than gzip to make and to unpack. --reproducible: a sorted archive whose times are
   * SOURCE_DATE_EPOCH's when a reproducible build sets it.
   */
  async updateInitramfs(root: string, chroot: ChrootFn): Promise<void> {
    if (!['usr/bin/dracut', 'usr/sbin/dracut'].some((p) => existsSync(join(root, p)))) return;
    for (const k of await this.kernels(root)) {
      await chroot(['dracut', '--force', '--no-hostonly', '--nostrip', '--reproducible', '--compress=zstd -3 -T0', `/boot/${this.decl.initramfs.fileName(k)}`, k]);
    }
  }

  async finishPackageState(req: PackageStateRequest): Promise<string> {
    const notes: string[] = [];
    if (req.sc.PreserveTdnfCache === true) {
      const n = await this.preserveCache(req.root, req.cacheDir, req.installed, req.sc, req.mirror);
      notes.push(`PreserveTdnfCache: kept ${n} packages in ${this.decl.packageCacheDir}`);
    }
    if (req.sc.RemoveRpmDb === true) {
      // the manifest first (what upstream's images keep in place of the database), then the database
      const q = (extra: string[]) => run('rpm', ['--root', req.root, '--dbpath', RPM_DBPATH, '-qa', ...extra]);
      await writeInRoot(req.root, `${MANIFEST_DIR}/container-manifest-1`, (await q([])).stdout, { mode: 0o644 });
      await writeInRoot(req.root, `${MANIFEST_DIR}/container-manifest-2`, (await q(['--qf', MANIFEST_2_FORMAT])).stdout, { mode: 0o644 });
      // removed inside the image: a link there is removed itself, never what it points to
      for (const db of this.decl.packageDb) await removeInRoot(req.root, db, { recursive: true });
      notes.push(`RemoveRpmDb: manifest in ${MANIFEST_DIR}, ${this.decl.packageDb.join(', ')} removed`);
    }
    return notes.join('; ') || 'package caches stayed outside the image';
  }

  /**
   * Copy the installed packages' RPMs into the image's tdnf cache layout: from the shared cache
   * (downloaded from remote repositories), or straight from a local (file://) repository, which
   * dnf reads in place and never copies into its cache.
   */
  private async preserveCache(root: string, cacheDir: string, installed: InstalledPackage[], sc: PackageStateRequest['sc'], mirror: string | undefined): Promise<number> {
    const wanted = new Set(installed.map((p) => `${p.name}-${p.version.replace(/^\d+:/, '')}.${p.arch}.rpm`));
    const sources: { dir: string; repo: string }[] = [];
    for (const entry of await readdir(cacheDir, { withFileTypes: true })) {
      if (entry.isDirectory()) sources.push({ dir: join(cacheDir, entry.name, 'packages'), repo: entry.name.replace(/-[0-9a-f]{16}$/, '') });
    }
    for (const r of rpmRepos(this.decl, this.release, sc.PackageRepos ?? [], mirror)) {
      if (!r.baseurl.startsWith('file:')) continue;
      const dir = fileURLToPath(r.baseurl.replace(/\$basearch/g, 'x86_64').replace(/\$releasever/g, this.release));
      sources.push({ dir, repo: r.id }, { dir: join(dir, 'Packages'), repo: r.id });
    }
    let n = 0;
    for (const { dir, repo } of sources) {
      if (!existsSync(dir)) continue;
      for (const f of await readdir(dir)) {
        if (!wanted.has(f)) continue;
        // written inside the image (this runs after the config's scripts, which may have planted links)
        await copyIntoRoot(join(dir, f), root, `${this.decl.packageCacheDir}/${repo}/rpms/${f.split('.').at(-2)}/${f}`);
        wanted.delete(f);
        n++;
      }
    }
    return n;
  }
}

/**
 * What the package manager may touch: the root, its own work directory (configuration, HOME,
 * logs) and the package cache read-write; local repositories and key files read-only; the network
 * only when a repository is remote. Scriptlets run in the same sandbox, so the repositories and
 * keys a config names are visible to them (read-only): a download-only pass with the network, then
 * an offline install (as the Debian backend does) would hide them and the network from scriptlets.
 */
export function rpmSandbox(root: string, work: string, cacheDir: string, repos: readonly RpmRepo[], release: string): ToolSandbox {
  const local = (url: string) => (url.startsWith('file:') ? [fileURLToPath(url.replace(/\$basearch/g, 'x86_64').replace(/\$releasever/g, release))] : []);
  const readable = [...new Set(repos.flatMap((r) => [...local(r.baseurl), ...r.gpgkeys.flatMap(local)]))].filter((p) => existsSync(p));
  return {
    installRoot: root,
    writable: [work, cacheDir],
    readable,
    network: repos.some((r) => !r.baseurl.startsWith('file:')),
  };
}

/**
 * dnf writes its logs below --installroot whatever logdir says (it sets logging up after joining
 * the root to the configured path, before command-line settings apply), so they go to a directory
 * of their own in the root that the build moves out after the install: no build path, log or
 * clock time of the install stays in the image.
 */
const DNF_LOG_IN_ROOT = '/.kiln-dnf-log';

async function moveOutOfRoot(root: string, inRoot: string, to: string): Promise<void> {
  const from = join(root, inRoot);
  if (!existsSync(from)) return;
  mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const f of await readdir(from, { withFileTypes: true })) if (f.isFile()) await copyFile(join(from, f.name), join(to, f.name));
  await removeInRoot(root, inRoot, { recursive: true });
}

function dnfConf(cacheDir: string, reposDir: string): string {
  return [
    '[main]',
    'gpgcheck=1',
    'installonly_limit=0',
    'install_weak_deps=False',
    'best=True',
    'skip_if_unavailable=False',
    'keepcache=True',
    `cachedir=${cacheDir}`,
    `reposdir=${reposDir}`,
    `logdir=${DNF_LOG_IN_ROOT}`,
    '',
  ].join('\n');
}

/** dnf's own state, kept in the build's work directory: no variable files, its history. */
function dnfHostDirs(work: string): { varsdir: string; persistdir: string } {
  return { varsdir: join(work, 'empty'), persistdir: join(work, 'persist') };
}

/**
 * Paths given on dnf's command line are the host's; the same settings in its configuration file
 * are taken inside --installroot (dnf(8)), which put the build directory's path and a history
 * database with the build's clock into the image.
 */
export function dnfArgs(req: InstallRequest, conf: string, reposDir: string, work: string, release: string, packages: string[]): string[] {
  return [
    '-y',
    `--installroot=${req.root}`,
    `--releasever=${release}`,
    `--config=${conf}`,
    `--setopt=reposdir=${reposDir}`,
    `--setopt=cachedir=${req.cacheDir}`,
    ...Object.entries(dnfHostDirs(work)).map(([k, v]) => `--setopt=${k}=${v}`),
    '--noplugins',
    ...(excludeDocs(req.sc) ? ['--setopt=tsflags=nodocs'] : []),
    'install',
    ...packages,
  ];
}

function tdnfConf(cacheDir: string, reposDir: string): string {
  return ['[main]', 'gpgcheck=1', 'installonly_limit=0', 'clean_requirements_on_remove=false', 'keepcache=1', `repodir=${reposDir}`, `cachedir=${cacheDir}`, ''].join('\n');
}

export function tdnfArgs(req: InstallRequest, conf: string, reposDir: string, release: string, packages: string[]): string[] {
  return ['install', '-y', `--installroot=${req.root}`, `--releasever=${release}`, `--config=${conf}`, `--setopt=reposdir=${reposDir}`, ...(excludeDocs(req.sc) ? ['--nodocs'] : []), ...packages];
}

async function lockCache(cacheDir: string): Promise<() => Promise<void>> {
  return await lockfile
    .lock(cacheDir, {
      lockfilePath: join(cacheDir, '.kiln-cache.lock'),
      stale: 30_000,
      retries: { retries: 3600, minTimeout: 500, maxTimeout: 1000 },
      onCompromised: () => {},
    })
    .catch((e: Error) => {
      throw new Error(`cannot lock the package cache ${cacheDir}: ${e.message}`);
    });
}


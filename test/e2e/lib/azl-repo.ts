/**
 * The offline Azure Linux 3.0 test repository (scripts/make-azl-test-repo.sh, docs/distros.md):
 * built once per machine and input hash under /var/cache/kiln/test-repo/azl3-<hash> (KILN_AZL_TEST_REPO
 * overrides the directory), shared by every test file and every later run. The script caches by
 * the hash of its inputs and locks its directory; this helper adds the per-run memo (a failed build
 * is reported once, not retried by every file) and a helper that runs dnf --installroot against it
 * the way upstream's tooling runs tdnf.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { output, run } from '../../../src/core/exec.js';
import { REPO } from './images.js';
import { e2eWorkDir } from './workdir.js';

export const AZL_REPO_SCRIPT = join(REPO, 'scripts/make-azl-test-repo.sh');
/** Where the repositories live (one directory per input hash). */
export const AZL_REPO_CACHE = '/var/cache/kiln/test-repo';
/** The repository path below the mirror URL, as on packages.microsoft.com/azurelinux. */
export const AZL_REPO_PATH = '3.0/prod/base/x86_64';
/** Repositories not used for this long are removed when another one is built. */
const SWEEP_AFTER_DAYS = 14;

export interface AzlTestRepo {
  /** file://DIR: the mirror URL (append AZL_REPO_PATH for the repository itself). */
  url: string;
  /** DIR/RPM-GPG-KEY-kiln-test: the armored public key (the private key is in DIR/.gnupg). */
  keyFile: string;
  /** DIR */
  dir: string;
  /** DIR/3.0/prod/base/x86_64: the RPMs and repodata/. */
  repoDir: string;
  /** file://DIR/3.0/prod/base/x86_64: a dnf baseurl. */
  baseUrl: string;
}

let memo: Promise<AzlTestRepo> | undefined;

/** Build (first use on this machine, minutes) or reuse (well under a second) the test repository. */
export function azlTestRepo(): Promise<AzlTestRepo> {
  memo ??= getRepo();
  return memo;
}

async function getRepo(): Promise<AzlTestRepo> {
  const dir = process.env.KILN_AZL_TEST_REPO ?? join(AZL_REPO_CACHE, `azl3-${(await output(AZL_REPO_SCRIPT, ['--hash'])).slice(0, 16)}`);
  const base = e2eWorkDir();
  const marker = join(base, 'azl-test-repo.result.json');
  const lockTarget = join(base, 'azl-test-repo.lock');
  writeFileSync(lockTarget, '', { flag: 'a' });
  const unlock = await lockfile.lock(lockTarget, { retries: { retries: 100000, minTimeout: 1000, maxTimeout: 2000 }, stale: 60_000 });
  try {
    if (existsSync(marker)) {
      const prev = JSON.parse(readFileSync(marker, 'utf8')) as { ok: boolean; error?: string };
      if (!prev.ok) throw new Error(`earlier build of the Azure Linux test repository in this run failed:\n${prev.error}`);
    }
    mkdirSync(AZL_REPO_CACHE, { recursive: true });
    const r = await run(AZL_REPO_SCRIPT, [dir], { allowFailure: true });
    const url = r.stdout.trim().split('\n').pop() ?? '';
    if (r.code !== 0 || url !== `file://${dir}`) {
      const error = `${AZL_REPO_SCRIPT} ${dir} exited ${r.code} (last stdout line "${url}")\n${r.stderrTail}`;
      writeFileSync(marker, JSON.stringify({ ok: false, error }));
      throw new Error(error);
    }
    writeFileSync(marker, JSON.stringify({ ok: true }));
    if (!process.env.KILN_AZL_TEST_REPO) markUsedAndSweep(dir);
    return {
      url,
      dir,
      keyFile: join(dir, 'RPM-GPG-KEY-kiln-test'),
      repoDir: join(dir, AZL_REPO_PATH),
      baseUrl: `${url}/${AZL_REPO_PATH}`,
    };
  } finally {
    await unlock();
  }
}

/** Touch this repository's hash file (its "last used" time); remove siblings unused for SWEEP_AFTER_DAYS. */
function markUsedAndSweep(dir: string): void {
  const now = new Date();
  utimesSync(join(dir, '.kiln-test-repo-hash'), now, now);
  for (const name of readdirSync(AZL_REPO_CACHE)) {
    const other = join(AZL_REPO_CACHE, name);
    if (other === dir || !/^azl3-[0-9a-f]{16}$/.test(name)) continue;
    try {
      const age = (now.getTime() - statSync(join(other, '.kiln-test-repo-hash')).mtimeMs) / 86_400_000;
      if (age > SWEEP_AFTER_DAYS) {
        rmSync(other, { recursive: true, force: true });
        rmSync(`${other}.lock`, { force: true });
      }
    } catch {
      // no hash file: a build in progress (DIR.tmp.*) or one that never finished; the script clears those
    }
  }
}

export interface DnfOptions {
  /** The (empty or existing) root to install into. */
  root: string;
  packages: string[];
  /** Extra rpm macros for this install, e.g. {_excludedocs: '1', _install_langs: 'NONE'}. */
  macros?: Record<string, string>;
  /** Scratch directory for dnf's config, cache and HOME (created; the caller removes it). */
  scratch: string;
  /** Check signatures (gpgcheck, repo_gpgcheck); default true. */
  gpgcheck?: boolean;
}

export interface DnfResult {
  code: number;
  stdout: string;
  /** All of dnf's stderr (rpm's warnings, the GPG key import, errors). */
  stderr: string;
}

/**
 * `dnf --installroot ROOT install PACKAGES` from the test repository, isolated from the host: a
 * private HOME whose .rpmmacros puts the database at ROOT/var/lib/rpm (Debian's rpm defaults to
 * ~/.rpmdb), its own reposdir and cachedir, --releasever 3.0, metadata_expire=0 (file:// metadata
 * is rebuilt in place), signatures checked against the test key. Never throws: returns dnf's result.
 */
export async function dnfInstall(repo: AzlTestRepo, opts: DnfOptions): Promise<DnfResult> {
  const gpg = opts.gpgcheck ?? true ? '1' : '0';
  const home = join(opts.scratch, 'home');
  const reposd = join(opts.scratch, 'repos.d');
  mkdirSync(home, { recursive: true });
  mkdirSync(reposd, { recursive: true });
  mkdirSync(opts.root, { recursive: true });
  const macros = { _dbpath: '/var/lib/rpm', ...opts.macros };
  writeFileSync(join(home, '.rpmmacros'), Object.entries(macros).map(([k, v]) => `%${k} ${v}\n`).join(''));
  const conf = join(opts.scratch, 'dnf.conf');
  writeFileSync(
    conf,
    [
      '[main]',
      `gpgcheck=${gpg}`,
      `repo_gpgcheck=${gpg}`,
      `reposdir=${reposd}`,
      `cachedir=${join(opts.scratch, 'cache')}`,
      `logdir=${opts.scratch}`,
      `persistdir=${join(opts.scratch, 'persist')}`,
      'metadata_expire=0',
      'install_weak_deps=0',
      'keepcache=0',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(reposd, 'azl-test.repo'),
    ['[azl-test]', 'name=Kiln offline Azure Linux 3.0 test repository', `baseurl=${repo.baseUrl}`, `gpgkey=file://${repo.keyFile}`, `gpgcheck=${gpg}`, `repo_gpgcheck=${gpg}`, 'enabled=1', ''].join('\n'),
  );
  const stderr: string[] = [];
  const r = await run(
    'dnf',
    ['-y', '--config', conf, '--installroot', opts.root, '--releasever', '3.0', '--setopt', `reposdir=${reposd}`, 'install', ...opts.packages],
    { allowFailure: true, env: { ...process.env, HOME: home, LC_ALL: 'C.UTF-8' }, onLine: (line, stream) => void (stream === 'stderr' && stderr.push(line)) },
  );
  return { code: r.code, stdout: r.stdout, stderr: stderr.join('\n') };
}

/** The package names in a root's rpm database (`rpm --root ROOT -qa`), sorted. */
export async function rpmQa(root: string, scratch: string): Promise<string[]> {
  const home = mkdtempSync(join(scratch, 'rpmqa-'));
  writeFileSync(join(home, '.rpmmacros'), '%_dbpath /var/lib/rpm\n');
  const out = await output('rpm', ['--root', root, '-qa', '--qf', '%{NAME}\n'], { env: { ...process.env, HOME: home } });
  return out.split('\n').filter(Boolean).sort();
}

/**
 * The tree cache on the RPM backend, end to end: upstream's core-container.json (a rootfs tree:
 * the cache keeps it as an archive) from the offline Azure Linux test repository, built twice with
 * a private tree cache and SOURCE_DATE_EPOCH set. The first build installs with dnf and stores the
 * tree under a key that covers the repository's repomd.xml; the second restores it without running
 * the package manager, and the two tarballs are the same bytes. A changed repository (a new
 * repomd.xml) is another key. A damaged entry is detected while it is restored, removed, and
 * rebuilt by a fresh dnf install (the same bytes as the first), which the next build restores.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/core/exec.js';
import { azlTestRepo, AZL_REPO_PATH, type AzlTestRepo } from './lib/azl-repo.js';
import { KILN, REPO } from './lib/images.js';
import { e2eWorkDir } from './lib/workdir.js';

const CONFIG = join(REPO, 'test/fixtures/upstream/imageconfigs/core-container.json');
let repo: AzlTestRepo;
let work: string;
let trees: string;

beforeAll(async () => {
  repo = await azlTestRepo();
  work = mkdtempSync(join(e2eWorkDir(), 'cache-rpm-'));
  trees = join(work, 'trees');
  const trust = join(work, 'trusted-keys');
  mkdirSync(join(trust, 'azurelinux'), { recursive: true });
  writeFileSync(join(trust, 'azurelinux', 'RPM-GPG-KEY-kiln-test'), readFileSync(repo.keyFile));
  process.env.KILN_TRUSTED_KEYS = trust;
}, 1_800_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

async function build(out: string, mirror: string): Promise<{ code: number; stderr: string; log: string; tarball: string; manifest: string }> {
  const r = await run(KILN, ['build', CONFIG, '--mirror', mirror, '--out', join(work, out), '--tree-cache', trees], {
    allowFailure: true,
    env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
  });
  const dir = join(work, out);
  let log = '';
  try {
    log = readFileSync(join(dir, 'logs/core-container.log'), 'utf8');
  } catch {
    // no log: the failure is in stderr
  }
  return { code: r.code, stderr: r.stderrTail, log, tarball: join(dir, 'images/core-container/core.tar.gz'), manifest: join(dir, 'images/core-container/manifest.json') };
}

describe('tree cache on the RPM backend (Azure Linux core-container, offline test repository)', () => {
  it('stores the installed tree, restores it without dnf, and gives the same tarball', async () => {
    const first = await build('o1', repo.url);
    expect(first.code, first.stderr).toBe(0);
    const key = /tree cache: miss ([0-9a-f]{32})/.exec(first.log)?.[1];
    expect(key).toBeDefined();
    expect(first.log).toMatch(/--installroot=/);
    expect(first.log).toMatch(new RegExp(`tree cache: stored ${key}`));
    const second = await build('o2', repo.url);
    expect(second.code, second.stderr).toBe(0);
    expect(/tree cache: hit ([0-9a-f]{32})/.exec(second.log)?.[1]).toBe(key);
    expect(second.log).not.toMatch(/--installroot=/);
    expect(readFileSync(second.manifest, 'utf8')).toBe(readFileSync(first.manifest, 'utf8').replace(/\/o1\//g, '/o2/'));
    expect((await run('cmp', [first.tarball, second.tarball], { allowFailure: true })).code).toBe(0);

    // the same packages from a copy of the repository whose metadata changed: another snapshot, another
    // key (found before anything is installed; the unsigned change then fails the metadata check)
    const copy = join(work, 'mirror');
    cpSync(repo.dir, copy, { recursive: true, filter: (src) => !src.includes('.gnupg') });
    const repomd = join(copy, AZL_REPO_PATH, 'repodata/repomd.xml');
    writeFileSync(repomd, `${readFileSync(repomd, 'utf8')}<!-- regenerated -->\n`);
    const r = await run(KILN, ['cache', 'list', '--json', '--tree-cache', trees]);
    expect(r.stdout).toContain(key);
    const third = await build('o3', `file://${copy}`);
    const other = /tree cache: (?:miss|hit) ([0-9a-f]{32})/.exec(third.log)?.[1];
    expect(other).toBeDefined();
    expect(other).not.toBe(key);
  });

  it('a damaged entry (one flipped byte in its archive) is detected, removed and rebuilt by dnf', async () => {
    const first = await build('o1', repo.url); // a hit: the entry of the test above
    const key = /tree cache: hit ([0-9a-f]{32})/.exec(first.log)?.[1];
    expect(key, first.log.slice(-2000)).toBeDefined();
    const archive = join(trees, 'entries', key!, 'tree.tar');
    const fh = await open(archive, 'r+');
    const at = Math.floor(statSync(archive).size / 2);
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, at);
    await fh.close();
    const rebuilt = await build('o4', repo.url);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.log).toMatch(new RegExp(`tree cache: entry ${key} is damaged`));
    expect(rebuilt.log).toMatch(/--installroot=/);
    expect(rebuilt.log).toMatch(new RegExp(`tree cache: stored ${key}`));
    // two fresh dnf installs (the entry's first, this rebuild) give the same tarball: rpm records
    // SOURCE_DATE_EPOCH as install time, dnf's logs and history stay out of the image
    expect((await run('cmp', [first.tarball, rebuilt.tarball], { allowFailure: true })).code).toBe(0);
    expect((await run(KILN, ['cache', 'verify', '--tree-cache', trees], { allowFailure: true })).code).toBe(0);
    // the next build restores the rebuilt entry
    const after = await build('o5', repo.url);
    expect(/tree cache: hit ([0-9a-f]{32})/.exec(after.log)?.[1]).toBe(key);
  });
});

/**
 * The base-tree cache and reproducible builds, end to end (CI tier), on core-efi.json variants built
 * with a private tree cache (so this file decides what is cached) and SOURCE_DATE_EPOCH set:
 *  - the first build installs and stores the tree under its key; the same config again restores
 *    it, reuses the initramfs, and the raw disk and the vhdx are byte-for-byte the same (cmp);
 *  - another --seed gives other bytes, and `kiln diff` names the identifiers that differ;
 *  - a config-only change (hostname, a user, a file) hits the same key, and the image boots with
 *    the change applied (and makes its SSH host keys on first boot);
 *  - a package change misses; `kiln build A B -j 2` with one failing config still builds the other;
 *  - nothing is left behind.
 * A damaged entry rebuilt by a fresh install is cache-full.test.ts (full tier: one more install);
 * in this tier cache-rpm.test.ts proves a damaged entry detected and rebuilt on the RPM backend.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/core/exec.js';
import { CacheBench, EPOCH, keyIn, same } from './lib/cache-builds.js';
import { KILN } from './lib/images.js';
import { leftovers, safeRead } from './lib/leftovers.js';
import { withGuest } from './lib/qemu.js';

let bench: CacheBench;
let work: string;
let trees: string;
const configs: Record<string, string> = {};
const build = (...a: Parameters<CacheBench['build']>) => bench.build(...a);
const kiln = (...a: Parameters<CacheBench['kiln']>) => bench.kiln(...a);

beforeAll(() => {
  bench = new CacheBench('cache-');
  ({ work, trees } = bench);
  writeFileSync(join(work, 'motd'), 'built from a cached tree\n');
  configs.a = bench.variant('cache-a', (sc) => (sc.Hostname = 'kiln-a'));
  configs.b = bench.variant('cache-b', (sc) => {
    sc.Hostname = 'kiln-b';
    sc.Users = [{ Name: 'tester', Password: 'kiln-test-pw' }];
    sc.AdditionalFiles = { [join(work, 'motd')]: '/etc/motd' };
  });
  configs.c = bench.variant('cache-c', (sc) => (sc.Packages = ['jq']));
  configs.broken = bench.variant('cache-broken', (sc) => (sc.Packages = ['kiln-no-such-package']));
});

afterAll(() => {
  // six 4 GiB disks and a cache: not kept for later test files
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('tree cache (core-efi variants, SOURCE_DATE_EPOCH set)', () => {
  let first: Awaited<ReturnType<typeof build>>;
  let key: string;

  it('a first build installs and stores the base tree under its key', async () => {
    first = await build(configs.a!, 'out-a1');
    expect(first.code, first.stderr).toBe(0);
    key = keyIn(first.log, 'miss')!;
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(first.log).toMatch(new RegExp(`tree cache: stored ${key}`));
    expect(first.log).toMatch(/mmdebstrap --mode=root/);
    const list = await kiln(['cache', 'list', '--tree-cache', trees]);
    expect(list.stdout).toContain(key.slice(0, 12));
    expect(list.stdout).toMatch(/tree\s+debian bookworm\s+\d+/);
  });

  it('the same config again restores the tree instead of installing, and gives the same bytes', async () => {
    const again = await build(configs.a!, 'out-a2');
    expect(again.code, again.stderr).toBe(0);
    expect(keyIn(again.log, 'hit')).toBe(key);
    expect(again.log).not.toMatch(/mmdebstrap --mode=root/);
    expect(again.log).toMatch(/initramfs: reused i-/);
    expect(await same(first.raw, again.raw)).toBe(true);
    expect(await same(first.vhdx, again.vhdx)).toBe(true);
  });

  it('another seed gives other bytes, and kiln diff says which identifiers differ', async () => {
    const seeded = await build(configs.a!, 'out-a3', ['--seed', 'another']);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(keyIn(seeded.log, 'hit')).toBe(key); // the seed names the disk, not the installed tree
    expect(await same(first.raw, seeded.raw)).toBe(false);
    const diff = await run(KILN, ['diff', first.raw, seeded.raw], { allowFailure: true });
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/label-id: /);
    expect(diff.stdout).toMatch(/partition 2 uuid: /);
    expect(diff.stdout).toMatch(/Filesystem UUID: /);
    const vdiff = await run(KILN, ['diff', first.vhdx, seeded.vhdx], { allowFailure: true });
    expect(vdiff.stdout).toMatch(/container \(vhdx\): .*differing byte range/);
    expect(vdiff.stdout).toMatch(/header 1: .*FileWriteGuid.*DataWriteGuid/);
  });

  it('a config-only change (hostname, a user, a file) reuses the cache, and the image boots with the change', async () => {
    const b = await build(configs.b!, 'out-b');
    expect(b.code, b.stderr).toBe(0);
    expect(keyIn(b.log, 'hit')).toBe(key);
    expect(b.log).toMatch(/initramfs: reused i-/);
    await withGuest({ name: 'cache-b', firmware: 'uefi', disk: b.vhdx }, async (guest) => {
      await guest.login('tester', 'kiln-test-pw', 900_000);
      expect((await guest.check('hostname')).trim()).toBe('kiln-b');
      expect(await guest.check('cat /etc/motd')).toContain('built from a cached tree');
      expect(await guest.check('id -un')).toContain('tester');
      // host keys are made on first boot, never shipped (RSA key generation is slow under TCG: sshd waits for it)
      await guest.exec('timeout 900 sh -c "until systemctl is-active -q ssh; do sleep 2; done"', 960_000);
      expect((await guest.exec('systemctl is-active ssh')).output.trim()).toBe('active');
      expect((await guest.exec('test -s /etc/ssh/ssh_host_ed25519_key.pub')).code).toBe(0);
    });
  });

  it('a package change misses; a failing config in the same -j 2 run leaves the other built', async () => {
    const out = join(work, 'out-cj');
    const r = await run(KILN, ['build', configs.c!, configs.broken!, '-j', '2', '--out', out, '--tree-cache', trees], {
      allowFailure: true,
      env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH },
    });
    expect(r.code).toBe(3);
    expect(r.stderrTail).toMatch(/cache-broken: FAILED \(exit 3\).*kiln-no-such-package/);
    expect(r.stderrTail).toMatch(/cache-c: done in \d+ s \(tree cache miss\)/);
    expect(r.stderrTail).toMatch(/1 built, 1 failed/);
    const log = readFileSync(join(out, 'logs', 'cache-c.log'), 'utf8');
    const other = keyIn(log, 'miss');
    expect(other).toBeDefined();
    expect(other).not.toBe(key);
    const manifest = JSON.parse(readFileSync(join(out, 'images', 'cache-c', 'manifest.json'), 'utf8')) as { packages: { name: string }[] };
    expect(manifest.packages.map((p) => p.name)).toContain('jq');
    expect(readFileSync(join(out, 'logs', 'cache-broken.console.log'), 'utf8')).toMatch(/packages? not found: kiln-no-such-package/);
    // root-only, like the builds' own logs
    expect(statSync(join(out, 'logs')).mode & 0o777).toBe(0o700);
    expect(statSync(join(out, 'logs', 'cache-c.console.log')).mode & 0o777).toBe(0o600);
  });

  it('leaves nothing behind: no loop device, mount, work directory, scope record or staged cache entry', async () => {
    const left = await leftovers(work);
    expect(left, JSON.stringify(left)).toEqual({ loops: [], mounts: [], workDirs: [], scopeRecords: [], processes: [], partials: [] });
    expect(readdirSync(join(trees, 'tmp'))).toEqual([]);
    // kiln diff's scratch (and the records of its loops and mounts) went with it
    const stateDir = process.env.KILN_STATE_DIR ?? '/run/kiln';
    const records = existsSync(stateDir) ? readdirSync(stateDir).filter((f) => safeRead(join(stateDir, f)).includes('.work-diff-') || safeRead(join(stateDir, f)).includes(`${trees}/`)) : [];
    expect(records).toEqual([]);
  });
});

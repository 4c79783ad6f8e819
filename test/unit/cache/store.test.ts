/**
 * The cache's storage: payload hashes that depend on content alone, damaged payloads detected,
 * entries published whole or not at all, least recently used first out, entries in use kept.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyRange, imageDigest, PayloadMismatch, restoreImage, sparseFile, tarDirectory, untarInto } from '../../../src/cache/payload.js';
import type { EntryMeta } from '../../../src/cache/store.js';
import { lockFile } from '../../../src/core/lock.js';

const base = mkdtempSync(join(tmpdir(), 'kiln-store-'));
// staged entries are recorded for `kiln clean`: this file's records go to a state directory of its own
const state = join(base, 'state');
process.env.KILN_STATE_DIR = state;
const { ENTRY_FORMAT, parseSize, TreeStore } = await import('../../../src/cache/store.js');
const { cleanLeftovers, cacheTemp } = await import('../../../src/imager/clean.js');
afterAll(() => rmSync(base, { recursive: true, force: true }));
const MIB = 1024 * 1024;

async function writeAt(file: string, at: number, data: Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  await fh.write(data, 0, data.length, at);
  await fh.close();
}

function meta(key: string, label = 'cfg'): EntryMeta {
  return { format: ENTRY_FORMAT, key, created: new Date().toISOString(), label, distro: 'debian bookworm', packages: 1, inputs: {}, payloads: [] };
}

describe('payloads', () => {
  it('an image digest is a function of the content, not of holes or zero blocks written out', async () => {
    const a = join(base, 'a.img');
    const b = join(base, 'b.img');
    await sparseFile(a, 8 * MIB);
    await sparseFile(b, 8 * MIB);
    await writeAt(a, 3 * MIB, Buffer.from('hello'));
    await writeAt(b, 3 * MIB, Buffer.from('hello'));
    await writeAt(b, 5 * MIB, Buffer.alloc(MIB)); // zeros written as data
    expect((await imageDigest(a, 0, 8 * MIB)).sha256).toBe((await imageDigest(b, 0, 8 * MIB)).sha256);
    await writeAt(b, 6 * MIB, Buffer.from('x'));
    expect((await imageDigest(a, 0, 8 * MIB)).sha256).not.toBe((await imageDigest(b, 0, 8 * MIB)).sha256);
  });

  it('copies a range in and out at offsets (holes stay holes), and a damaged payload is refused', async () => {
    const disk = join(base, 'disk.raw');
    const part = join(base, 'part.img');
    await sparseFile(disk, 16 * MIB);
    await writeAt(disk, 4 * MIB + 100, Buffer.from('partition data'));
    await sparseFile(part, 8 * MIB);
    await copyRange(disk, 4 * MIB, 8 * MIB, part, 0);
    const digest = await imageDigest(part, 0, 8 * MIB);
    expect(digest.sha256).toBe((await imageDigest(disk, 4 * MIB, 8 * MIB)).sha256);
    const fresh = join(base, 'fresh.raw');
    await sparseFile(fresh, 16 * MIB);
    await restoreImage(part, 8 * MIB, fresh, 4 * MIB, digest.sha256);
    expect((await imageDigest(fresh, 0, 16 * MIB)).sha256).toBe((await imageDigest(disk, 0, 16 * MIB)).sha256);
    await writeAt(part, 100, Buffer.from('P')); // one flipped byte
    await expect(restoreImage(part, 8 * MIB, join(base, 'fresh.raw'), 4 * MIB, digest.sha256)).rejects.toThrow(PayloadMismatch);
  });

  it('archives keep modes, hard links and symlinks; a damaged archive is refused', async () => {
    const src = join(base, 'tree');
    mkdirSync(join(src, 'etc'), { recursive: true });
    writeFileSync(join(src, 'etc/a'), 'a', { mode: 0o640 });
    const { linkSync, symlinkSync, statSync, readlinkSync } = await import('node:fs');
    linkSync(join(src, 'etc/a'), join(src, 'etc/b'));
    symlinkSync('a', join(src, 'etc/c'));
    const tar = join(base, 'tree.tar');
    const sha = await tarDirectory(src, tar);
    const dst = join(base, 'tree2');
    mkdirSync(dst);
    await untarInto(tar, dst, sha);
    expect(statSync(join(dst, 'etc/a')).mode & 0o777).toBe(0o640);
    expect(statSync(join(dst, 'etc/a')).ino).toBe(statSync(join(dst, 'etc/b')).ino);
    expect(readlinkSync(join(dst, 'etc/c'))).toBe('a');
    await writeAt(tar, 600, Buffer.from('Z'));
    await expect(untarInto(tar, dst, sha)).rejects.toThrow(PayloadMismatch);
  });
});

describe('store', () => {
  it('publishes whole entries, lists them least recently used first, recognises damaged ones', async () => {
    const store = new TreeStore(join(base, 'cache1'));
    for (const key of ['k1', 'k2', 'k3']) {
      const staged = await store.staging(key);
      writeFileSync(join(staged.path, 'payload'), Buffer.alloc(64 * 1024, 1));
      expect(await store.publish(staged.path, meta(key))).toBe(true);
      await staged.done();
    }
    // a second writer of the same key loses quietly
    const again = await store.staging('k1');
    expect(await store.publish(again.path, meta('k1'))).toBe(false);
    await again.done();
    expect(existsSync(again.path)).toBe(false);
    utimesSync(join(store.entryDir('k2'), 'last-used'), new Date(1000), new Date(1000));
    expect(store.list()[0]!.key).toBe('k2');
    writeFileSync(join(store.entryDir('k3'), 'entry.json'), '{"format":1,');
    expect(store.read('k3').broken).toMatch(/unreadable/);
    const m = JSON.parse(readFileSync(join(store.entryDir('k1'), 'entry.json'), 'utf8')) as EntryMeta;
    writeFileSync(join(store.entryDir('k1'), 'entry.json'), JSON.stringify({ ...m, key: 'other' }));
    expect(store.read('k1').broken).toMatch(/names key other/);
  });

  it('prunes least recently used entries past the bound, never one in use', async () => {
    const store = new TreeStore(join(base, 'cache2'));
    for (const [i, key] of ['old', 'busy', 'new'].entries()) {
      const staged = await store.staging(key);
      writeFileSync(join(staged.path, 'payload'), Buffer.alloc(256 * 1024, 1));
      await store.publish(staged.path, meta(key));
      await staged.done();
      utimesSync(join(store.entryDir(key), 'last-used'), new Date(1000 * (i + 1)), new Date(1000 * (i + 1)));
    }
    const held = (await store.lock('busy', true, true))!;
    try {
      const { removed } = await store.prune(600 * 1024);
      expect(removed.map((e) => e.key)).toEqual(['old']); // two fit the bound
      const again = await store.prune(0); // busy is in use: skipped
      expect(again.removed.map((e) => e.key)).toEqual(['new']);
      expect(existsSync(store.entryDir('busy'))).toBe(true);
    } finally {
      await held.release();
    }
    expect((await store.prune(0)).removed.map((e) => e.key)).toEqual(['busy']);
  });

  it('locks: shared with shared, exclusive alone; released when the holder ends', async () => {
    const f = join(base, 'locks/x.lock');
    const s1 = await lockFile(f, { shared: true });
    const s2 = await lockFile(f, { shared: true, wait: false });
    expect(s2).toBeDefined();
    expect(await lockFile(f, { wait: false })).toBeUndefined();
    await s1!.release();
    await s2!.release();
    const x = await lockFile(f, { wait: false });
    expect(x).toBeDefined();
    await x!.release();
  });

  it('sizes', () => {
    expect(parseSize('16G')).toBe(16 * 1024 ** 3);
    expect(parseSize('500M')).toBe(500 * MIB);
    expect(parseSize('0')).toBe(0);
    expect(() => parseSize('lots')).toThrow(/not a size/);
  });
});

describe('entries being written and kiln clean', () => {
  const KEY = '0123456789abcdef0123456789abcdef';

  it('a staged entry is recorded while it exists; done() removes it and its record', async () => {
    const store = new TreeStore(join(base, 'cache3'));
    const staged = await store.staging(KEY);
    writeFileSync(join(staged.path, 'payload'), 'x');
    const records = () => readdirSync(state).filter((f) => readFileSync(join(state, f), 'utf8').includes(staged.path));
    expect(records()).toHaveLength(1);
    expect(cacheTemp(staged.path)).toBe(true);
    await staged.done();
    expect(existsSync(staged.path)).toBe(false);
    expect(records()).toHaveLength(0);
  });

  it('what a killed build was writing is released by kiln clean; a look-alike outside a tree cache is refused', async () => {
    const store = new TreeStore(join(base, 'cache4'));
    store.ensure();
    const dead = join(store.root, 'tmp', `${KEY}.3999993.AbC123`);
    const removing = join(store.root, 'tmp', `${KEY}.removed.3999993.1700000000000`);
    const initramfs = join(store.root, 'tmp', 'initramfs-i-0123456789abcdef-0123456789abcdef.3999993.XyZ789');
    const outside = join(base, 'elsewhere', 'tmp', `${KEY}.3999993.AbC123`);
    for (const d of [dead, removing, initramfs, outside]) mkdirSync(d, { recursive: true });
    // written as a killed build leaves it: a record whose pid runs nothing
    mkdirSync(state, { recursive: true, mode: 0o700 });
    const file = join(state, 'scope-3999993-1.json');
    writeFileSync(file, JSON.stringify({ pid: 3_999_993, name: 'tree cache', records: [dead, removing, initramfs, outside].map((path) => ({ kind: 'path', path })) }), { mode: 0o600 });
    const report = await cleanLeftovers(base, { scan: false });
    expect(report.released.sort()).toEqual([dead, initramfs, removing].map((p) => `path ${p}`).sort());
    expect(report.refused).toEqual([`path ${outside} is neither a Kiln work directory nor one of its temporary files`]);
    for (const d of [dead, removing, initramfs]) expect(existsSync(d)).toBe(false);
    expect(existsSync(outside)).toBe(true);
    expect(cacheTemp(join(store.root, 'tmp', 'k1.3999993.AbC123'))).toBe(false);
    expect(cacheTemp(join(store.root, 'entries'))).toBe(false);
  });
});

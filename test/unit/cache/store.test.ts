/**
 * The cache's storage: payload hashes that depend on content alone, damaged payloads detected,
 * entries published whole or not at all, least recently used first out, entries in use kept.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyRange, imageDigest, PayloadMismatch, restoreImage, sparseFile, tarDirectory, untarInto } from '../../../src/cache/payload.js';
import { ENTRY_FORMAT, parseSize, TreeStore, type EntryMeta } from '../../../src/cache/store.js';
import { lockFile } from '../../../src/cache/lock.js';

const base = mkdtempSync(join(tmpdir(), 'kiln-store-'));
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
      writeFileSync(join(staged, 'payload'), Buffer.alloc(64 * 1024, 1));
      expect(await store.publish(staged, meta(key))).toBe(true);
    }
    // a second writer of the same key loses quietly
    const again = await store.staging('k1');
    expect(await store.publish(again, meta('k1'))).toBe(false);
    expect(existsSync(again)).toBe(false);
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
      writeFileSync(join(staged, 'payload'), Buffer.alloc(256 * 1024, 1));
      await store.publish(staged, meta(key));
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

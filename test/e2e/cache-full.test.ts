/**
 * Full tier: a damaged tree cache entry of a disk build (one flipped byte in the root filesystem's
 * image) is detected while it is restored, removed, and rebuilt by a fresh install, whose image is
 * byte-for-byte the one the first build made from the same snapshot (two fresh installs, the same
 * bytes). Two full installs: the CI tier proves damage detection on the RPM backend
 * (cache-rpm.test.ts) and the payload checks in test/unit/cache/store.test.ts.
 */
import { readdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheBench, keyIn, same } from './lib/cache-builds.js';

let bench: CacheBench;
let config: string;

beforeAll(() => {
  bench = new CacheBench('cache-full-');
  config = bench.variant('cache-d', (sc) => (sc.Hostname = 'kiln-d'));
});

afterAll(() => {
  if (bench) rmSync(bench.work, { recursive: true, force: true });
});

describe('tree cache: a damaged entry (core-efi, SOURCE_DATE_EPOCH set)', () => {
  it('is detected, removed and rebuilt by a fresh install that gives the same bytes', async () => {
    const first = await bench.build(config, 'out-d1');
    expect(first.code, first.stderr).toBe(0);
    const key = keyIn(first.log, 'miss')!;
    expect(first.log).toMatch(new RegExp(`tree cache: stored ${key}`));
    const entry = join(bench.trees, 'entries', key);
    const image = readdirSync(entry).find((f) => f.startsWith('fs-'))!;
    // one flipped byte in the middle of the root filesystem's data
    const fh = await open(join(entry, image), 'r+');
    const at = 200 * 1024 * 1024;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, at);
    await fh.close();
    const rebuilt = await bench.build(config, 'out-d2');
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.log).toMatch(new RegExp(`tree cache: entry ${key} is damaged \\(content hash`));
    expect(rebuilt.log).toMatch(/mmdebstrap --mode=root/);
    expect(rebuilt.log).toMatch(new RegExp(`tree cache: stored ${key}`));
    // a fresh install from the same snapshot: the same bytes as the first build
    expect(await same(first.raw, rebuilt.raw)).toBe(true);
    const verify = await bench.kiln(['cache', 'verify', '--tree-cache', bench.trees]);
    expect(verify.code).toBe(0);
  });
});

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syncIn, syncOut } from '../../../src/distro/debian/cache.js';

const base = mkdtempSync(join(tmpdir(), 'kiln-cache-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('shared package cache', () => {
  it('gives each build hard links to the cached packages and takes back only what it downloaded', async () => {
    const cache = join(base, 'cache');
    mkdirSync(cache);
    writeFileSync(join(cache, 'a_1_amd64.deb'), 'a');
    writeFileSync(join(cache, 'b_1_all.deb'), 'b');
    const one = join(base, 'build1/apt-archives');
    const two = join(base, 'build2/apt-archives');
    expect(await syncIn(cache, one)).toBe(2);
    expect(await syncIn(cache, two)).toBe(2);
    expect(statSync(join(one, 'a_1_amd64.deb')).ino).toBe(statSync(join(cache, 'a_1_amd64.deb')).ino);
    expect(existsSync(join(one, 'partial'))).toBe(true);
    // both builds download c concurrently; one copy ends up cached, nothing partial
    writeFileSync(join(one, 'c_2_amd64.deb'), 'c');
    writeFileSync(join(two, 'c_2_amd64.deb'), 'c');
    writeFileSync(join(two, 'partial/d_1_amd64.deb'), 'half');
    const added = await Promise.all([syncOut(cache, one), syncOut(cache, two)]);
    expect(added.sort()).toEqual([0, 1]);
    expect(readdirSync(cache).filter((f) => f.endsWith('.deb')).sort()).toEqual(['a_1_amd64.deb', 'b_1_all.deb', 'c_2_amd64.deb']);
    expect(readdirSync(cache).some((f) => f.includes('partial'))).toBe(false);
  });

  it('replaces a damaged cached package with the one apt fetched again', async () => {
    const cache = join(base, 'cache2');
    mkdirSync(cache);
    writeFileSync(join(cache, 'e_1_amd64.deb'), 'trunc');
    writeFileSync(join(cache, 'f_1_amd64.deb'), 'fine');
    const build = join(base, 'build3/apt-archives');
    await syncIn(cache, build);
    // apt found e's hash wrong and renamed a fresh download over the hard link; f was used as is
    writeFileSync(join(build, 'partial/e_1_amd64.deb'), 'the whole package');
    renameSync(join(build, 'partial/e_1_amd64.deb'), join(build, 'e_1_amd64.deb'));
    expect(await syncOut(cache, build)).toBe(0);
    expect(readFileSync(join(cache, 'e_1_amd64.deb'), 'utf8')).toBe('the whole package');
    expect(readFileSync(join(cache, 'f_1_amd64.deb'), 'utf8')).toBe('fine');
    expect(readdirSync(cache).some((f) => f.includes('partial'))).toBe(false);
  });
});

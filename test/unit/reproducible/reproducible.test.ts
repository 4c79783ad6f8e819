/**
 * Reproducible builds, piece by piece: derived identifiers, the config digest, SOURCE_DATE_EPOCH
 * handling, an ext filesystem made again from a tree gives the same bytes whatever the source's
 * clock said, and qemu-img's random container identifiers are replaced.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { derivedIds, randomIds } from '../../../src/disk/ids.js';
import { fixInodeTimes, usedInodes } from '../../../src/reproducible/filesystems.js';
import { configDigest, DEFAULT_SOURCE_DATE_EPOCH, reproducibleSettings } from '../../../src/reproducible/index.js';
import { mkfsArgs } from '../../../src/disk/mkfs.js';
import { crc32c, stabilizeVhdx, stabilizeVmdk } from '../../../src/roast/stable-ids.js';

const REPO = resolve(import.meta.dirname, '../../..');
const base = mkdtempSync(join(tmpdir(), 'kiln-repro-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const sh = (script: string, ...args: string[]) => execFileSync('sh', ['-c', script, 'sh', ...args], { env: { ...process.env, LC_ALL: 'C' } });

describe('identifiers and settings', () => {
  it('derived ids are stable per seed and label, differ across seeds, and look like v4 UUIDs', () => {
    const a = derivedIds('', 'digest');
    expect(a.uuid('fs:rootfs')).toBe(derivedIds('', 'digest').uuid('fs:rootfs'));
    expect(a.uuid('fs:rootfs')).not.toBe(a.uuid('fs:boot'));
    expect(a.uuid('fs:rootfs')).not.toBe(derivedIds('other', 'digest').uuid('fs:rootfs'));
    expect(a.uuid('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.bytes('x', 40)).toHaveLength(40);
    expect(randomIds.uuid('x')).not.toBe(randomIds.uuid('x'));
  });

  it('SOURCE_DATE_EPOCH, --reproducible and --seed turn it on; the default epoch is fixed', () => {
    expect(reproducibleSettings({}, {})).toBeUndefined();
    expect(reproducibleSettings({}, { SOURCE_DATE_EPOCH: '1700000000' })).toEqual({ sourceDateEpoch: 1700000000, seed: '' });
    expect(reproducibleSettings({ reproducible: true }, {})).toEqual({ sourceDateEpoch: DEFAULT_SOURCE_DATE_EPOCH, seed: '' });
    expect(reproducibleSettings({ seed: 's' }, {})?.seed).toBe('s');
    expect(() => reproducibleSettings({}, { SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(/not a number/);
  });

  it('the config digest ignores where the checkout is, not what the config says', async () => {
    const a = await loadConfig(join(REPO, 'imageconfigs/core-efi.json'));
    const moved = { ...a, baseDir: '/elsewhere', config: JSON.parse(JSON.stringify(a.config).replaceAll(a.baseDir, '/elsewhere')) as typeof a.config };
    expect(configDigest(moved, 'Standard')).toBe(configDigest(a, 'Standard'));
    const changed = { ...a, config: { ...a.config, SystemConfigs: [{ ...a.config.SystemConfigs[0]!, Hostname: 'x' }] } };
    expect(configDigest(changed, 'Standard')).not.toBe(configDigest(a, 'Standard'));
  });
});

describe('filesystems', () => {
  it('parses the inodes in use from dumpe2fs', () => {
    const text = 'Inode count:              24\nInodes per group:         8\nFree inodes:              10\nGroup 0:\n  Free inodes: 4-8\nGroup 1:\n  Free inodes: 9, 11-16\nGroup 2:\n  Free inodes: \n';
    expect(usedInodes(text)).toEqual([1, 2, 3, 10, 17, 18, 19, 20, 21, 22, 23, 24]);
  });

  it('mke2fs -d with fixed ids and time, then inode times fixed: same bytes from trees made at different times', async () => {
    const images: string[] = [];
    for (const i of [0, 1]) {
      const mtime = 1_000_000_000;
      const tree = join(base, `tree${i}`);
      mkdirSync(join(tree, 'etc'), { recursive: true });
      writeFileSync(join(tree, 'etc/hostname'), 'x\n');
      writeFileSync(join(tree, 'etc/a'), 'a\n');
      // different access and change times in each source tree; same modification times
      utimesSync(join(tree, 'etc/a'), new Date((mtime + i) * 1000), new Date(900_000_000 * 1000));
      utimesSync(join(tree, 'etc/hostname'), new Date(mtime * 1000), new Date(900_000_000 * 1000));
      for (const d of ['etc', '.']) utimesSync(join(tree, d), new Date((mtime + i) * 1000), new Date(mtime * 1000));
      const img = join(base, `fs${i}.img`);
      sh('truncate -s 32M "$1"', img);
      const ids = derivedIds('', 'digest');
      const [cmd, args] = mkfsArgs('ext4', ids.uuid('fs:r'), { hashSeed: ids.uuid('hash-seed:r') });
      execFileSync(cmd, [...args, '-d', tree, img], { env: { ...process.env, E2FSPROGS_FAKE_TIME: '1700000000', LC_ALL: 'C' } });
      await fixInodeTimes(img, 1700000000);
      images.push(img);
      await new Promise((r) => setTimeout(r, 1100)); // the second tree's ctimes are a second later
    }
    expect(readFileSync(images[0]!).equals(readFileSync(images[1]!))).toBe(true);
  });
});

describe('containers', () => {
  it('crc32c', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('two qemu-img conversions of the same raw become identical vhdx and vmdk files, still valid', async () => {
    const raw = join(base, 'small.raw');
    sh('truncate -s 64M "$1" && printf hello | dd of="$1" bs=1 seek=1048576 conv=notrunc 2>/dev/null', raw);
    const ids = derivedIds('', 'containers');
    for (const fmt of ['vhdx', 'vmdk']) {
      const outs = [join(base, `a.${fmt}`), join(base, `b.${fmt}`)];
      for (const o of outs) {
        execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', fmt, ...(fmt === 'vmdk' ? ['-o', 'subformat=streamOptimized'] : []), raw, o]);
        await (fmt === 'vhdx' ? stabilizeVhdx(o, ids) : stabilizeVmdk(o, ids));
      }
      // the VMDK descriptor names its own file: give both the same name
      if (fmt === 'vmdk') continue;
      expect(readFileSync(outs[0]!).equals(readFileSync(outs[1]!))).toBe(true);
      expect(execFileSync('qemu-img', ['compare', raw, outs[0]!]).toString()).toMatch(/identical/);
      expect(execFileSync('qemu-img', ['check', outs[0]!]).toString()).toMatch(/No errors/);
    }
    const cid = (f: string) => /\nCID=([0-9a-f]{8})\n/.exec(readFileSync(f).toString('latin1', 0, 4096))![1];
    expect(cid(join(base, 'a.vmdk'))).toBe(cid(join(base, 'b.vmdk')));
  });

  it('a VMDK whose CID qemu-img wrote with 7 digits (%x of a value below 0x10000000) gets the same 8-digit CID', async () => {
    const raw = join(base, 'small7.raw');
    sh('truncate -s 16M "$1"', raw);
    const ids = derivedIds('', 'containers');
    const [seven, eight] = [join(base, 'seven.vmdk'), join(base, 'eight.vmdk')];
    for (const o of [seven, eight]) execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, o]);
    // what qemu-img writes one time in sixteen: the descriptor one byte shorter
    const buf = readFileSync(seven);
    const text = buf.toString('latin1', 0, 4096);
    const at = text.indexOf('\nCID=') + 5;
    const end = buf.indexOf(0, at);
    Buffer.from(text.slice(at + 1, end) + '\0', 'latin1').copy(buf, at);
    Buffer.from('1234567', 'latin1').copy(buf, at);
    writeFileSync(seven, buf);
    expect(buf.toString('latin1', 0, 4096)).toMatch(/\nCID=1234567\n/);
    for (const o of [seven, eight]) await stabilizeVmdk(o, ids);
    const cid = (f: string) => /\nCID=([0-9a-f]{8})\n/.exec(readFileSync(f).toString('latin1', 0, 4096))?.[1];
    expect(cid(seven)).toBeDefined();
    expect(cid(seven)).toBe(cid(eight));
    // byte for byte, but for the file name the descriptor names (same length on purpose)
    expect(readFileSync(seven).toString('latin1').replace('seven.vmdk', 'eight.vmdk') === readFileSync(eight).toString('latin1')).toBe(true);
    expect(execFileSync('qemu-img', ['check', seven]).toString()).toMatch(/No errors/);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseFat, formatFat, sectorsPerCluster, copyIntoFat } from '../../../src/disk/fat.js';
import { fatId } from '../../../src/disk/mkfs.js';
import { output, run } from '../../../src/core/exec.js';
import { mkdirSync, writeFileSync, truncateSync, closeSync, openSync } from 'node:fs';

const MIB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'kiln-fat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

describe('FAT: what a requested FAT type becomes', () => {
  it('keeps FAT32 from 33 MiB, makes a smaller "fat32" FAT16 (FAT12 when tiny) with a warning', () => {
    expect(chooseFat('fat32', 33 * MIB, 'esp')).toEqual({ bits: 32 });
    const small = chooseFat('fat32', 8 * MIB, 'esp');
    expect(small.bits).toBe(16);
    expect(small.warning).toMatch(/partition "esp": 8 MiB is too small for FAT32; formatted as FAT16/);
    expect(chooseFat('fat32', 2 * MIB, 'esp').bits).toBe(12);
    expect(chooseFat('fat16', 8 * MIB, 'x')).toEqual({ bits: 16 });
    expect(chooseFat('vfat', 8 * MIB, 'x')).toEqual({ bits: 16 });
    expect(chooseFat('vfat', 512 * MIB, 'x')).toEqual({ bits: 32 });
  });

  it('picks cluster sizes that keep the cluster count valid', () => {
    expect(sectorsPerCluster(16, 8 * MIB)).toBe(1);
    expect(sectorsPerCluster(16, 32 * MIB)).toBe(2);
    expect(sectorsPerCluster(32, 40 * MIB)).toBe(1);
    expect(sectorsPerCluster(32, 1024 * MIB)).toBeUndefined();
  });

  it('volume ids are 8 hex digits shown as XXXX-XXXX', () => {
    const id = fatId({ derived: true, uuid: () => '', bytes: (_l, n) => Buffer.alloc(n, 0x88) }, 'boot');
    expect(id).toEqual({ volumeId: '88888888', uuid: '8888-8888' });
  });

  // real mkfs.vfat + mtools (small files, fast)
  for (const [fs, mib, expected] of [['fat32', 8, 'FAT16'], ['fat32', 40, 'FAT32'], ['fat16', 2, 'FAT12'], ['vfat', 16, 'FAT16']] as const) {
    it(`a ${mib} MiB "${fs}" is formatted as ${expected} that mtools reads and writes`, async () => {
      const img = join(dir, `${fs}-${mib}.img`);
      closeSync(openSync(img, 'w'));
      truncateSync(img, mib * MIB);
      const choice = chooseFat(fs, mib * MIB, 'p');
      await formatFat(img, choice, mib * MIB, 'ABCD1234');
      const info = await output('minfo', ['-i', img, '::'], { env });
      expect(info).toContain(`disk type="${expected}`);
      const src = join(dir, `tree-${fs}-${mib}`);
      mkdirSync(join(src, 'EFI/BOOT'), { recursive: true });
      writeFileSync(join(src, 'EFI/BOOT/hello.txt'), 'hello\n');
      await copyIntoFat(img, src);
      expect((await run('mtype', ['-i', img, '::/EFI/BOOT/hello.txt'], { env })).stdout).toBe('hello\n');
    });
  }
});

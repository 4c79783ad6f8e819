import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshFsUuid, isRenewable, parseBlkidExport, rewriteBinaryIdentifiers, setUuidCommand } from '../../../src/installer/filesystems.js';
import { candidateBinaries, fsUuidRenewal } from '../../../src/installer/install.js';
import type { InstallSystem } from '../../../src/installer/manifest.js';
import { rewriteIdentifiers } from '../../../src/installer/identifiers.js';

const fixed = { uuid: () => '0F1E2D3C-4B5A-4978-8685-746352413021', hex8: () => 'a1b2c3d4' };

describe('file-system identifiers', () => {
  it('reads blkid -o export', () => {
    expect(parseBlkidExport('DEVNAME=/dev/vda2\nUUID=5e0c3f0a-1111-4222-8333-944455556666\nBLOCK_SIZE=4096\nTYPE=ext4\n')).toEqual({
      DEVNAME: '/dev/vda2',
      UUID: '5e0c3f0a-1111-4222-8333-944455556666',
      BLOCK_SIZE: '4096',
      TYPE: 'ext4',
    });
    expect(parseBlkidExport('')).toEqual({});
  });

  it('makes a new UUID in the shape blkid shows for each type', () => {
    expect(freshFsUuid('ext4', fixed)).toBe('0f1e2d3c-4b5a-4978-8685-746352413021');
    expect(freshFsUuid('xfs', fixed)).toBe('0f1e2d3c-4b5a-4978-8685-746352413021');
    expect(freshFsUuid('vfat', fixed)).toBe('A1B2-C3D4');
    // the real random source: two calls differ
    expect(freshFsUuid('ext4')).not.toBe(freshFsUuid('ext4'));
    expect(freshFsUuid('vfat')).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
  });

  it('renews the types it has a tool for, and only those', () => {
    for (const t of ['ext2', 'ext3', 'ext4', 'xfs', 'vfat', 'swap']) expect(isRenewable(t)).toBe(true);
    for (const t of ['crypto_LUKS', 'btrfs', 'iso9660', '']) expect(isRenewable(t)).toBe(false);
    expect(setUuidCommand('ext4', '/dev/vda2', 'u')).toEqual({ cmd: 'tune2fs', args: ['-U', 'u', '/dev/vda2'] });
    expect(setUuidCommand('xfs', '/dev/vda2', 'u')).toEqual({ cmd: 'xfs_admin', args: ['-U', 'u', '/dev/vda2'] });
    expect(setUuidCommand('vfat', '/dev/vda1', 'A1B2-C3D4')).toEqual({ cmd: 'fatlabel', args: ['-i', '/dev/vda1', 'A1B2C3D4'] });
    expect(setUuidCommand('swap', '/dev/vda3', 'u')).toEqual({ cmd: 'swaplabel', args: ['-U', 'u', '/dev/vda3'] });
  });

  it('keeps a FAT serial upper case even where the old one had no letter', () => {
    const map = new Map([['1234-5678', 'A1B2-C3D4']]);
    expect(rewriteIdentifiers('UUID=1234-5678 /boot/efi vfat umask=0077 0 2\n', map).text).toBe('UUID=A1B2-C3D4 /boot/efi vfat umask=0077 0 2\n');
  });

  it('patches identifiers inside a binary byte for byte, keeping its length and the other bytes', () => {
    const oldId = '5e0c3f0a-1111-4222-8333-944455556666';
    const newId = '0f1e2d3c-4b5a-4978-8685-746352413021';
    const before = Buffer.concat([Buffer.from([0, 0xff, 0x80, 0x7f]), Buffer.from(`search --fs-uuid --set=root ${oldId}\n`), Buffer.from([0xc3, 0x28, 0])]);
    const r = rewriteBinaryIdentifiers(before, new Map([[oldId, newId], ['A1B2-C3D4', 'longer-than-before']]));
    expect(r?.replaced).toBe(1);
    expect(r!.data.length).toBe(before.length);
    expect(r!.data.subarray(0, 4)).toEqual(before.subarray(0, 4));
    expect(r!.data.subarray(-3)).toEqual(before.subarray(-3));
    expect(r!.data.toString('latin1')).toContain(`--set=root ${newId}\n`);
    expect(rewriteBinaryIdentifiers(before, new Map([['aaaaaaaa-1111-4222-8333-944455556666', newId]]))).toBeUndefined();
  });
});

describe('which file systems an install renews', () => {
  const system = (over: Partial<InstallSystem>): InstallSystem => ({
    name: 's',
    image: 'kiln/images/1-s.qcow2',
    imageBytes: 1,
    dataBytes: 1,
    tableType: 'gpt',
    growLastPartition: true,
    mounts: [
      { partition: 2, mountPoint: '/', fsType: 'ext4' },
      { partition: 1, mountPoint: '/boot/efi', fsType: 'vfat' },
    ],
    ...over,
  });

  it('a plain system: every partition, in order', () => {
    expect(fsUuidRenewal(system({}), [3, 1, 2])).toEqual({ partitions: [1, 2, 3] });
  });

  it('beside a sealed root none: its fstab names the others by file-system UUID and cannot be rewritten', () => {
    for (const seal of ['luks', 'verity'] as const) {
      const sys = system({ sealedRoot: seal, mounts: [{ partition: 3, mountPoint: '/', fsType: 'ext4', sealed: seal }, { partition: 1, mountPoint: '/boot/efi', fsType: 'vfat' }] });
      const r = fsUuidRenewal(sys, [1, 2, 3]);
      expect(r.partitions).toEqual([]);
      expect(r.why).toContain(`sealed (${seal})`);
    }
  });

  it('a sealed partition that is not the root is skipped, the others renewed', () => {
    const sys = system({ mounts: [{ partition: 2, mountPoint: '/', fsType: 'ext4' }, { partition: 3, mountPoint: '/srv', fsType: 'ext4', sealed: 'luks' }] });
    expect(fsUuidRenewal(sys, [1, 2, 3])).toEqual({ partitions: [1, 2], why: 'sealed partition(s) 3 keep their identifiers' });
  });
});

describe('file-system UUIDs set by the real tools', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-fsuuid-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const blkid = (f: string) => parseBlkidExport(execFileSync('blkid', ['-p', '-o', 'export', f], { encoding: 'utf8' }));

  for (const [type, mkfs] of [
    ['ext4', ['mkfs.ext4', '-q', '-F']],
    ['xfs', ['mkfs.xfs', '-q', '-f']],
    ['vfat', ['mkfs.vfat']],
    ['swap', ['mkswap']],
  ] as const) {
    it(`${type}: the command gives the file system the new UUID`, () => {
      const f = join(dir, `${type}.img`);
      execFileSync('truncate', ['-s', '320M', f]);
      execFileSync(mkfs[0], [...mkfs.slice(1), f], { stdio: 'ignore' });
      const before = blkid(f);
      expect(before.TYPE).toBe(type);
      if (type === 'ext4') execFileSync('e2fsck', ['-f', '-p', f], { stdio: 'ignore' });
      const fresh = freshFsUuid(type);
      const { cmd, args } = setUuidCommand(type, f, fresh);
      execFileSync(cmd, args, { stdio: 'ignore' });
      const after = blkid(f);
      expect(after.UUID?.toLowerCase()).toBe(fresh.toLowerCase());
      expect(after.UUID).not.toBe(before.UUID);
      if (type === 'vfat') expect(after.UUID).toBe(fresh); // upper case, as fstab must name it
      rmSync(f);
    });
  }
});

describe('EFI binaries under /boot', () => {
  it('finds .efi files at any case, not other files', () => {
    const root = mkdtempSync(join(tmpdir(), 'kiln-efi-'));
    try {
      execFileSync('mkdir', ['-p', join(root, 'boot/efi/EFI/BOOT'), join(root, 'boot/grub')]);
      writeFileSync(join(root, 'boot/efi/EFI/BOOT/BOOTX64.EFI'), 'x');
      writeFileSync(join(root, 'boot/efi/EFI/BOOT/grubx64.efi'), 'x');
      writeFileSync(join(root, 'boot/grub/grub.cfg'), 'x');
      expect(candidateBinaries(root).map((f) => f.slice(root.length)).sort()).toEqual(['/boot/efi/EFI/BOOT/BOOTX64.EFI', '/boot/efi/EFI/BOOT/grubx64.efi']);
      expect(readFileSync(join(root, 'boot/grub/grub.cfg'), 'utf8')).toBe('x');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

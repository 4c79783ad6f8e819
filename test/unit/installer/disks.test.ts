import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDiskFits, formatBytes, installTargets, listDisks, type DiskInfo } from '../../../src/installer/disks.js';
import { partitionDevice } from '../../../src/installer/install.js';
import { unattendedAnswers, InstallError } from '../../../src/installer/session.js';
import type { InstallManifest } from '../../../src/installer/manifest.js';

const GiB = 1024 ** 3;
const disk = (device: string, bytes: number, extra: Partial<DiskInfo> = {}): DiskInfo => ({ device, bytes, model: '', removable: false, readOnly: false, ...extra });

function fakeSysBlock(entries: Record<string, { size: number; ro?: string; removable?: string; model?: string }>): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-sysblock-'));
  for (const [name, e] of Object.entries(entries)) {
    mkdirSync(join(root, name, 'device'), { recursive: true });
    writeFileSync(join(root, name, 'size'), `${e.size}\n`);
    writeFileSync(join(root, name, 'ro'), `${e.ro ?? '0'}\n`);
    writeFileSync(join(root, name, 'removable'), `${e.removable ?? '0'}\n`);
    if (e.model) writeFileSync(join(root, name, 'device', 'model'), `${e.model}   \n`);
  }
  return root;
}

describe('disk selection', () => {
  it('lists block devices from sysfs, leaving out loop, optical and ram devices', () => {
    const root = fakeSysBlock({ vda: { size: 41943040, model: 'QEMU HARDDISK' }, sr0: { size: 2048 }, loop0: { size: 100 }, nvme0n1: { size: 8 }, ram0: { size: 1 } });
    const disks = listDisks(root);
    expect(disks.map((d) => d.device)).toEqual(['/dev/nvme0n1', '/dev/vda']);
    expect(disks[1]).toMatchObject({ bytes: 41943040 * 512, model: 'QEMU HARDDISK', readOnly: false });
  });

  it('offers writable non-empty disks other than the install medium', () => {
    const disks = [disk('/dev/sda', 8 * GiB), disk('/dev/sdb', 4 * GiB, { removable: true }), disk('/dev/sdc', 0), disk('/dev/sdd', GiB, { readOnly: true })];
    expect(installTargets(disks, '/dev/sdb').map((d) => d.device)).toEqual(['/dev/sda']);
    expect(installTargets(disks, '/dev/sdb1').map((d) => d.device)).toEqual(['/dev/sda']);
    expect(installTargets(disks).map((d) => d.device)).toEqual(['/dev/sda', '/dev/sdb']);
  });

  it('explains a disk that is too small with both sizes', () => {
    expect(checkDiskFits(disk('/dev/vda', 2 * GiB), 2 * GiB)).toBeUndefined();
    expect(checkDiskFits(disk('/dev/vda', GiB), 2 * GiB)).toBe('/dev/vda is too small: it has 1.0 GiB, the image needs 2.0 GiB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536 * 1024 * 1024)).toBe('1.5 GiB');
  });

  it('names partitions the way the kernel does', () => {
    expect(partitionDevice('/dev/vda', 2)).toBe('/dev/vda2');
    expect(partitionDevice('/dev/nvme0n1', 1)).toBe('/dev/nvme0n1p1');
    expect(partitionDevice('/dev/mmcblk0', 3)).toBe('/dev/mmcblk0p3');
  });

  it('unattended: uses TargetDisk, and fails clearly when it is missing or too small', () => {
    const m: InstallManifest = {
      version: 1,
      configName: 'core-efi-unattended',
      targetDisk: '/dev/vda',
      systems: [{ name: 'Core', image: 'kiln/images/1-core.qcow2', imageBytes: 2 * GiB, dataBytes: GiB, tableType: 'gpt', hostname: 'kiln', growLastPartition: true, mounts: [] }],
    };
    expect(unattendedAnswers(m, [disk('/dev/vda', 4 * GiB)])).toMatchObject({ target: '/dev/vda', hostname: 'kiln' });
    expect(() => unattendedAnswers(m, [disk('/dev/sda', 4 * GiB)])).toThrow(/\/dev\/vda .* does not exist on this machine; disks found: \/dev\/sda/);
    expect(() => unattendedAnswers(m, [])).toThrow(InstallError);
    expect(() => unattendedAnswers(m, [disk('/dev/vda', GiB)])).toThrow(/too small/);
  });
});

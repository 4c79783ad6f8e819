import { describe, expect, it } from 'vitest';
import { mibToSectors, planLayout, renderSfdisk, LayoutError } from '../../../src/disk/layout.js';
import { GPT_BIOS_BOOT, GPT_TYPES } from '../../../src/disk/types.js';
import type { Disk } from '../../../src/config/model.js';

const coreEfi: Disk = {
  PartitionTableType: 'gpt',
  MaxSize: 4096,
  Partitions: [
    { ID: 'boot', Flags: ['esp', 'boot'], Start: 1, End: 9, FsType: 'fat32' },
    { ID: 'rootfs', Start: 9, End: 0, FsType: 'ext4' },
  ],
};

describe('disk layout', () => {
  it('converts MiB to 512-byte sectors and rejects fractions', () => {
    expect(mibToSectors(1)).toBe(2048);
    expect(mibToSectors(9)).toBe(18432);
    expect(() => mibToSectors(1.5)).toThrow(/whole/);
  });

  it('extends a last End 0 partition to MaxSize minus the GPT backup table', () => {
    const l = planLayout(coreEfi);
    expect(l.sizeBytes).toBe(4096 * 1024 * 1024);
    const [esp, root] = l.partitions;
    expect(esp).toMatchObject({ number: 1, startSector: 2048, sizeSectors: 8 * 2048, type: GPT_TYPES.esp, name: 'boot' });
    expect(root!.startSector).toBe(9 * 2048);
    expect(root!.startSector + root!.sizeSectors).toBe(4096 * 2048 - 33);
    expect(root!.type).toBe(GPT_TYPES.linux);
  });

  it('extends a middle End 0 partition to the next Start, and uses all of an MBR disk', () => {
    const l = planLayout({
      PartitionTableType: 'mbr',
      MaxSize: 100,
      Partitions: [
        { ID: 'a', Start: 1, End: 0, FsType: 'ext4', Flags: ['boot'] },
        { ID: 'b', Start: 50, End: 0, FsType: 'linux-swap' },
      ],
    });
    expect(l.partitions[0]!.sizeSectors).toBe(49 * 2048);
    expect(l.partitions[0]!.bootable).toBe(true);
    expect(l.partitions[1]!.startSector + l.partitions[1]!.sizeSectors).toBe(100 * 2048);
    expect(l.partitions.map((p) => p.type)).toEqual(['83', '82']);
  });

  it('honours Type friendly names, TypeUUID and the grub/bios_grub flags', () => {
    const l = planLayout({
      MaxSize: 64,
      Partitions: [
        { ID: 'bios', Start: 1, End: 2, FsType: 'fat32', Flags: ['grub'] },
        { ID: 'root', Start: 2, End: 40, FsType: 'ext4', Type: 'linux-root-amd64' },
        { ID: 'x', Name: 'custom', Start: 40, End: 0, FsType: 'xfs', TypeUUID: 'A19D880F-05FC-4D3B-A006-743F0F84911E' },
      ],
    });
    expect(l.partitions.map((p) => p.type)).toEqual([GPT_BIOS_BOOT, GPT_TYPES['linux-root-amd64'], GPT_TYPES['linux-raid']]);
    expect(l.partitions[2]!.name).toBe('custom');
  });

  it('rejects overlaps, ends beyond MaxSize and unknown types with the partition named', () => {
    const bad = (partitions: Disk['Partitions']) => () => planLayout({ MaxSize: 100, Partitions: partitions });
    expect(bad([{ ID: 'a', Start: 1, End: 20, FsType: 'ext4' }, { ID: 'b', Start: 10, End: 0, FsType: 'ext4' }])).toThrow(/"b".*overlaps.*"a"/);
    expect(bad([{ ID: 'a', Start: 1, End: 200, FsType: 'ext4' }])).toThrow(/"a".*beyond MaxSize/);
    expect(bad([{ ID: 'a', Start: 1, End: 0, FsType: 'ext4', Type: 'nope' }])).toThrow(/unknown partition Type "nope"/);
    expect(bad([{ ID: 'a', Start: 0, End: 0, FsType: 'ext4' }])).toThrow(LayoutError);
  });

  it('renders an sfdisk script with names, types and the legacy-bootable attribute', () => {
    const script = renderSfdisk(planLayout({ ...coreEfi, Partitions: [coreEfi.Partitions![0]!, { ID: 'rootfs', Start: 9, End: 0, FsType: 'ext4', Flags: ['boot'] }] }), '11111111-2222-3333-4444-555555555555');
    expect(script).toContain('label: gpt\n');
    expect(script).toContain('label-id: 11111111-2222-3333-4444-555555555555');
    expect(script).toContain(`start=2048, size=16384, type=${GPT_TYPES.esp}, name="boot"\n`);
    expect(script).toMatch(/start=18432, size=\d+, type=0fc63daf-8483-4772-8e79-3d69d8477de4, name="rootfs", attrs="LegacyBIOSBootable"/);
  });
});

/** Disk and partition layout: ordering, overlap, sizes, identifiers, flags versus filesystems. */
import { FAT_FS_TYPES } from '../schema.js';
import type { Disk, Partition } from '../model.js';
import type { Segment } from '../findings.js';
import { allPartitions, type RuleContext } from './context.js';

const GPT_NAME_MAX = 35;
const MBR_MAX_PARTITIONS = 4;

export function checkDisks(ctx: RuleContext): void {
  (ctx.config.Disks ?? []).forEach((disk, di) => checkDisk(ctx, disk, ['Disks', di]));
  checkUniqueIds(ctx);
}

/** Artifact types that are whole disks: they need a partition layout to exist. */
const DISK_ARTIFACTS: readonly string[] = ['vhd', 'vhd-fixed', 'vhdx', 'qcow2', 'raw', 'vmdk', 'ova'];

function checkDisk(ctx: RuleContext, disk: Disk, at: Segment[]): void {
  const parts = disk.Partitions ?? [];
  if (disk.TargetDisk && !disk.TargetDisk.Value.startsWith('/dev/')) {
    ctx.report([...at, 'TargetDisk', 'Value'], `"${disk.TargetDisk.Value}" is not a device path`, 'name the installation disk, e.g. "/dev/sda"');
  }
  if (parts.length === 0) {
    (disk.Artifacts ?? []).forEach((a, ai) => {
      if (a.Type && DISK_ARTIFACTS.includes(a.Type)) {
        ctx.report([...at, 'Artifacts', ai, 'Type'], `a "${a.Type}" artifact is a disk image, but this disk has no Partitions (it describes a rootfs)`, 'add Partitions, or drop "Type" (and set "Compression") for a rootfs archive');
      }
    });
    return;
  }
  const hasTarget = disk.TargetDisk?.Type === 'path';
  if (disk.PartitionTableType === undefined) {
    ctx.report([...at], 'a disk with Partitions needs a PartitionTableType', 'add "PartitionTableType": "gpt" (or "mbr")');
  }
  if (!hasTarget && !disk.MaxSize) {
    ctx.report([...at, 'MaxSize'], 'a disk image with Partitions needs a non-zero MaxSize (MiB)', 'set "MaxSize" to the disk size in MiB, or a TargetDisk for an installer');
  }
  if (disk.PartitionTableType === 'mbr' && parts.length > MBR_MAX_PARTITIONS) {
    ctx.report([...at, 'Partitions'], `an MBR disk holds at most ${MBR_MAX_PARTITIONS} primary partitions (found ${parts.length})`, 'use "PartitionTableType": "gpt"');
  }
  const esps = parts.map((p, i) => ({ p, i })).filter(({ p }) => p.Flags?.includes('esp'));
  if (esps.length > 1) {
    ctx.report([...at, 'Partitions', esps[1]!.i, 'Flags'], 'more than one partition has the "esp" flag', 'keep exactly one EFI system partition');
  }
  parts.forEach((p, pi) => checkPartition(ctx, disk, p, [...at, 'Partitions', pi]));
  checkRanges(ctx, disk, at);
}

function checkPartition(ctx: RuleContext, disk: Disk, p: Partition, at: Segment[]): void {
  if (p.End !== 0 && p.End <= p.Start) {
    ctx.report([...at, 'End'], `End (${p.End}) must be greater than Start (${p.Start})`, 'End is an offset from the start of the disk in MiB, not a size; 0 means "up to the next partition / the end"');
  }
  if (p.Start === 0) {
    ctx.report([...at, 'Start'], 'Start 0 overlaps the partition table', 'start the first partition at 1 (MiB)');
  }
  const flags = p.Flags ?? [];
  if (flags.includes('esp') && !FAT_FS_TYPES.includes(p.FsType)) {
    ctx.report([...at, 'FsType'], `the EFI system partition ("esp" flag) must be FAT, not "${p.FsType}"`, 'use "FsType": "fat32"');
  }
  if (flags.includes('bios_grub') && disk.PartitionTableType === 'mbr') {
    ctx.report([...at, 'Flags'], 'the "bios_grub" flag exists only on GPT disks', 'on MBR, GRUB lives in the gap after the MBR: drop the partition or use GPT');
  }
  if (p.Type !== undefined && p.TypeUUID !== undefined) {
    ctx.report([...at, 'TypeUUID'], 'set either Type or TypeUUID, not both', 'keep the friendly "Type" name, or the explicit "TypeUUID"');
  }
  if (p.Name !== undefined) {
    if (/[^\x20-\x7e]/.test(p.Name)) {
      ctx.report([...at, 'Name'], `partition name "${p.Name}" contains a non-ASCII or control character`, 'use printable ASCII');
    } else if (p.Name.length > GPT_NAME_MAX) {
      ctx.report([...at, 'Name'], `partition name is ${p.Name.length} characters; a GPT name holds at most ${GPT_NAME_MAX}`, 'shorten the name');
    }
  }
}

/**
 * Partitions are created in list order and End 0 means "up to the next one in the list", so the
 * list must be in ascending Start order. Then resolve End 0 and check emptiness, overlap, MaxSize
 * (on the sorted order, so an out-of-order list still gets its other findings).
 */
function checkRanges(ctx: RuleContext, disk: Disk, at: Segment[]): void {
  const list = disk.Partitions ?? [];
  list.forEach((p, i) => {
    const prev = list[i - 1];
    if (prev && p.Start < prev.Start) {
      ctx.report([...at, 'Partitions', i, 'Start'], `partition "${p.ID}" (Start ${p.Start}) is listed after "${prev.ID}" (Start ${prev.Start})`, 'list partitions in the order they lie on the disk (ascending Start)');
    }
  });
  const sorted = (disk.Partitions ?? []).map((p, i) => ({ p, i })).sort((a, b) => a.p.Start - b.p.Start);
  const limit = disk.TargetDisk?.Type === 'path' ? undefined : disk.MaxSize || undefined;
  sorted.forEach(({ p, i }, k) => {
    const here: Segment[] = [...at, 'Partitions', i];
    const next = sorted[k + 1];
    const end = p.End !== 0 ? p.End : next ? next.p.Start : limit;
    if (p.End === 0 && end !== undefined && end <= p.Start) {
      const bound = next ? `the next partition (${String(next.p.ID)}) starts at ${next.p.Start}` : `MaxSize is ${end}`;
      ctx.report([...here, 'End'], `End 0 gives an empty partition: ${bound} and this one starts at ${p.Start}`, 'give the partition an explicit End, or move the next Start');
    }
    if (next && end !== undefined && p.End !== 0 && end > next.p.Start) {
      ctx.report([...at, 'Partitions', next.i, 'Start'], `partition "${next.p.ID}" (Start ${next.p.Start}) overlaps partition "${p.ID}" (${p.Start}-${end})`, `start it at ${end} or later, or end "${p.ID}" earlier`);
    }
    if (next && next.p.Start === p.Start && p.End === 0) {
      ctx.report([...at, 'Partitions', next.i, 'Start'], `partitions "${p.ID}" and "${next.p.ID}" both start at ${p.Start}`, 'give each partition its own range');
    }
    if (limit !== undefined) {
      if (p.End > limit) {
        ctx.report([...here, 'End'], `End (${p.End}) is beyond the disk's MaxSize (${limit})`, `increase MaxSize to at least ${p.End}, or end the partition earlier`);
      } else if (p.Start >= limit) {
        ctx.report([...here, 'Start'], `Start (${p.Start}) is beyond the disk's MaxSize (${limit})`, 'increase MaxSize or move the partition');
      }
    }
  });
}

function checkUniqueIds(ctx: RuleContext): void {
  const seen = new Map<string, string>();
  for (const { p, at } of allPartitions(ctx.config)) {
    if (seen.has(p.ID)) {
      ctx.report([...at, 'ID'], `partition ID "${p.ID}" is used twice`, 'give every partition a unique ID');
    } else seen.set(p.ID, '');
  }
}

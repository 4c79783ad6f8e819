/**
 * Disk and partition layout: sizes and counts the build supports, overlap, identifiers, names,
 * flags versus filesystems, ordering. Upstream's rules (Disk.IsValid, Partition.IsValid,
 * TargetDisk.IsValid, checkDuplicatePartitionIDs) are errors; Kiln's own (a layout the build
 * cannot make, or one that will not boot) are warnings that `kiln build` refuses.
 */
import { FAT_FS_TYPES } from '../schema.js';
import type { Disk, Partition } from '../model.js';
import type { Segment } from '../findings.js';
import { MAX_DISK_MIB, MAX_GPT_PARTITIONS, MAX_MBR_DISK_MIB, MAX_MBR_PARTITIONS } from '../limits.js';
import { allPartitions, type RuleContext } from './context.js';

export function hasControlCharacter(s: string): boolean {
  return [...s].some((c) => c.codePointAt(0)! < 0x20 || c.codePointAt(0) === 0x7f);
}

/** GPT names are 36 UTF-16 code units including the terminating NUL (upstream's nameCheck). */
const GPT_NAME_MAX = 35;

export function checkDisks(ctx: RuleContext): void {
  const disks = ctx.config.Disks ?? [];
  disks.forEach((disk, di) => checkDisk(ctx, disk, ['Disks', di]));
  if (disks.length > 1) {
    ctx.kiln(['Disks', 1], `Kiln builds one disk per config; ${disks.length - 1} more disk${disks.length > 2 ? 's are' : ' is'} ignored`, 'describe one disk, or split the config');
  }
  checkUniqueIds(ctx);
}

function checkDisk(ctx: RuleContext, disk: Disk, at: Segment[]): void {
  const parts = disk.Partitions ?? [];
  checkTargetDisk(ctx, disk, at);
  if ((disk.RawBinaries ?? []).length > 0) {
    ctx.kiln([...at, 'RawBinaries'], 'Kiln does not write RawBinaries onto the disk', 'remove them, or write the binary in a FinalizeImageScripts script');
  }
  if (disk.BlockSize === 4096) {
    ctx.kiln([...at, 'BlockSize'], 'Kiln builds disks with 512-byte sectors only', 'remove BlockSize (0 and 512 mean 512)');
  }
  const table = disk.PartitionTableType;
  const limit = table === 'mbr' ? MAX_MBR_DISK_MIB : MAX_DISK_MIB;
  if (disk.MaxSize !== undefined && disk.MaxSize > limit) {
    ctx.report(
      [...at, 'MaxSize'],
      `MaxSize ${disk.MaxSize} MiB is larger than the largest ${table === 'mbr' ? 'MBR disk' : 'disk'} Kiln builds (${limit} MiB)`,
      table === 'mbr' ? 'an MBR table addresses at most 2 TiB: use "PartitionTableType": "gpt", or a smaller MaxSize' : `the raw disk is a sparse file (ext4 holds files up to 16 TiB): use at most ${limit} MiB`,
    );
  }
  if (parts.length === 0) return;
  const hasTarget = disk.TargetDisk?.Type === 'path';
  if (table === undefined) {
    ctx.kiln([...at], 'a disk with Partitions needs a PartitionTableType', 'add "PartitionTableType": "gpt" (or "mbr")');
  }
  if (!hasTarget && !disk.MaxSize) {
    ctx.report([...at, 'MaxSize'], 'a disk image with Partitions needs a non-zero MaxSize (MiB)', 'set "MaxSize" to the disk size in MiB, or a TargetDisk for an installer');
  } else if (hasTarget && !disk.MaxSize) {
    ctx.kiln([...at, 'MaxSize'], 'Kiln builds the image an installer copies onto the TargetDisk, so it needs a MaxSize (MiB) too', 'set "MaxSize" to the size of the installed system in MiB');
  }
  const maxParts = table === 'mbr' ? MAX_MBR_PARTITIONS : MAX_GPT_PARTITIONS;
  if (parts.length > maxParts) {
    ctx.report(
      [...at, 'Partitions'],
      table === 'mbr' ? `an MBR disk holds at most ${MAX_MBR_PARTITIONS} primary partitions (found ${parts.length})` : `a GPT disk holds at most ${MAX_GPT_PARTITIONS} partitions (found ${parts.length})`,
      table === 'mbr' ? 'use "PartitionTableType": "gpt"' : 'use fewer partitions',
    );
  }
  const esps = parts.map((p, i) => ({ p, i })).filter(({ p }) => p.Flags?.includes('esp'));
  if (esps.length > 1) {
    ctx.kiln([...at, 'Partitions', esps[1]!.i, 'Flags'], 'more than one partition has the "esp" flag', 'keep exactly one EFI system partition');
  }
  parts.forEach((p, pi) => checkPartition(ctx, disk, p, [...at, 'Partitions', pi]));
  checkRanges(ctx, disk, at);
}

function checkTargetDisk(ctx: RuleContext, disk: Disk, at: Segment[]): void {
  const t = disk.TargetDisk;
  if (!t) return;
  const type: string = t.Type;
  if (type === 'path' && t.Value === '') {
    ctx.report([...at, 'TargetDisk', 'Value'], 'a TargetDisk of Type "path" needs a Value', 'name the installation disk, e.g. "/dev/sda"');
  } else if (type === '' && t.Value !== '') {
    ctx.report([...at, 'TargetDisk', 'Type'], 'a TargetDisk with a Value needs "Type": "path"', 'add "Type": "path", or remove the TargetDisk');
  } else if (type === 'path' && !t.Value.startsWith('/dev/')) {
    ctx.kiln([...at, 'TargetDisk', 'Value'], `"${t.Value}" is not a device path`, 'name the installation disk, e.g. "/dev/sda"');
  }
}

function checkPartition(ctx: RuleContext, disk: Disk, p: Partition, at: Segment[]): void {
  if (p.End !== 0 && p.End <= p.Start) {
    ctx.kiln([...at, 'End'], `End (${p.End}) must be greater than Start (${p.Start})`, 'End is an offset from the start of the disk in MiB, not a size; 0 means "up to the next partition / the end"');
  }
  if (p.Start === 0) {
    ctx.kiln([...at, 'Start'], 'Start 0 overlaps the partition table', 'start the first partition at 1 (MiB)');
  }
  const flags = p.Flags ?? [];
  if (flags.includes('esp') && !FAT_FS_TYPES.includes(p.FsType)) {
    ctx.kiln([...at, 'FsType'], `the EFI system partition ("esp" flag) must be FAT, not "${p.FsType}"`, 'use "FsType": "fat32"');
  }
  if (flags.includes('bios_grub') && disk.PartitionTableType === 'mbr') {
    ctx.kiln([...at, 'Flags'], 'the "bios_grub" flag exists only on GPT disks', 'on MBR, GRUB lives in the gap after the MBR: drop the partition or use GPT');
  }
  if (p.Type !== undefined && p.TypeUUID !== undefined) {
    ctx.report([...at, 'TypeUUID'], 'set either Type or TypeUUID, not both', 'keep the friendly "Type" name, or the explicit "TypeUUID"');
  }
  if (p.Name !== undefined) {
    if ([...p.Name].some((c) => c.codePointAt(0)! > 0x7f)) {
      ctx.report([...at, 'Name'], `partition name "${p.Name}" contains a non-ASCII character`, 'use ASCII');
    } else if (p.Name.length > GPT_NAME_MAX) {
      ctx.report([...at, 'Name'], `partition name is ${p.Name.length} characters; a GPT name holds at most ${GPT_NAME_MAX}`, 'shorten the name');
    }
    // control characters: an error of rules/text.ts, as in every string of the config
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
      ctx.kiln([...at, 'Partitions', i, 'Start'], `partition "${p.ID}" (Start ${p.Start}) is listed after "${prev.ID}" (Start ${prev.Start})`, 'list partitions in the order they lie on the disk (ascending Start)');
    }
  });
  const sorted = list.map((p, i) => ({ p, i })).sort((a, b) => a.p.Start - b.p.Start);
  const limit = disk.TargetDisk?.Type === 'path' ? undefined : disk.MaxSize || undefined;
  sorted.forEach(({ p, i }, k) => {
    const here: Segment[] = [...at, 'Partitions', i];
    const next = sorted[k + 1];
    const end = p.End !== 0 ? p.End : next ? next.p.Start : limit;
    if (p.End === 0 && end !== undefined && end <= p.Start) {
      const bound = next ? `the next partition (${String(next.p.ID)}) starts at ${next.p.Start}` : `MaxSize is ${end}`;
      ctx.kiln([...here, 'End'], `End 0 gives an empty partition: ${bound} and this one starts at ${p.Start}`, 'give the partition an explicit End, or move the next Start');
    }
    // upstream's checkOverlappingPartitions: in Start order, an explicit End past the next Start
    if (next && p.End !== 0 && p.End > next.p.Start) {
      ctx.report([...at, 'Partitions', next.i, 'Start'], `partition "${next.p.ID}" (Start ${next.p.Start}) overlaps partition "${p.ID}" (${p.Start}-${p.End})`, `start it at ${p.End} or later, or end "${p.ID}" earlier`);
    }
    if (next && next.p.Start === p.Start && p.End === 0) {
      ctx.kiln([...at, 'Partitions', next.i, 'Start'], `partitions "${p.ID}" and "${next.p.ID}" both start at ${p.Start}`, 'give each partition its own range');
    }
    if (limit !== undefined) {
      if (p.End > limit) {
        ctx.report([...here, 'End'], `End (${p.End}) is beyond the disk's MaxSize (${limit})`, `increase MaxSize to at least ${p.End}, or end the partition earlier`);
      } else if (p.End === 0 && p.Start > limit) {
        ctx.report([...here, 'Start'], `Start (${p.Start}) is beyond the disk's MaxSize (${limit})`, 'increase MaxSize or move the partition');
      }
    }
  });
}

function checkUniqueIds(ctx: RuleContext): void {
  const seen = new Set<string>();
  for (const { p, at } of allPartitions(ctx.config)) {
    if (seen.has(p.ID)) ctx.report([...at, 'ID'], `partition ID "${p.ID}" is used twice`, 'give every partition a unique ID');
    seen.add(p.ID);
  }
}

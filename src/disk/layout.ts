/**
 * Disk layout math, pure: the config's MiB offsets become sector ranges (End 0 rules applied) and
 * an sfdisk script that creates exactly that table. Sectors are 512 bytes; 1 MiB = 2048 sectors.
 */
import type { Disk, Partition, PartitionTableType } from '../config/model.js';
import { isBiosBoot, partitionType } from './types.js';

export const SECTOR = 512;
export const SECTORS_PER_MIB = (1024 * 1024) / SECTOR;

export function mibToSectors(mib: number): number {
  if (!Number.isInteger(mib) || mib < 0) throw new Error(`not a whole, non-negative number of MiB: ${mib}`);
  return mib * SECTORS_PER_MIB;
}

export interface PlannedPartition {
  /** 1-based partition number, in config order. */
  number: number;
  id: string;
  partition: Partition;
  startSector: number;
  /** Number of sectors. */
  sizeSectors: number;
  /** GPT type GUID or MBR id. */
  type: string;
  /** GPT partition name (GPT only). */
  name?: string;
  /** MBR active flag ("boot" flag on an MBR disk, or the legacy boot partition). */
  bootable: boolean;
  /** GPT attribute bits to set (LegacyBIOSBootable for the "boot"/legacy flag). */
  attrs: string[];
}

export interface DiskLayout {
  table: PartitionTableType;
  sizeBytes: number;
  partitions: PlannedPartition[];
}

export class LayoutError extends Error {}

/** What device layers ask of the layout (from disk/layers planStacks). */
export interface LayoutRoles {
  /** Partitions whose size must be a multiple of this many bytes (a LUKS2 data area of 4 KiB sectors). */
  sizeMultiple?: ReadonlyMap<string, number>;
  /** GPT type GUIDs for partitions whose config gives neither Type nor TypeUUID (e.g. a verity hash partition). */
  defaultTypes?: ReadonlyMap<string, string>;
}

/**
 * Resolve partitions: End 0 extends to the next partition's Start, or to MaxSize for the last one.
 * GPT keeps its backup table in the last 33 sectors, so on GPT a partition ending at MaxSize is
 * shortened by exactly those sectors (sfdisk would otherwise refuse it).
 */
export function planLayout(disk: Disk, roles: LayoutRoles = {}): DiskLayout {
  const table = disk.PartitionTableType ?? 'gpt';
  const maxSize = disk.MaxSize;
  if (!maxSize || maxSize <= 0) throw new LayoutError('MaxSize (MiB) must be set to a positive number for a disk with partitions');
  const parts = disk.Partitions ?? [];
  if (!parts.length) throw new LayoutError('a disk needs at least one partition');
  if (table === 'mbr' && parts.length > 4) throw new LayoutError(`an MBR table holds at most 4 primary partitions (got ${parts.length})`);
  const totalSectors = mibToSectors(maxSize);
  // the GPT backup header + entries occupy the last 33 sectors
  const usableEnd = table === 'gpt' ? totalSectors - 33 : totalSectors;
  const planned: PlannedPartition[] = [];
  parts.forEach((p, i) => {
    const next = parts[i + 1];
    const endMiB = p.End !== 0 ? p.End : next ? next.Start : maxSize;
    if (p.Start < 1) throw new LayoutError(`partition "${p.ID}": Start must be at least 1 MiB (the first MiB holds the partition table)`);
    if (endMiB <= p.Start) throw new LayoutError(`partition "${p.ID}": End (${endMiB} MiB) must be after Start (${p.Start} MiB)`);
    if (endMiB > maxSize) throw new LayoutError(`partition "${p.ID}": End (${endMiB} MiB) is beyond MaxSize (${maxSize} MiB)`);
    const prev = planned[i - 1];
    const start = mibToSectors(p.Start);
    if (prev && start < prev.startSector + prev.sizeSectors) {
      throw new LayoutError(`partition "${p.ID}" (Start ${p.Start} MiB) overlaps partition "${prev.id}"`);
    }
    let end = Math.min(mibToSectors(endMiB), usableEnd);
    // a partition ending at the GPT backup table is 33 sectors short of a MiB boundary: a layer
    // that needs whole 4 KiB sectors gets the remainder trimmed
    const multiple = (roles.sizeMultiple?.get(p.ID) ?? SECTOR) / SECTOR;
    end -= (end - start) % multiple;
    const flags = p.Flags ?? [];
    const defaultType = table === 'gpt' && !p.Type && !p.TypeUUID ? roles.defaultTypes?.get(p.ID) : undefined;
    planned.push({
      number: i + 1,
      id: p.ID,
      partition: p,
      startSector: start,
      sizeSectors: end - start,
      type: defaultType ?? partitionType(table, p),
      ...(table === 'gpt' ? { name: p.Name ?? p.ID } : {}),
      bootable: table === 'mbr' && (flags.includes('boot') || isBiosBoot(flags)),
      attrs: table === 'gpt' && flags.includes('boot') && !flags.includes('esp') ? ['LegacyBIOSBootable'] : [],
    });
  });
  return { table, sizeBytes: totalSectors * SECTOR, partitions: planned };
}

/** The sfdisk script (input for `sfdisk --no-reread --no-tell-kernel FILE`) creating `layout`. */
export function renderSfdisk(layout: DiskLayout, diskId?: string, partUuids: readonly string[] = []): string {
  const lines = [`label: ${layout.table === 'gpt' ? 'gpt' : 'dos'}`, 'unit: sectors', 'sector-size: 512'];
  if (diskId) lines.push(`label-id: ${diskId}`);
  if (layout.table === 'gpt') lines.push(`last-lba: ${layout.sizeBytes / SECTOR - 34}`);
  lines.push('');
  for (const [i, p] of layout.partitions.entries()) {
    const fields = [`start=${p.startSector}`, `size=${p.sizeSectors}`, `type=${p.type}`];
    if (layout.table === 'gpt' && partUuids[i]) fields.push(`uuid=${partUuids[i]}`);
    if (p.name !== undefined) fields.push(`name=${JSON.stringify(p.name)}`);
    if (p.attrs.length) fields.push(`attrs="${p.attrs.join(' ')}"`);
    if (p.bootable) fields.push('bootable');
    lines.push(fields.join(', '));
  }
  return lines.join('\n') + '\n';
}

/**
 * A written image carries the disk GUID and partition GUIDs it was built with; two machines
 * installed from one ISO must not share them. The installer gives the new disk fresh identifiers
 * and rewrites every text file that names the old ones (fstab, grub.cfg, ...). Pure functions here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { partitionNumber, type SfdiskTable } from '../disk/sfdisk.js';

/** old identifier → new identifier (compared case-insensitively). */
export type IdentifierMap = Map<string, string>;

export interface TableIds {
  tableType: 'gpt' | 'mbr';
  /** GPT disk GUID, or MBR disk id as 0xXXXXXXXX (sfdisk's label-id). */
  diskId: string;
  /** PARTUUID per partition number (GPT: partition GUID; MBR: <diskid>-NN, derived). */
  partUuids: Map<number, string>;
}

export interface RandomSource {
  uuid(): string;
  /** 8 hex digits, not all zero. */
  hex8(): string;
}

/** Fresh identifiers of the same shape: random GUIDs for GPT, a random disk id for MBR. */
export function freshIds(old: TableIds, random: RandomSource = defaultRandom): TableIds {
  if (old.tableType === 'gpt') {
    const partUuids = new Map<number, string>();
    for (const n of old.partUuids.keys()) partUuids.set(n, random.uuid().toUpperCase());
    return { tableType: 'gpt', diskId: random.uuid().toUpperCase(), partUuids };
  }
  const hex = random.hex8();
  const partUuids = new Map<number, string>();
  for (const n of old.partUuids.keys()) partUuids.set(n, mbrPartUuid(hex, n));
  return { tableType: 'mbr', diskId: `0x${hex}`, partUuids };
}

export const defaultRandom: RandomSource = {
  uuid: () => randomUUID(),
  hex8: () => {
    // an MBR disk id of 0 means "none" to some tools
    let h = '00000000';
    while (/^0+$/.test(h)) h = randomBytes(4).toString('hex');
    return h;
  },
};

/** Linux derives an MBR partition's PARTUUID from the disk id: "<8 hex>-<2-digit number>". */
export function mbrPartUuid(diskIdHex: string, partition: number): string {
  return `${diskIdHex.replace(/^0x/i, '').toLowerCase().padStart(8, '0')}-${String(partition).padStart(2, '0')}`;
}

export function identifierMap(oldIds: TableIds, newIds: TableIds): IdentifierMap {
  const map: IdentifierMap = new Map();
  if (oldIds.tableType === 'gpt') map.set(oldIds.diskId, newIds.diskId);
  for (const [n, uuid] of oldIds.partUuids) {
    const fresh = newIds.partUuids.get(n);
    if (fresh) map.set(uuid, fresh);
  }
  return map;
}

/**
 * Replace every old identifier in `text`, keeping the case style of each occurrence (fstab and
 * grub.cfg usually carry lower-case GUIDs, sfdisk prints upper case). Whole tokens only: an
 * identifier that is a prefix of a longer hex run is left alone.
 */
export function rewriteIdentifiers(text: string, map: IdentifierMap): { text: string; replaced: number } {
  let replaced = 0;
  let out = text;
  for (const [oldId, newId] of map) {
    const re = new RegExp(`(?<![0-9A-Fa-f-])${escapeRegExp(oldId)}(?![0-9A-Fa-f])`, 'gi');
    out = out.replace(re, (match) => {
      replaced++;
      return inCaseOf(match, newId);
    });
  }
  return { text: out, replaced };
}

/**
 * `newId` in the case style of `match`. A match with no letters says nothing: a FAT serial
 * (XXXX-XXXX) is upper case wherever Linux shows it, a GUID lower case.
 */
export function inCaseOf(match: string, newId: string): string {
  if (match.toLowerCase() === match.toUpperCase()) return /^[0-9]{4}-[0-9]{4}$/.test(match) ? newId.toUpperCase() : newId.toLowerCase();
  return match === match.toLowerCase() ? newId.toLowerCase() : newId.toUpperCase();
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The identifiers of a partition table. */
export function tableIds(pt: SfdiskTable): TableIds {
  const tableType = pt.label === 'gpt' ? 'gpt' : pt.label === 'dos' ? 'mbr' : undefined;
  if (!tableType) throw new Error(`unsupported partition table type "${String(pt.label)}"`);
  const diskId = pt.id;
  const partUuids = new Map<number, string>();
  for (const p of pt.partitions) {
    const n = partitionNumber(p);
    if (n === undefined) continue;
    partUuids.set(n, tableType === 'gpt' ? (p.uuid ?? '') : mbrPartUuid(diskId, n));
  }
  return { tableType, diskId, partUuids };
}

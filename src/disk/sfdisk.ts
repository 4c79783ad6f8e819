/**
 * A partition table as `sfdisk --json` prints it. The one reader of that output: the installer,
 * `kiln inspect`, `kiln diff`, roast and the end-to-end tests all look at tables through it.
 */
import { output, run } from '../core/exec.js';

export interface SfdiskPartition {
  /** Device or image path with the partition number appended (/dev/loop0p3, disk.raw3). */
  node: string;
  /** In sectors of `sectorsize`. */
  start: number;
  size: number;
  /** GPT: type GUID (upper case); MBR: type byte in hex ("83", "ef"). */
  type: string;
  /** GPT partition GUID. */
  uuid?: string;
  name?: string;
  attrs?: string;
  bootable?: boolean;
}

export interface SfdiskTable {
  label: 'gpt' | 'dos';
  /** GPT disk GUID, or MBR disk id as 0xXXXXXXXX. */
  id: string;
  device?: string;
  firstlba?: number;
  lastlba?: number;
  sectorsize?: number;
  partitions: SfdiskPartition[];
}

export function parseSfdiskJson(text: string): SfdiskTable {
  const pt = (JSON.parse(text) as { partitiontable?: Omit<SfdiskTable, 'partitions'> & { partitions?: SfdiskPartition[] } }).partitiontable;
  if (!pt) throw new Error('sfdisk printed no partition table');
  return { ...pt, partitions: pt.partitions ?? [] };
}

/** The table of a disk or image file (sfdisk's failure is an error). */
export async function partitionTable(path: string): Promise<SfdiskTable> {
  return parseSfdiskJson(await output('sfdisk', ['--json', path]));
}

/** The table of a disk or image file, or undefined when it has none (a bare filesystem). */
export async function partitionTableIfAny(path: string): Promise<SfdiskTable | undefined> {
  const r = await run('sfdisk', ['--json', path], { allowFailure: true });
  if (r.code !== 0 || !r.stdout.trim()) return undefined;
  return parseSfdiskJson(r.stdout);
}

/** 1-based partition number from its node (/dev/loop0p3 → 3). */
export function partitionNumber(p: SfdiskPartition): number | undefined {
  const n = Number(/(\d+)$/.exec(p.node)?.[1]);
  return Number.isInteger(n) ? n : undefined;
}

/**
 * FAT filesystems without a kernel FAT driver: mkfs.vfat formats the partition, mtools copies a
 * staging directory into it. What a "fat32" too small for FAT32 becomes is decided here, once:
 * FAT32 needs at least 65525 clusters (about 33 MiB with 512-byte clusters), so a smaller "fat32"
 * (such as upstream's 8 MiB ESP) is made FAT16 (FAT12 below ~2 MiB) with a warning; firmware and
 * Linux read all three. mkfs.vfat would otherwise write a non-standard FAT32 that mtools and some
 * firmware misread.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FsType } from '../config/model.js';
import { KilnError } from '../core/errors.js';
import { run } from '../core/exec.js';

const MIB = 1024 * 1024;
/** Smallest size that holds 65525 clusters of 512 bytes plus reserved sectors and two FATs. */
export const FAT32_MIN_BYTES = 33 * MIB;
/** Smallest FAT16: 4085 clusters of 512 bytes plus overhead. */
export const FAT16_MIN_BYTES = 3 * MIB;

export interface FatChoice {
  bits: 12 | 16 | 32;
  /** Set when the result differs from what FsType asked for. */
  warning?: string;
}

export function chooseFat(fsType: FsType, sizeBytes: number, partitionId: string): FatChoice {
  const size = `${(sizeBytes / MIB).toFixed(0)} MiB`;
  const small = (bits: 12 | 16, wanted: string) => ({
    bits,
    warning: `partition "${partitionId}": ${size} is too small for ${wanted}; formatted as FAT${bits} instead (FAT32 needs at least ${FAT32_MIN_BYTES / MIB} MiB)`,
  });
  const natural = (): 12 | 16 | 32 => (sizeBytes >= FAT32_MIN_BYTES * 8 ? 32 : sizeBytes >= FAT16_MIN_BYTES ? 16 : 12);
  switch (fsType) {
    case 'fat32':
      if (sizeBytes >= FAT32_MIN_BYTES) return { bits: 32 };
      return sizeBytes >= FAT16_MIN_BYTES ? small(16, 'FAT32') : small(12, 'FAT32');
    case 'fat16':
      if (sizeBytes >= FAT16_MIN_BYTES) return { bits: 16 };
      return small(12, 'FAT16');
    default:
      // "vfat": the size decides, as mkfs.vfat itself would (FAT32 from 264 MiB)
      return { bits: natural() };
  }
}

/**
 * Sectors per cluster keeping the cluster count inside the FAT width's valid range (mkfs.vfat's
 * own choice fails or goes non-standard for small filesystems); undefined = mkfs.vfat decides.
 */
export function sectorsPerCluster(bits: 12 | 16 | 32, sizeBytes: number): number | undefined {
  const maxClusters = { 12: 4084, 16: 65524, 32: 0x0ffffff5 }[bits];
  if (bits === 32) return sizeBytes < 260 * MIB ? 1 : undefined;
  for (let spc = 1; spc <= 128; spc *= 2) if (sizeBytes / (spc * 512) <= maxClusters) return spc;
  return undefined;
}

/** mkfs.vfat arguments for the chosen FAT width. */
export function mkfsVfatArgs(device: string, choice: FatChoice, sizeBytes: number, volumeId: string, label?: string): string[] {
  const args = ['-F', String(choice.bits), '-i', volumeId];
  const spc = sectorsPerCluster(choice.bits, sizeBytes);
  if (spc) args.push('-s', String(spc));
  if (label) args.push('-n', label.slice(0, 11).toUpperCase());
  args.push(device);
  return args;
}

export async function formatFat(device: string, choice: FatChoice, sizeBytes: number, volumeId: string, label?: string): Promise<void> {
  await run('mkfs.vfat', mkfsVfatArgs(device, choice, sizeBytes, volumeId, label));
}

/**
 * Entries of a staging tree that FAT cannot hold and mtools must not follow: symbolic links (the
 * image can write its ESP staging directory, and a link there to a host file would copy the host's
 * file into the ESP), devices, FIFOs, sockets. Paths relative to `dir`.
 */
export function unsafeFatEntries(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else if (!e.isFile()) out.push(r);
    }
  };
  walk(dir, '');
  return out;
}

/** Copy a directory's contents into the root of a FAT filesystem (device or image file) with mtools. */
export async function copyIntoFat(device: string, dir: string): Promise<void> {
  const entries = readdirSync(dir);
  if (!entries.length) return;
  const unsafe = unsafeFatEntries(dir);
  if (unsafe.length) {
    throw new KilnError(`the FAT partition's files include ${unsafe.map((u) => `'${u}'`).join(', ')}, which ${unsafe.length === 1 ? 'is' : 'are'} not a regular file or directory; FAT cannot hold links or special files and Kiln does not follow them`);
  }
  await run('mcopy', ['-s', '-p', '-Q', '-m', '-i', device, ...entries.map((e) => join(dir, e)), '::/'], {
    env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
  });
}

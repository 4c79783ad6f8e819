/**
 * Partition type GUIDs (GPT) and ids (MBR): the format's friendly names (imageconfig.md "TypeUUID")
 * plus the types Kiln picks from flags and filesystems when neither Type nor TypeUUID is given.
 */
import type { FsType, Partition, PartitionFlag, PartitionTableType } from '../config/model.js';
import { PARTITION_TYPE_UUIDS } from '../config/schema.js';

/** The format's friendly names, from the one table the validator also checks names against. */
export const GPT_TYPES: Readonly<Record<string, string>> = PARTITION_TYPE_UUIDS;
export const GPT_BIOS_BOOT = '21686148-6449-6e6f-744e-656564454649';

/** MBR partition ids. */
export const MBR_TYPES = {
  linux: '83',
  swap: '82',
  esp: 'ef',
  fat16: '06',
  fat32: '0c',
} as const;

/** `grub` and `bios_grub` both mean "the BIOS boot partition grub embeds its core image in" (as upstream). */
export function isBiosBoot(flags: readonly PartitionFlag[] | undefined): boolean {
  return !!flags?.some((f) => f === 'bios_grub' || f === 'grub');
}

export function isFat(fs: FsType): boolean {
  return fs === 'fat32' || fs === 'fat16' || fs === 'vfat';
}

/** The GPT type GUID of a partition: TypeUUID, else Type's friendly name, else from flags/filesystem. */
export function gptType(p: Partition): string {
  if (p.TypeUUID) return p.TypeUUID.toLowerCase();
  if (p.Type) {
    const t = GPT_TYPES[p.Type];
    if (!t) throw new Error(`unknown partition Type "${p.Type}" (known: ${Object.keys(GPT_TYPES).join(', ')})`);
    return t;
  }
  if (p.Flags?.includes('esp')) return GPT_TYPES.esp!;
  if (isBiosBoot(p.Flags)) return GPT_BIOS_BOOT;
  if (p.FsType === 'linux-swap') return GPT_TYPES['linux-swap']!;
  return GPT_TYPES.linux!;
}

/** The MBR id: from flags and filesystem (GPT friendly names with an MBR equivalent are honoured). */
export function mbrType(p: Partition): string {
  if (p.Flags?.includes('esp') || p.Type === 'esp') return MBR_TYPES.esp;
  if (p.FsType === 'linux-swap' || p.Type === 'linux-swap') return MBR_TYPES.swap;
  if (p.FsType === 'fat16') return MBR_TYPES.fat16;
  if (isFat(p.FsType)) return MBR_TYPES.fat32;
  return MBR_TYPES.linux;
}

export function partitionType(table: PartitionTableType, p: Partition): string {
  return table === 'gpt' ? gptType(p) : mbrType(p);
}

/**
 * Partition type GUIDs (GPT) and ids (MBR): the format's friendly names (imageconfig.md "TypeUUID")
 * plus the types Kiln picks from flags and filesystems when neither Type nor TypeUUID is given.
 */
import type { FsType, Partition, PartitionFlag, PartitionTableType } from '../config/model.js';

export const GPT_TYPES: Readonly<Record<string, string>> = {
  linux: '0fc63daf-8483-4772-8e79-3d69d8477de4',
  esp: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
  xbootldr: 'bc13c2ff-59e6-4262-a352-b275fd6f7172',
  'linux-root-amd64': '4f68bce3-e8cd-4db1-96e7-fbcaf984b709',
  'linux-swap': '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f',
  'linux-home': '933ac7e1-2eb4-4f13-b844-0e14e2aef915',
  'linux-srv': '3b8f8425-20e0-4f3b-907f-1a25a76f98e8',
  'linux-var': '4d21b016-b534-45c2-a9fb-5c16e091fd2d',
  'linux-tmp': '7ec6f557-3bc5-4aca-b293-16ef5df639d1',
  'linux-lvm': 'e6d6d379-f507-44c2-a23c-238f2a3df928',
  'linux-raid': 'a19d880f-05fc-4d3b-a006-743f0f84911e',
  'linux-luks': 'ca7d7ccb-63ed-4c53-861c-1742536059cc',
  'linux-dm-crypt': '7ffec5c9-2d00-49b7-8941-3ea10a5586b7',
};
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

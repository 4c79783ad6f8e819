/**
 * File-system identifiers of a written image. The image carries the file-system UUIDs it was
 * built with; two machines installed from one ISO must not share them, so each file system gets a
 * fresh UUID from its own tool. Pure here: reading blkid's answer, choosing the new UUID in the
 * shape the file system uses, and the command that sets it. install.ts runs the commands.
 */
import { defaultRandom, escapeRegExp, inCaseOf, type RandomSource } from './identifiers.js';

/** `blkid -p -o export DEV` → its KEY=value pairs. */
export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** File-system types (blkid's TYPE) whose UUID the installer renews. */
export const RENEWABLE = ['ext2', 'ext3', 'ext4', 'xfs', 'vfat', 'swap'] as const;
export type RenewableFs = (typeof RENEWABLE)[number];

export function isRenewable(type: string): type is RenewableFs {
  return (RENEWABLE as readonly string[]).includes(type);
}

/** The same random GUIDs and non-zero 8-hex-digit ids the partition table gets. */
export type FsRandom = RandomSource;

/** A fresh UUID as blkid will show it: FAT's 32-bit serial "ABCD-1234", a lower-case GUID otherwise. */
export function freshFsUuid(type: RenewableFs, random: FsRandom = defaultRandom): string {
  if (type === 'vfat') {
    const h = random.hex8().toUpperCase();
    return `${h.slice(0, 4)}-${h.slice(4)}`;
  }
  return random.uuid().toLowerCase();
}

/** The command that gives the (unmounted) file system on `device` the UUID `uuid`. */
export function setUuidCommand(type: RenewableFs, device: string, uuid: string): { cmd: string; args: string[] } {
  switch (type) {
    case 'ext2':
    case 'ext3':
    case 'ext4':
      // tune2fs rewrites the metadata checksums too; it wants a freshly checked file system (install.ts runs e2fsck -f first)
      return { cmd: 'tune2fs', args: ['-U', uuid, device] };
    case 'xfs':
      return { cmd: 'xfs_admin', args: ['-U', uuid, device] };
    case 'vfat':
      return { cmd: 'fatlabel', args: ['-i', device, uuid.replace('-', '')] };
    case 'swap':
      return { cmd: 'swaplabel', args: ['-U', uuid, device] };
  }
}

/**
 * Replace identifiers inside a binary file, byte for byte (an old identifier and its replacement
 * have the same length, so offsets inside the file do not move). Used for grub's EFI binary, whose
 * built-in first configuration names the file system holding /boot by UUID. Same case style as
 * each occurrence; whole tokens only. Returns undefined when nothing was replaced.
 */
export function rewriteBinaryIdentifiers(data: Buffer, map: Map<string, string>): { data: Buffer; replaced: number } | undefined {
  let replaced = 0;
  // latin1 maps bytes 1:1 to characters, so string offsets are byte offsets
  let text = data.toString('latin1');
  for (const [oldId, newId] of map) {
    if (oldId.length !== newId.length) continue;
    const re = new RegExp(`(?<![0-9A-Fa-f-])${escapeRegExp(oldId)}(?![0-9A-Fa-f])`, 'gi');
    text = text.replace(re, (match) => {
      replaced++;
      return inCaseOf(match, newId);
    });
  }
  return replaced ? { data: Buffer.from(text, 'latin1'), replaced } : undefined;
}

/**
 * Which firmware boots a disk, read from its first sectors (pure): an EFI system partition
 * (GPT type C12A7328-… or MBR type 0xef) means UEFI; boot code in the MBR (grub's "GRUB" string, or
 * any non-zero code area) with a BIOS boot partition or an MBR table means BIOS. A disk with both
 * (hybrid) boots with UEFI unless the caller asks otherwise.
 */
import type { Firmware } from './qemu-args.js';

export const GPT_TYPES = {
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
} as const;

export interface DiskHead {
  table: 'gpt' | 'mbr' | 'none';
  /** Partition type GUIDs (GPT) or type bytes as two hex digits (MBR), in table order. */
  types: string[];
  esp: boolean;
  biosBootPartition: boolean;
  /** The MBR's code area holds a boot loader. */
  mbrBootCode: boolean;
  grubInMbr: boolean;
}

/** A GUID as GPT stores it (mixed-endian) → canonical upper-case text. */
export function guidAt(buf: Buffer, off: number): string {
  const hex = (b: Buffer) => b.toString('hex').toUpperCase();
  const le = (start: number, len: number) => hex(Buffer.from(buf.subarray(off + start, off + start + len)).reverse());
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${hex(buf.subarray(off + 8, off + 10))}-${hex(buf.subarray(off + 10, off + 16))}`;
}

/** Read the partition table from the first bytes of a disk (at least 34 sectors of 512 bytes for GPT). */
export function parseDiskHead(buf: Buffer, sector = 512): DiskHead {
  const signature = buf.length >= 512 && buf[510] === 0x55 && buf[511] === 0xaa;
  const code = buf.subarray(0, 440);
  const mbrBootCode = signature && code.some((b) => b !== 0);
  const grubInMbr = code.includes(Buffer.from('GRUB'));
  const mbrTypes = signature ? [0, 1, 2, 3].map((i) => buf[446 + i * 16 + 4]!).filter((t) => t !== 0) : [];
  const gpt = buf.length >= sector * 2 && buf.subarray(sector, sector + 8).toString('latin1') === 'EFI PART';
  if (gpt) {
    const entriesLba = Number(buf.readBigUInt64LE(sector + 72));
    const count = buf.readUInt32LE(sector + 80);
    const size = buf.readUInt32LE(sector + 84);
    const types: string[] = [];
    for (let i = 0; i < count; i++) {
      const off = entriesLba * sector + i * size;
      if (off + 16 > buf.length) break;
      const t = guidAt(buf, off);
      if (t !== '00000000-0000-0000-0000-000000000000') types.push(t);
    }
    return {
      table: 'gpt',
      types,
      esp: types.includes(GPT_TYPES.esp),
      biosBootPartition: types.includes(GPT_TYPES.biosBoot),
      mbrBootCode,
      grubInMbr,
    };
  }
  if (signature && mbrTypes.length) {
    const types = mbrTypes.map((t) => t.toString(16).padStart(2, '0'));
    return { table: 'mbr', types, esp: types.includes('ef'), biosBootPartition: false, mbrBootCode, grubInMbr };
  }
  return { table: 'none', types: [], esp: false, biosBootPartition: false, mbrBootCode, grubInMbr };
}

/** The firmware a disk needs, or undefined when it looks bootable by neither. */
export function firmwareFor(head: DiskHead): Firmware | undefined {
  if (head.esp) return 'uefi';
  if (head.mbrBootCode && (head.biosBootPartition || head.table === 'mbr')) return 'bios';
  if (head.grubInMbr) return 'bios';
  return undefined;
}

/** Both firmwares can boot it (ESP and BIOS boot code). */
export function isHybrid(head: DiskHead): boolean {
  return head.esp && head.mbrBootCode && (head.biosBootPartition || head.table === 'mbr' || head.grubInMbr);
}

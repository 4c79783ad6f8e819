/**
 * The LUKS2 payload, written in user space: aes-xts-plain64 exactly as dm-crypt reads it. Each
 * sector of `sectorSize` bytes (4096 for Kiln) is one XTS data unit; its tweak is plain64, a 64-bit
 * little-endian counter zero-padded to 16 bytes, counting 512-byte sectors from the start of the
 * data segment whatever the sector size (LUKS2 does not use dm-crypt's iv_large_sectors): the
 * 4 KiB sector at byte offset o has tweak o / 512. Pure.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

/** plain64 counts 512-byte sectors. */
export const IV_SECTOR = 512;

function check(volumeKey: Buffer, data: Buffer, offset: number, sectorSize: number): void {
  if (volumeKey.length !== 64) throw new Error(`aes-xts-plain64 with a 512-bit key needs 64 key bytes, got ${volumeKey.length}`);
  if (data.length % sectorSize) throw new Error(`${data.length} bytes is not a whole number of ${sectorSize}-byte sectors`);
  if (offset % sectorSize) throw new Error(`offset ${offset} is not on a ${sectorSize}-byte sector boundary`);
}

/** Encrypt whole sectors in place; `offset` is the byte offset of `data` in the data segment. */
export function encryptSectors(volumeKey: Buffer, data: Buffer, offset: number, sectorSize: number): void {
  transform('encrypt', volumeKey, data, offset, sectorSize);
}

/** Inverse of encryptSectors (tests, and checks of a written image). */
export function decryptSectors(volumeKey: Buffer, data: Buffer, offset: number, sectorSize: number): void {
  transform('decrypt', volumeKey, data, offset, sectorSize);
}

function transform(way: 'encrypt' | 'decrypt', volumeKey: Buffer, data: Buffer, offset: number, sectorSize: number): void {
  check(volumeKey, data, offset, sectorSize);
  const iv = Buffer.alloc(16);
  for (let at = 0; at < data.length; at += sectorSize) {
    iv.writeBigUInt64LE(BigInt((offset + at) / IV_SECTOR), 0);
    const c = way === 'encrypt' ? createCipheriv('aes-256-xts', volumeKey, iv) : createDecipheriv('aes-256-xts', volumeKey, iv);
    const unit = data.subarray(at, at + sectorSize);
    const out = c.update(unit);
    c.final();
    out.copy(unit);
    out.fill(0);
  }
}

/**
 * Container formats whose writer puts random or time-based values in the file: for a reproducible
 * build they are replaced by values derived from the build's identifiers (disk/ids.ts).
 *
 *  - VHDX (qemu-img): FileWriteGuid, DataWriteGuid and the sequence numbers of both headers, the
 *    GUID of the stale log entry qemu leaves behind (the log is inactive: LogGuid is zero), and the
 *    Page 83 identifier in the metadata region. Headers and log entries carry CRC-32C checksums,
 *    recomputed after the change (MS-VHDX 2.2, 2.3).
 *  - stream-optimised VMDK (qemu-img): the descriptor's CID.
 */
import { open } from 'node:fs/promises';
import type { IdSource } from '../disk/ids.js';

const CRC32C = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC32C[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A GUID as VHDX stores it: the first three fields little-endian. */
export function guidBytes(guid: string): Buffer {
  const h = guid.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
}

const KIB = 1024;
const HEADERS = [64 * KIB, 128 * KIB];
const REGION_TABLE = 192 * KIB;
const METADATA_REGION = guidBytes('8B7CA206-4790-4B9A-B8FE-575F050F886E');
const PAGE83 = guidBytes('BECA12AB-B2E6-4523-93EF-C309E000C746');

export async function stabilizeVhdx(path: string, ids: IdSource): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const read = async (pos: number, n: number) => {
      const b = Buffer.alloc(n);
      await fh.read(b, 0, n, pos);
      return b;
    };
    const headers = await Promise.all(HEADERS.map((at) => read(at, 4 * KIB)));
    if (!headers.every((h) => h.toString('latin1', 0, 4) === 'head')) throw new Error(`${path}: not a VHDX file (no headers)`);
    if (headers.some((h) => !h.subarray(48, 64).equals(Buffer.alloc(16)))) throw new Error(`${path}: the VHDX log is active; its identifiers cannot be replaced`);
    const seqs = headers.map((h) => h.readBigUInt64LE(8));
    const low = seqs.reduce((a, b) => (b < a ? b : a));
    for (const [i, h] of headers.entries()) {
      h.writeBigUInt64LE(seqs[i]! - low + 1n, 8); // the newer header stays the newer one
      ids.bytes('vhdx:file-write-guid', 16).copy(h, 16);
      ids.bytes('vhdx:data-write-guid', 16).copy(h, 32);
      h.writeUInt32LE(0, 4);
      h.writeUInt32LE(crc32c(h), 4);
      await fh.write(h, 0, h.length, HEADERS[i]);
    }
    // the log qemu wrote while converting (inactive): its entries' GUID and checksum
    const logLength = headers[0]!.readUInt32LE(68);
    const logOffset = Number(headers[0]!.readBigUInt64LE(72));
    for (let at = logOffset; at < logOffset + logLength; at += 4 * KIB) {
      const head = await read(at, 64);
      if (head.toString('latin1', 0, 4) !== 'loge') continue;
      const length = head.readUInt32LE(8);
      if (length < 64 || at + length > logOffset + logLength) continue;
      const entry = await read(at, length);
      ids.bytes('vhdx:log-guid', 16).copy(entry, 32);
      entry.writeUInt32LE(0, 4);
      entry.writeUInt32LE(crc32c(entry), 4);
      await fh.write(entry, 0, entry.length, at);
      at += Math.ceil(length / (4 * KIB)) * 4 * KIB - 4 * KIB;
    }
    // the metadata region's Page 83 data (the virtual disk's SCSI identity)
    const regions = await read(REGION_TABLE, 64 * KIB);
    const count = regions.readUInt32LE(8);
    for (let i = 0; i < count; i++) {
      const e = regions.subarray(16 + i * 32, 48 + i * 32);
      if (!e.subarray(0, 16).equals(METADATA_REGION)) continue;
      const base = Number(e.readBigUInt64LE(16));
      const table = await read(base, 64 * KIB);
      const entries = table.readUInt16LE(10);
      for (let j = 0; j < entries; j++) {
        const m = table.subarray(32 + j * 32, 64 + j * 32);
        if (!m.subarray(0, 16).equals(PAGE83)) continue;
        await fh.write(ids.bytes('vhdx:page83', 16), 0, 16, base + m.readUInt32LE(16));
      }
    }
  } finally {
    await fh.close();
  }
}

/**
 * The VMDK descriptor's CID (random in qemu-img's output, written with %x: 7 digits when it starts
 * with a zero). The descriptor text is rewritten with an 8-digit derived CID; the text sits in a
 * zero-padded area, so the line may grow by a digit.
 */
export async function stabilizeVmdk(path: string, ids: IdSource): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const head = Buffer.alloc(64 * KIB);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const text = head.toString('latin1', 0, bytesRead);
    const start = text.indexOf('# Disk DescriptorFile');
    const end = start < 0 ? -1 : text.indexOf('\0', start);
    const m = start < 0 ? null : /\nCID=([0-9a-f]{1,8})\n/.exec(text.slice(start, end < 0 ? undefined : end));
    if (!m || end < 0) throw new Error(`${path}: no CID in the VMDK descriptor`);
    let cid = ids.bytes('vmdk:cid', 4).toString('hex');
    if (cid === 'ffffffff') cid = 'fffffffe'; // "no parent" marker
    const old = text.slice(start, end);
    const fresh = `${old.slice(0, m.index)}\nCID=${cid}\n${old.slice(m.index + m[0].length)}`;
    // the padding after the text must hold the extra digit
    if (head[end + (fresh.length - old.length)] === undefined || head.subarray(end, end + (fresh.length - old.length) + 1).some((b) => b !== 0)) {
      throw new Error(`${path}: no room in the VMDK descriptor for an 8-digit CID`);
    }
    await fh.write(Buffer.from(fresh, 'latin1'), 0, fresh.length, start);
  } finally {
    await fh.close();
  }
}

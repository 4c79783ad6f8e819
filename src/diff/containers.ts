/**
 * Byte ranges in which two container files (vhdx, vhd, vmdk, qcow2) of the same format differ,
 * named by the structure that holds them where the format is known (VHDX headers, log, metadata;
 * the VHD footer's fields; the VMDK descriptor).
 */
import { open } from 'node:fs/promises';
import { statSync } from 'node:fs';

const MAX_RANGES = 16;

export async function describeContainerBytes(a: string, b: string, format: string): Promise<string[]> {
  const ranges = await differingRanges(a, b);
  if (!ranges.length) return [`container (${format}): same bytes`];
  const name = format === 'vhdx' ? await vhdxNamer(a) : format === 'vpc' ? vhdNamer(statSync(a).size) : format === 'vmdk' ? vmdkNamer : () => 'bytes';
  // per structure: which of its fields differ, in how many ranges, and the first one
  const byPart = new Map<string, { fields: Set<string>; ranges: number; first: [number, number] }>();
  for (const [start, end] of ranges) {
    for (let at = start; at < Math.min(end, start + 256); at++) {
      const [part, field] = name(at).split(': ');
      const e = byPart.get(part!) ?? { fields: new Set<string>(), ranges: 0, first: [start, end] as [number, number] };
      if (field) e.fields.add(field);
      byPart.set(part!, e);
    }
    byPart.get(name(start).split(': ')[0]!)!.ranges++;
  }
  const lines = [`container (${format}): ${ranges.length} differing byte range(s)`];
  for (const [part, e] of [...byPart].slice(0, MAX_RANGES)) {
    lines.push(`  ${part}: ${e.fields.size ? [...e.fields].join(', ') : `${e.ranges} range(s)`} (first at bytes ${e.first[0]}-${e.first[1] - 1})`);
  }
  return lines;
}

async function differingRanges(a: string, b: string): Promise<[number, number][]> {
  const size = Math.max(statSync(a).size, statSync(b).size);
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  const chunk = 4 << 20;
  const [ba, bb] = [Buffer.alloc(chunk), Buffer.alloc(chunk)];
  const ranges: [number, number][] = [];
  try {
    for (let at = 0; at < size && ranges.length <= 4096; at += chunk) {
      ba.fill(0);
      bb.fill(0);
      await Promise.all([fa.read(ba, 0, chunk, at), fb.read(bb, 0, chunk, at)]);
      if (ba.equals(bb)) continue;
      for (let i = 0; i < chunk; i++) {
        if (ba[i] === bb[i]) continue;
        const last = ranges.at(-1);
        if (last && at + i - last[1] < 16) last[1] = at + i + 1;
        else ranges.push([at + i, at + i + 1]);
      }
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
  return ranges;
}

/** "structure: field" for a byte offset of a VHDX file (MS-VHDX 2.2). */
async function vhdxNamer(file: string): Promise<(at: number) => string> {
  const fh = await open(file, 'r');
  const h = Buffer.alloc(80);
  await fh.read(h, 0, 80, 64 * 1024);
  await fh.close();
  const logOffset = Number(h.readBigUInt64LE(72));
  const logLength = h.readUInt32LE(68);
  return (at) => {
    for (const [base, n] of [[64 * 1024, 1], [128 * 1024, 2]] as const) {
      const o = at - base;
      if (o < 0 || o >= 4096) continue;
      const field = o < 4 ? 'signature' : o < 8 ? 'checksum' : o < 16 ? 'sequence number' : o < 32 ? 'FileWriteGuid' : o < 48 ? 'DataWriteGuid' : o < 64 ? 'LogGuid' : 'other fields';
      return `header ${n}: ${field}`;
    }
    if (at >= 192 * 1024 && at < 320 * 1024) return 'region table';
    if (at >= logOffset && at < logOffset + logLength) return 'log (entries\' GUIDs and checksums)';
    return 'metadata and data (Page 83 identity, BAT, disk contents)';
  };
}

function vhdNamer(size: number): (at: number) => string {
  return (at) => {
    const o = at - (size - 512);
    if (o < 0) return 'disk data';
    return `footer: ${o >= 24 && o < 28 ? 'time stamp' : o >= 64 && o < 68 ? 'checksum' : o >= 68 && o < 84 ? 'unique id' : 'other fields'}`;
  };
}

function vmdkNamer(at: number): string {
  return at < 64 * 1024 ? 'header and descriptor: CID, extent name' : 'grain data';
}

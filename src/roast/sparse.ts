/**
 * Sparse-aware copying. Raw images are mostly holes; copying them must cost what their data costs.
 * Whole files go through `cp --sparse=always --reflink=auto` (coreutils 9 uses SEEK_DATA/SEEK_HOLE
 * and copy_file_range, or a reflink where the filesystem has them: no bytes pass through Kiln).
 * Byte ranges (a partition inside a disk) have no such tool, so Kiln asks `xfs_io seek` where the
 * data is and copies only those extents, through one fixed buffer.
 */
import { open } from 'node:fs/promises';
import { output, run } from '../core/exec.js';

export interface Segment {
  start: number;
  end: number;
}

/** Data extents of `path` overlapping [from, to), clipped to that range (SEEK_DATA/SEEK_HOLE via xfs_io). */
export async function dataSegments(path: string, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<Segment[]> {
  const text = await output('xfs_io', ['-r', '-c', `seek -a -r ${from}`, path], {
    hint: 'xfs_io comes with the Debian package xfsprogs',
  });
  return parseSeekOutput(text, from, to);
}

/** Parse `xfs_io -c 'seek -a -r N'` ("DATA 1048576" / "HOLE 2097152" lines) into clipped data ranges. */
export function parseSeekOutput(text: string, from: number, to: number): Segment[] {
  const marks: { kind: string; at: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(DATA|HOLE)\s+(\d+)/.exec(line.trim());
    if (m) marks.push({ kind: m[1]!, at: Number(m[2]) });
  }
  const segments: Segment[] = [];
  for (let i = 0; i < marks.length; i++) {
    const mark = marks[i]!;
    if (mark.kind !== 'DATA') continue;
    const end = marks[i + 1]?.at ?? Number.MAX_SAFE_INTEGER; // xfs_io always ends with a HOLE at EOF
    const s = Math.max(mark.at, from);
    const e = Math.min(end, to);
    if (e > s) segments.push({ start: s, end: e });
    if (end >= to) break;
  }
  return segments;
}

/** Whole-file sparse copy (reflink when possible). */
export async function copySparse(src: string, dst: string): Promise<void> {
  await run('cp', ['--sparse=always', '--reflink=auto', '--', src, dst]);
}

const BUFFER = 8 << 20;

/** Copy bytes [start, start+size) of `src` into a new sparse file `dst` of exactly `size` bytes. */
export async function copyRangeSparse(src: string, start: number, size: number, dst: string): Promise<void> {
  const segments = await dataSegments(src, start, start + size);
  const input = await open(src, 'r');
  try {
    const out = await open(dst, 'w');
    try {
      await out.truncate(size);
      const buf = Buffer.allocUnsafe(Math.min(BUFFER, Math.max(size, 1)));
      for (const seg of segments) {
        for (let pos = seg.start; pos < seg.end; ) {
          const want = Math.min(buf.length, seg.end - pos);
          const { bytesRead } = await input.read(buf, 0, want, pos);
          if (bytesRead === 0) break; // the source ended early: the rest stays a hole
          await writeFully(out, buf, bytesRead, pos - start);
          pos += bytesRead;
        }
      }
      await out.sync();
    } finally {
      await out.close();
    }
  } finally {
    await input.close();
  }
}

async function writeFully(fh: import('node:fs/promises').FileHandle, buf: Buffer, length: number, position: number) {
  for (let done = 0; done < length; ) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * The two kinds of payload a cached base tree is made of, each stored with a SHA-256 so a corrupt
 * entry is recognised when it is restored:
 *
 *  - filesystem images: the bytes of one partition (ext2/3/4, xfs) as they were right after the
 *    install, kept as a sparse file. Restoring copies them into the new raw disk at the partition's
 *    offset before the loop device is attached: no per-file work, every attribute the filesystem
 *    holds (xattrs, ACLs, hard links, sparse files, owners, modes, all four timestamps) comes back
 *    exactly. The kernel copies the data extents only (SEEK_DATA + copy_file_range) while Kiln
 *    hashes the payload; all-zero blocks do not count, so the hash is a function of the content.
 *  - tar archives: directory trees (a rootfs build's tree, the FAT staging directories), GNU tar
 *    with numeric owners, xattrs, ACLs, hard links and sparse files.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../core/exec.js';
import { copyRangeChecked, dataSegments } from '../roast/sparse.js';

/** Hash granularity: an all-zero block of this size counts as a hole (not hashed). */
export const BLOCK = 64 * 1024;
const READ = 4 * 1024 * 1024;
const ZERO = Buffer.alloc(BLOCK);
/** copy_range commands per xfs_io invocation (keeps argv far below ARG_MAX). */
const BATCH = 512;

export interface ImageDigest {
  /** SHA-256 over (size, then index and bytes of every non-zero block): a function of the content alone. */
  sha256: string;
  /** Bytes of non-zero blocks. */
  dataBytes: number;
}

export class PayloadMismatch extends Error {}

/**
 * Copy bytes [srcOffset, srcOffset+size) of `src` into `dst` at `dstOffset`, data extents only
 * (SEEK_DATA), in the kernel (copy_file_range through xfs_io): holes stay holes and no byte passes
 * through Kiln. The destination range must be a hole (a new sparse file or a fresh raw disk).
 */
export async function copyRange(src: string, srcOffset: number, size: number, dst: string, dstOffset: number): Promise<void> {
  const segments = await dataSegments(src, srcOffset, srcOffset + size);
  // xfs_io splits its commands on blanks and has no quoting: a source with blanks is named by a link
  const linkDir = /\s/.test(src) ? await mkdtemp(join(tmpdir(), 'kiln-src-')) : undefined;
  const name = linkDir ? join(linkDir, 'source') : src;
  if (linkDir) await symlink(resolve(src), name);
  try {
    for (let i = 0; i < segments.length; i += BATCH) {
      const commands = segments.slice(i, i + BATCH).flatMap((seg) => ['-c', `copy_range -s ${seg.start} -d ${seg.start - srcOffset + dstOffset} -l ${seg.end - seg.start} ${name}`]);
      await copyRangeChecked(commands, dst, segments.slice(i, i + BATCH), src, dstOffset - srcOffset);
    }
  } finally {
    if (linkDir) await rm(linkDir, { recursive: true, force: true });
  }
}

/**
 * The digest of bytes [offset, offset+size) of `path`: reads the data extents only, skips
 * all-zero blocks, so it depends on the content alone (not on how a filesystem laid it out).
 */
export async function imageDigest(path: string, offset: number, size: number): Promise<ImageDigest> {
  const segments = await dataSegments(path, offset, offset + size);
  const hash = createHash('sha256');
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(size));
  hash.update(header);
  const index = Buffer.alloc(8);
  const buf = Buffer.allocUnsafe(READ);
  let dataBytes = 0;
  const fh = await open(path, 'r');
  try {
    let next = 0; // first block not yet read (relative to offset): extents sharing a block are read once
    for (const seg of segments) {
      let at = Math.max(Math.floor((seg.start - offset) / BLOCK) * BLOCK, next);
      const end = seg.end - offset;
      while (at < end) {
        const len = Math.min(READ, Math.ceil((end - at) / BLOCK) * BLOCK, size - at);
        const { bytesRead } = await fh.read(buf, 0, len, offset + at);
        if (bytesRead < len) buf.fill(0, bytesRead, len);
        for (let b = 0; b < len; b += BLOCK) {
          const n = Math.min(BLOCK, len - b);
          if (buf.subarray(b, b + n).equals(ZERO.subarray(0, n))) continue;
          index.writeBigUInt64LE(BigInt((at + b) / BLOCK));
          hash.update(index);
          hash.update(buf.subarray(b, b + n));
          dataBytes += n;
        }
        at += len;
      }
      next = Math.max(next, at);
    }
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest('hex'), dataBytes };
}

/**
 * Restore a filesystem image into `dst` at `dstOffset`: the kernel copies while Kiln hashes the
 * payload (two cores, one pass over the page cache each). Throws PayloadMismatch when the hash is
 * not the recorded one (the caller empties the range again).
 */
export async function restoreImage(payload: string, size: number, dst: string, dstOffset: number, expect: string): Promise<ImageDigest> {
  const [digest] = await Promise.all([imageDigest(payload, 0, size), copyRange(payload, 0, size, dst, dstOffset)]);
  if (digest.sha256 !== expect) throw new PayloadMismatch(`content hash ${digest.sha256.slice(0, 16)}… instead of ${expect.slice(0, 16)}…`);
  return digest;
}

/** A new sparse file of `size` bytes (the payload copyImage fills). */
export async function sparseFile(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w', 0o600);
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}

const TAR_ATTRS = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls'];

/** Archive a directory's contents (owners, modes, xattrs, ACLs, hard links, holes kept). */
export async function tarDirectory(dir: string, file: string): Promise<string> {
  await run('tar', ['--create', '--file', file, ...TAR_ATTRS, '--sparse', '--sort=name', '--one-file-system', '-C', dir, '.']);
  return await fileSha256(file);
}

/** Verify an archive against its recorded hash, then extract it into `dir`. */
export async function untarInto(file: string, dir: string, expect: string): Promise<void> {
  const actual = await fileSha256(file);
  if (actual !== expect) throw new PayloadMismatch(`archive hash ${actual.slice(0, 16)}… instead of ${expect.slice(0, 16)}…`);
  await run('tar', ['--extract', '--file', file, ...TAR_ATTRS, '--preserve-permissions', '--same-owner', '-C', dir]);
}

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: READ })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

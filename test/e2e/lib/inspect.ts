/**
 * Look inside a built raw disk without booting it: its partition table (sfdisk --json), a
 * partition mounted read-only through a loop device (released when done), files on a FAT
 * partition read with mtools (the kernel has no vfat).
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { output, run } from '../../../src/core/exec.js';
import { partitionTable } from '../../../src/disk/sfdisk.js';
import { e2eWorkDir } from './workdir.js';

export { partitionTable };

/** Mount partition `n` (1-based) of `raw` read-only, run `fn` on the mount point, always release. */
export async function withPartitionMounted<T>(raw: string, n: number, fn: (dir: string) => Promise<T>): Promise<T> {
  const p = (await partitionTable(raw)).partitions[n - 1];
  if (!p) throw new Error(`${raw} has no partition ${n}`);
  const dir = mkdtempSync(join(e2eWorkDir(), 'mnt-'));
  const loop = await output('losetup', ['--find', '--show', '--read-only', '--offset', String(p.start * 512), '--sizelimit', String(p.size * 512), raw]);
  try {
    await run('mount', ['-o', 'ro,noload', loop, dir]).catch(() => run('mount', ['-o', 'ro', loop, dir]));
    try {
      return await fn(dir);
    } finally {
      await run('umount', [dir]);
    }
  } finally {
    await run('losetup', ['-d', loop]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `mdir`/`mtype` on FAT partition `n`: the text of a file, or undefined when it does not exist. */
export async function fatFile(raw: string, n: number, path: string): Promise<string | undefined> {
  const p = (await partitionTable(raw)).partitions[n - 1];
  if (!p) throw new Error(`${raw} has no partition ${n}`);
  const r = await run('mtype', ['-i', `${raw}@@${p.start * 512}`, `::${path}`], { allowFailure: true, env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  return r.code === 0 ? r.stdout : undefined;
}

/** minfo's FAT type ("FAT12"/"FAT16"/"FAT32") of FAT partition `n`. */
export async function fatType(raw: string, n: number): Promise<string | undefined> {
  const p = (await partitionTable(raw)).partitions[n - 1];
  if (!p) throw new Error(`${raw} has no partition ${n}`);
  const info = await output('minfo', ['-i', `${raw}@@${p.start * 512}`, '::'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  return /disk type="(FAT\d+)/.exec(info)?.[1];
}

export async function qemuImgInfo(file: string): Promise<{ format: string; 'virtual-size': number }> {
  return JSON.parse(await output('qemu-img', ['info', '--output=json', file])) as { format: string; 'virtual-size': number };
}

/** SHA-256 of a (large) file, streamed. */
export async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: 4 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

/** Partition `n` (1-based) of `raw` as a read-only loop device for `fn` (e.g. for cryptsetup or veritysetup); always detached. */
export async function withPartitionDevice<T>(raw: string, n: number, fn: (device: string) => Promise<T>): Promise<T> {
  const p = (await partitionTable(raw)).partitions[n - 1];
  if (!p) throw new Error(`${raw} has no partition ${n}`);
  const loop = await output('losetup', ['--find', '--show', '--read-only', '--offset', String(p.start * 512), '--sizelimit', String(p.size * 512), raw]);
  try {
    return await fn(loop);
  } finally {
    await run('losetup', ['-d', loop]);
  }
}

/** Byte offset of partition `n` (1-based) in `raw` (for mtools' `-i raw@@offset`, or patching bytes). */
export async function partitionOffset(raw: string, n: number): Promise<number> {
  const p = (await partitionTable(raw)).partitions[n - 1];
  if (!p) throw new Error(`${raw} has no partition ${n}`);
  return p.start * 512;
}

/** Does `needle` occur anywhere in `file`? Reads it in chunks (holes included), overlap kept across chunk borders. */
export async function fileContains(file: string, needle: string | Buffer): Promise<boolean> {
  const want = typeof needle === 'string' ? Buffer.from(needle) : needle;
  const { open } = await import('node:fs/promises');
  const fh = await open(file, 'r');
  try {
    const chunk = Buffer.alloc(16 << 20);
    let carry = Buffer.alloc(0);
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      if (bytesRead === 0) return false;
      const window = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      if (window.includes(want)) return true;
      carry = Buffer.from(window.subarray(Math.max(0, window.length - want.length + 1)));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/**
 * Filesystems with the same bytes on every build. A filesystem the kernel wrote holds the build's
 * clock (change and creation times) and the allocator's choices (which depend on timing); so once
 * the tree is complete, each ext filesystem is made again in user space from it: mke2fs -d copies
 * the tree in sorted order with fixed UUID, hash seed and E2FSPROGS_FAKE_TIME, then debugfs sets the
 * times the copy took from the source (access, change, creation) to SOURCE_DATE_EPOCH.
 */
import { Scope } from '../core/scope.js';
import { mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsType } from '../config/model.js';
import { output, run } from '../core/exec.js';
import { mkfsArgs } from '../disk/mkfs.js';
import { copyRange, sparseFile } from '../cache/payload.js';
import type { IdSource } from '../disk/ids.js';

export interface RebuildPart {
  id: string;
  /** Partition device while the disk is attached. */
  device: string;
  fsType: string;
  startBytes: number;
  sizeBytes: number;
  uuid: string;
}

const EXT = new Set(['ext2', 'ext3', 'ext4']);

/**
 * Every ext partition made again from its own contents (the disk attached, its filesystems
 * unmounted). Returns the images, to be written over the partitions once the disk is detached.
 */
export async function rebuildExtPartitions(parts: readonly RebuildPart[], ids: IdSource, epoch: number, scratch: string): Promise<{ startBytes: number; sizeBytes: number; image: string }[]> {
  const out: { startBytes: number; sizeBytes: number; image: string }[] = [];
  for (const p of parts.filter((x) => EXT.has(x.fsType))) {
    const image = await rebuildExt(p.device, p.fsType as FsType, p.sizeBytes, p.uuid, ids.uuid(`hash-seed:${p.id}`), epoch, scratch);
    out.push({ startBytes: p.startBytes, sizeBytes: p.sizeBytes, image });
  }
  return out;
}

/**
 * The final raw disk: a new file with the rebuilt filesystems and everything else (partition
 * table, FAT, swap) copied from the build's raw disk, renamed over it. A new file, not the old one
 * patched: when a copy of a build mount lingers in another mount namespace, the old filesystem can
 * still write (its superblock, at that namespace's end) through the loop device into the old file.
 */
export async function writeRebuilt(raw: string, rebuilt: readonly { startBytes: number; sizeBytes: number; image: string }[]): Promise<void> {
  if (!rebuilt.length) return;
  const { size } = await stat(raw);
  const fresh = `${raw}.reproducible`;
  await sparseFile(fresh, size);
  let at = 0;
  for (const r of [...rebuilt].sort((a, b) => a.startBytes - b.startBytes)) {
    if (r.startBytes > at) await copyRange(raw, at, r.startBytes - at, fresh, at);
    await copyRange(r.image, 0, r.sizeBytes, fresh, r.startBytes);
    await rm(r.image, { force: true });
    at = r.startBytes + r.sizeBytes;
  }
  if (at < size) await copyRange(raw, at, size - at, fresh, at);
  await rename(fresh, raw);
}

/** Clamp modification times newer than `epoch` (files, directories and links; every filesystem below root). */
export async function clampTimes(root: string, epoch: number): Promise<void> {
  await run('find', [root, '-newermt', `@${epoch}`, '-exec', 'touch', '--no-dereference', `--date=@${epoch}`, '{}', '+']);
}

/**
 * Make the ext filesystem on `device` again, from its own contents, into a new image file of
 * `sizeBytes` in `scratch`; returns the image's path (the caller copies it over the partition).
 */
export async function rebuildExt(device: string, fs: FsType, sizeBytes: number, uuid: string, hashSeed: string, epoch: number, scratch: string): Promise<string> {
  const mnt = await mkdtemp(join(scratch, 'repro-src-'));
  const image = join(scratch, `repro-${device.replace(/\W+/g, '_')}.img`);
  await sparseFile(image, sizeBytes);
  // not "ro": when a copy of the build's mount lingers in another mount namespace (any unshare
  // started on the host while the tree was mounted), the kernel refuses a read-only mount of the
  // still-active filesystem but attaches a second view of it. Nothing writes through this one.
  // recorded (a mount inside the build's work directory): released on error and Ctrl-C, and by
  // `kiln clean` after a kill
  const scope = new Scope(`reproducible ${device}`);
  try {
    await scope.acquire(
      `mount ${mnt}`,
      () => run('mount', ['-t', fs, '-o', 'noatime', device, mnt]),
      () => run('umount', [mnt]).then(() => undefined),
      () => ({ kind: 'mount', path: mnt }),
    );
    // mount points (e.g. /boot/efi) were hidden under their mounts when the tree was clamped
    await clampTimes(mnt, epoch);
    const [cmd, args] = mkfsArgs(fs, uuid, { hashSeed });
    await run(cmd, [...args, '-d', mnt, image], { env: { ...process.env, E2FSPROGS_FAKE_TIME: String(epoch), LC_ALL: 'C' } });
  } finally {
    await scope.close();
    await rm(mnt, { recursive: true, force: true });
  }
  await fixInodeTimes(image, epoch);
  return image;
}

/** Inode numbers in use, from dumpe2fs's per-group free-inode lists. */
export function usedInodes(dumpe2fs: string): number[] {
  const perGroup = Number(/^Inodes per group:\s*(\d+)/m.exec(dumpe2fs)?.[1]);
  const total = Number(/^Inode count:\s*(\d+)/m.exec(dumpe2fs)?.[1]);
  if (!perGroup || !total) throw new Error('dumpe2fs output without inode counts');
  const free = new Set<number>();
  for (const m of dumpe2fs.matchAll(/^[ \t]+Free inodes:[ \t]*(.*)$/gm)) {
    for (const part of m[1]!.split(',').map((x) => x.trim()).filter(Boolean)) {
      const [a, b] = part.split('-').map(Number);
      for (let i = a!; i <= (b ?? a!); i++) free.add(i);
    }
  }
  const used: number[] = [];
  for (let i = 1; i <= total; i++) if (!free.has(i)) used.push(i);
  return used;
}

/** Access, change and creation times of every inode in use (root, lost+found, the tree) = epoch. */
export async function fixInodeTimes(image: string, epoch: number): Promise<void> {
  const used = usedInodes(await output('dumpe2fs', [image], { env: { ...process.env, E2FSPROGS_FAKE_TIME: String(epoch) } })).filter((i) => i === 2 || i >= 11);
  const file = `${image}.debugfs`;
  await writeFile(file, used.flatMap((i) => ['atime', 'ctime', 'crtime'].map((f) => `sif <${i}> ${f} @${epoch}`)).join('\n') + '\n');
  try {
    // one line of output per command: not for the build log
    await run('sh', ['-c', 'exec debugfs -w -f "$1" "$2" > /dev/null', 'sh', file, image], { env: { ...process.env, E2FSPROGS_FAKE_TIME: String(epoch) } });
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * Filesystems for every FsType. Kiln picks each filesystem's UUID itself (instead of asking blkid
 * afterwards, which needs udev-less probing) so fstab and grub can be rendered from known values.
 */
import type { FsType } from '../config/model.js';
import { output, run } from '../core/exec.js';
import { warn } from '../core/log.js';
import { chooseFat, formatFat } from './fat.js';
import { fsckExt } from './fsck.js';
import { randomIds, type IdSource } from './ids.js';
import { isFat } from './types.js';

export interface MadeFilesystem {
  fsType: FsType;
  /** Filesystem UUID (FAT: XXXX-XXXX volume id). */
  uuid: string;
  /** FAT width actually used. */
  fatBits?: 12 | 16 | 32;
}

/** Host programs needed to make a filesystem of this type. */
export function mkfsTool(fs: FsType): string {
  if (isFat(fs)) return 'mkfs.vfat';
  if (fs === 'xfs') return 'mkfs.xfs';
  if (fs === 'linux-swap') return 'mkswap';
  return `mkfs.${fs}`;
}

export interface MkfsOptions {
  /**
   * false when blocks the build never writes will not read as zeros on the booted system (an
   * encrypted data area whose holes decrypt to noise): mkfs must then neither discard nor mark
   * anything as zeroed because of the discard; the kernel initialises inode tables lazily instead.
   */
  discard?: boolean;
}

/**
 * mkfs argv for a non-FAT filesystem (without the device or image path, which comes last). A
 * derived IdSource also fixes the ext directory-hash seed; timestamps then come from
 * E2FSPROGS_FAKE_TIME (set by reproducible builds).
 */
export function mkfsArgs(fs: FsType, uuid: string, opts: { label?: string; hashSeed?: string } & MkfsOptions = {}): [string, string[]] {
  const discard = opts.discard ?? true;
  const lbl = opts.label ? opts.label.slice(0, 16) : undefined;
  switch (fs) {
    case 'ext2':
    case 'ext3':
    case 'ext4':
      // -E lazy_*: skip zeroing tables on a sparse file (the kernel does it on first mount anyway)
      return [`mkfs.${fs}`, ['-F', '-q', '-U', uuid, ...(lbl ? ['-L', lbl] : []), '-E', `lazy_itable_init=1,lazy_journal_init=1${opts.hashSeed ? `,hash_seed=${opts.hashSeed}` : ''}${discard ? '' : ',nodiscard'}`]];
    case 'xfs':
      return ['mkfs.xfs', ['-f', '-q', ...(discard ? [] : ['-K']), '-m', `uuid=${uuid}`, ...(opts.label ? ['-L', opts.label.slice(0, 12)] : [])]];
    case 'linux-swap':
      return ['mkswap', ['-U', uuid, ...(lbl ? ['-L', lbl] : [])]];
    default:
      throw new Error(`unsupported filesystem type ${String(fs)}`);
  }
}

export async function makeFilesystem(
  device: string,
  fs: FsType,
  sizeBytes: number,
  partitionId: string,
  label?: string,
  ids: IdSource = randomIds,
  opts: MkfsOptions = {},
): Promise<MadeFilesystem> {
  if (isFat(fs)) {
    const choice = chooseFat(fs, sizeBytes, partitionId);
    if (choice.warning) warn(choice.warning);
    const id = fatId(ids, partitionId);
    await formatFat(device, choice, sizeBytes, id.volumeId, label);
    return { fsType: fs, uuid: id.uuid, fatBits: choice.bits };
  }
  const uuid = ids.uuid(`fs:${partitionId}`);
  const [cmd, args] = mkfsArgs(fs, uuid, { ...opts, ...(label ? { label } : {}), ...(ids.derived ? { hashSeed: ids.uuid(`hash-seed:${partitionId}`) } : {}) });
  await run(cmd, [...args, device]);
  return { fsType: fs, uuid };
}

/** The FAT volume id of a partition: 8 hex digits, shown by Linux as XXXX-XXXX. */
export function fatId(ids: IdSource, partitionId: string): { volumeId: string; uuid: string } {
  const hex = ids.bytes(`fat:${partitionId}`, 4).toString('hex').toUpperCase();
  return { volumeId: hex, uuid: `${hex.slice(0, 4)}-${hex.slice(4)}` };
}

/**
 * Give a filesystem copied from elsewhere (the tree cache) the UUID this build chose for the
 * partition. The copy was checked (e2fsck -f) when it was stored, which tune2fs -U needs on a
 * metadata_csum filesystem; it rewrites the metadata checksums, which are seeded by the UUID.
 */
export async function setFilesystemUuid(device: string, fs: FsType, partitionId: string, ids: IdSource = randomIds): Promise<MadeFilesystem> {
  const uuid = ids.uuid(`fs:${partitionId}`);
  switch (fs) {
    case 'ext2':
    case 'ext3':
    case 'ext4':
      await run('tune2fs', ['-U', uuid, device]);
      break;
    case 'xfs':
      await run('xfs_admin', ['-U', uuid, device]);
      break;
    default:
      throw new Error(`cannot set the UUID of a ${fs} filesystem copied from the cache`);
  }
  return { fsType: fs, uuid };
}

/**
 * Shrink a finished, unmounted filesystem to what it holds and return its new size in bytes, for
 * a partition that will never be written again (a verity root): whatever follows it need not be
 * hashed. ext2/3/4 only (resize2fs -M after the full check it requires); other types keep their
 * size and give undefined.
 */
export async function shrinkToContent(device: string, fs: FsType): Promise<number | undefined> {
  if (fs !== 'ext2' && fs !== 'ext3' && fs !== 'ext4') return undefined;
  await fsckExt(device);
  await run('resize2fs', ['-M', device]);
  return extSizeBytes(await output('dumpe2fs', ['-h', device]));
}

/** Size of an ext filesystem from `dumpe2fs -h`: block count × block size. */
export function extSizeBytes(dumpe2fsHeader: string): number {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s*$`, 'm').exec(dumpe2fsHeader);
    if (!m) throw new Error(`dumpe2fs printed no "${name}"`);
    return Number(m[1]);
  };
  return field('Block count') * field('Block size');
}

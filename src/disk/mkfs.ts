/**
 * Filesystems for every FsType. Kiln picks each filesystem's UUID itself (instead of asking blkid
 * afterwards, which needs udev-less probing) so fstab and grub can be rendered from known values.
 */
import { randomUUID } from 'node:crypto';
import type { FsType } from '../config/model.js';
import { run } from '../core/exec.js';
import { warn } from '../core/log.js';
import { chooseFat, fatVolumeId, formatFat } from './fat.js';
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

export async function makeFilesystem(device: string, fs: FsType, sizeBytes: number, partitionId: string, label?: string, opts: MkfsOptions = {}): Promise<MadeFilesystem> {
  const discard = opts.discard ?? true;
  if (isFat(fs)) {
    const choice = chooseFat(fs, sizeBytes, partitionId);
    if (choice.warning) warn(choice.warning);
    const id = fatVolumeId();
    await formatFat(device, choice, sizeBytes, id.volumeId, label);
    return { fsType: fs, uuid: id.uuid, fatBits: choice.bits };
  }
  const uuid = randomUUID();
  const lbl = label ? label.slice(0, 16) : undefined;
  switch (fs) {
    case 'ext2':
    case 'ext3':
    case 'ext4':
      // -E lazy_*: skip zeroing tables on a sparse file (the kernel does it on first mount anyway)
      await run(`mkfs.${fs}`, ['-F', '-q', '-U', uuid, ...(lbl ? ['-L', lbl] : []), '-E', `lazy_itable_init=1,lazy_journal_init=1${discard ? '' : ',nodiscard'}`, device]);
      break;
    case 'xfs':
      await run('mkfs.xfs', ['-f', '-q', ...(discard ? [] : ['-K']), '-m', `uuid=${uuid}`, ...(label ? ['-L', label.slice(0, 12)] : []), device]);
      break;
    case 'linux-swap':
      await run('mkswap', ['-U', uuid, ...(lbl ? ['-L', lbl] : []), device]);
      break;
    default:
      throw new Error(`unsupported filesystem type ${String(fs)}`);
  }
  return { fsType: fs, uuid };
}

import { KilnError } from '../../core/errors.js';
import { assertNoControl } from '../../core/safe-text.js';
import type { BuiltDisk, BuiltPartition } from '../types.js';

/**
 * /etc/fstab from the partitions the pipeline built: one line per mounted partition (and swap),
 * identified by PARTUUID (default), UUID or PARTLABEL as PartitionSettings ask, in mount order.
 */
export interface FstabOptions {
  /** EnableHidepid: mount /proc with hidepid=2 so users cannot see each other's processes. */
  hidepid?: boolean;
}

const FSTAB_TYPE: Record<string, string> = {
  fat32: 'vfat',
  fat16: 'vfat',
  vfat: 'vfat',
  ext2: 'ext2',
  ext3: 'ext3',
  ext4: 'ext4',
  xfs: 'xfs',
  'linux-swap': 'swap',
};

export function fstabSource(p: BuiltPartition): string {
  // a partition with device layers is mounted from what the booted system opens: /dev/mapper/<name>
  if (p.mapperName) return `/dev/mapper/${p.mapperName}`;
  const want = p.mountIdentifier;
  const value = want === 'uuid' ? p.fsuuid : want === 'partlabel' ? p.partlabel : p.partuuid;
  if (!value) {
    throw new KilnError(
      `partition '${p.id}': MountIdentifier '${want}' needs a ${want === 'partlabel' ? 'partition Name (GPT only)' : want} but the built partition has none`,
    );
  }
  // /dev/disk/by-partuuid names are lower case; a FAT volume id (XXXX-XXXX) is upper case as given
  return want === 'uuid' ? `UUID=${value}` : want === 'partlabel' ? `PARTLABEL=${value}` : `PARTUUID=${value.toLowerCase()}`;
}

/**
 * One fstab field, escaped the way fstab(5) and libmount read it back: space, tab, line feed and
 * backslash as octal escapes. Any other control character still in the result is refused: the
 * renderer throws rather than write a line it cannot represent (the validator rejects them first).
 */
export function fstabEscape(field: string, what = 'fstab field'): string {
  const escaped = field.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return assertNoControl(escaped, what);
}

function line(fields: (string | number)[], what: string): string {
  return fields.map((f) => fstabEscape(String(f), what)).join('\t');
}

/**
 * Options and fsck pass of a mounted partition. Verity: read-only, never fsck'd (a verified device
 * is read-only; a repair could not be written and would not be wanted). LUKS root: grown online to
 * its device at boot (x-systemd.growfs), so a partition the ISO installer enlarged is used whole.
 */
function layeredMount(p: BuiltPartition): { options: string; pass: number } {
  const pass = p.mountPoint === '/' ? 1 : 2;
  const given = (p.mountOptions || 'defaults').split(',').filter(Boolean);
  if (p.layers?.some((l) => l.kind === 'verity')) {
    const rest = given.filter((o) => o !== 'rw' && o !== 'ro' && o !== 'defaults');
    return { options: ['ro', ...rest].join(','), pass: 0 };
  }
  if (p.layers?.some((l) => l.kind === 'luks') && p.mountPoint === '/' && !given.includes('x-systemd.growfs')) {
    return { options: [...given, 'x-systemd.growfs'].join(','), pass };
  }
  return { options: given.join(','), pass };
}

/** Depth of a mount point, so parents are mounted before children ("/" first). */
function depth(mountPoint: string): number {
  return mountPoint === '/' ? 0 : mountPoint.split('/').filter(Boolean).length;
}

export function renderFstab(disk: BuiltDisk | undefined, opts: FstabOptions = {}): string {
  const lines: string[] = ['# /etc/fstab: written by kiln from the image config', '# <file system> <mount point> <type> <options> <dump> <pass>'];
  const parts = disk?.partitions ?? [];
  const mounted = parts
    .filter((p) => p.mountPoint && p.fsType !== 'linux-swap')
    .sort((a, b) => depth(a.mountPoint!) - depth(b.mountPoint!) || a.mountPoint!.localeCompare(b.mountPoint!));
  let readOnlyRoot = false;
  for (const p of mounted) {
    const type = FSTAB_TYPE[p.fsType];
    if (!type) throw new KilnError(`partition '${p.id}': unsupported FsType '${p.fsType}' for fstab`);
    const { options, pass } = layeredMount(p);
    if (p.mountPoint === '/' && p.layers?.some((l) => l.kind === 'verity')) readOnlyRoot = true;
    lines.push(line([fstabSource(p), p.mountPoint!, type, options, 0, pass], `partition '${p.id}'`));
  }
  // a read-only root still needs a writable /tmp (programs and PrivateTmp= services create files there)
  if (readOnlyRoot && !mounted.some((p) => p.mountPoint === '/tmp')) lines.push(['tmpfs', '/tmp', 'tmpfs', 'mode=1777,nosuid,nodev', 0, 0].join('\t'));
  for (const p of parts.filter((x) => x.fsType === 'linux-swap')) {
    lines.push(line([fstabSource(p), 'none', 'swap', p.mountOptions || 'sw', 0, 0], `partition '${p.id}'`));
  }
  if (opts.hidepid) lines.push(['proc', '/proc', 'proc', 'rw,nosuid,nodev,noexec,relatime,hidepid=2', 0, 0].join('\t'));
  return lines.join('\n') + '\n';
}

/** The host programs a build plan needs (checked, and installed where possible, before work starts). */
import { isFat } from '../disk/types.js';
import { mkfsTool } from '../disk/mkfs.js';
import type { BuildPlan } from './plan.js';
import { usesUki } from '../boot/chain.js';

const ARTIFACT_TOOLS: Record<string, string[]> = {
  vhd: ['qemu-img'],
  vhdx: ['qemu-img'],
  qcow2: ['qemu-img'],
  vmdk: ['qemu-img'],
  ova: ['qemu-img', 'tar'],
  squashfs: ['mksquashfs'],
  erofs: ['mkfs.erofs'],
  initrd: ['cpio'],
  rdiff: ['rdiff'],
};
const COMPRESSION_TOOLS: Record<string, string[]> = { gz: ['gzip'], xz: ['xz'], zst: ['zstd'], 'tar.gz': ['tar', 'gzip'], 'tar.xz': ['tar', 'xz'], 'tar.zst': ['tar', 'zstd'] };

export function hostToolsFor(plan: BuildPlan): string[] {
  const tools = new Set<string>(['bwrap', 'setpriv', 'mount', 'umount', ...plan.backend.hostTools()]);
  if (!plan.options.noCache) for (const t of ['flock', 'tar', 'xfs_io', 'fallocate', 'tune2fs', 'e2fsck']) tools.add(t);
  if (plan.reproducible) for (const t of ['debugfs', 'dumpe2fs', 'fallocate', 'xfs_io']) tools.add(t);
  if (plan.layout) {
    for (const t of ['losetup', 'partx', 'sfdisk', 'fsfreeze', 'fstrim']) tools.add(t);
    for (const p of plan.layout.partitions) {
      tools.add(mkfsTool(p.partition.FsType));
      if (isFat(p.partition.FsType)) tools.add('mcopy');
    }
  }
  const kinds = new Set([...plan.stacks.layers.values()].flat().map((l) => l.kind));
  // LUKS: the header (cryptsetup) and the payload's data extents (xfs_io seek)
  if (kinds.size) tools.add('fstrim');
  if (kinds.has('luks')) for (const t of ['cryptsetup', 'xfs_io']) tools.add(t);
  // verity: the hash tree, over the root shrunk to its content (e2fsck, resize2fs, dumpe2fs)
  if (kinds.has('verity')) for (const t of ['veritysetup', 'e2fsck', 'resize2fs', 'dumpe2fs']) tools.add(t);
  if (plan.boot === 'efi' && usesUki(plan.chain.loader)) tools.add('objcopy');
  if (plan.chain.signing) for (const t of ['sbsign', 'sbverify', 'openssl']) tools.add(t);
  for (const a of plan.artifacts) {
    for (const t of ARTIFACT_TOOLS[a.Type?.toLowerCase() ?? ''] ?? []) tools.add(t);
    for (const t of COMPRESSION_TOOLS[a.Compression?.toLowerCase() ?? ''] ?? []) tools.add(t);
  }
  return [...tools];
}

export function hostFilesFor(plan: BuildPlan): string[] {
  return plan.backend.hostFiles();
}

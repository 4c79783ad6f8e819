/**
 * Partition artifacts (Disks[].Partitions[].Artifacts): roast() first extracts the partition's byte
 * range to its own sparse file; these converters take it from there.
 *  - ext4:  that file itself (a filesystem image `mount -o loop` and e2fsck accept).
 *  - rdiff: librsync delta against RdiffBaseImage (`rdiff signature` + `rdiff delta`); apply with
 *           `rdiff patch BASE DELTA NEW`.
 *  - diff:  against OverlayBaseImage, as a qcow2 whose backing file is the base image and which holds
 *           only the clusters that differ from it. Kiln gets it from qemu-img alone: an empty qcow2
 *           backed by the new partition is safely rebased onto the base, which copies exactly the
 *           differing clusters. Read it with any qemu tool; `qemu-img convert -O raw` flattens it.
 */
import { dirname, isAbsolute, join, relative } from 'node:path';
import { run } from '../../core/exec.js';
import type { Converter, ConvertJob } from '../types.js';
import { copySparse } from '../sparse.js';
import { KilnError, ExitCode } from '../../core/errors.js';

export const ext4: Converter = {
  name: 'ext4',
  tools: ['xfs_io'],
  extension: 'ext4',
  accepts: ['partition'],
  description: "a partition's ext2/3/4 filesystem as its own image (sparse extract)",
  convert: (job) => copySparse(job.source, job.output),
};

function requireBase(job: ConvertJob, setting: string): string {
  if (!job.baseImage) {
    throw new KilnError(`artifact "${job.name}": a ${setting === 'RdiffBaseImage' ? 'rdiff' : 'diff'} artifact needs a base image`, ExitCode.InvalidConfig, [
      `set PartitionSettings[].${setting} for this partition (or pass --base-image on the command line)`,
    ]);
  }
  return job.baseImage;
}

export const rdiff: Converter = {
  name: 'rdiff',
  tools: ['rdiff'],
  extension: 'rdiff',
  accepts: ['partition'],
  description: 'librsync delta against RdiffBaseImage (rdiff signature + rdiff delta)',
  async convert(job) {
    const base = requireBase(job, 'RdiffBaseImage');
    const signature = join(job.workDir, 'base.sig');
    const hint = 'rdiff comes with the Debian package rdiff';
    await run('rdiff', ['signature', base, signature], { hint });
    await run('rdiff', ['delta', signature, job.source, job.output], { hint });
  },
};

/** How the qcow2 records its base: relative to the artifact's directory when that is possible. */
export function backingReference(base: string, outputPath: string): string {
  const rel = relative(dirname(outputPath), base);
  return isAbsolute(rel) ? base : rel;
}

export const diff: Converter = {
  name: 'diff',
  tools: ['qemu-img'],
  extension: 'diff.qcow2',
  accepts: ['partition'],
  description: 'overlay diff against OverlayBaseImage: qcow2 backed by the base, holding only changed clusters (qemu-img)',
  async convert(job) {
    const base = requireBase(job, 'OverlayBaseImage');
    const hint = 'qemu-img comes with the Debian package qemu-utils';
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', job.source, '-F', 'raw', job.output], { hint });
    await run('qemu-img', ['rebase', '-q', '-f', 'qcow2', '-b', backingReference(base, job.output), '-F', 'raw', job.output], { hint });
  },
};

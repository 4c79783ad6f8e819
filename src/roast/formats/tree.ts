/**
 * Root-filesystem formats, made from a directory tree.
 *  - tar.gz / tar.xz / tar.zst: GNU tar (owners as numbers, modes, xattrs, ACLs, hard links, sparse
 *    files) into a multi-threaded compressor via --use-compress-program: one process pair, no temp file,
 *    and tar itself reports the compressor's failure.
 *  - squashfs: mksquashfs (zstd, xattrs kept), the read-only format the kernel mounts directly.
 *  - erofs: mkfs.erofs (lz4hc), the newer read-only format.
 */
import { run } from '../../core/exec.js';
import type { Converter } from '../types.js';
import { type Compression, compressorArgv, compressorHint } from '../compress.js';

function tarball(kind: Compression): Converter {
  return {
    name: `tar.${kind}`,
    extension: `tar.${kind}`,
    tools: ['tar', compressorArgv(kind)[0]!],
    accepts: ['tree'],
    description: `root filesystem tarball (GNU tar --xattrs --acls --numeric-owner --sparse | ${compressorArgv(kind)[0]})`,
    async convert(job) {
      const r = job.reproducible;
      await run(
        'tar',
        [
          '--create', '--file', job.output,
          `--use-compress-program=${compressorArgv(kind).filter((a) => a !== '-c').join(' ')}`,
          '--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', '--sparse',
          // reproducible: member order by name, times clamped, no access or change times
          ...(r ? ['--sort=name', `--mtime=@${r.sourceDateEpoch}`, '--clamp-mtime', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime'] : []),
          '--one-file-system', '-C', job.source, '.',
        ],
        { hint: compressorHint(kind) },
      );
    },
  };
}

export const tarGz = tarball('gz');
export const tarXz = tarball('xz');
export const tarZst = tarball('zst');

export const squashfs: Converter = {
  name: 'squashfs',
  tools: ['mksquashfs'],
  extension: 'squashfs',
  accepts: ['tree'],
  description: 'squashfs of the root filesystem (mksquashfs -comp zstd, xattrs kept)',
  async convert(job) {
    await run('mksquashfs', [job.source, job.output, '-noappend', '-comp', 'zstd', '-xattrs', '-no-progress', '-quiet'], {
      hint: 'mksquashfs comes with the Debian package squashfs-tools',
    });
  },
};

export const erofs: Converter = {
  name: 'erofs',
  tools: ['mkfs.erofs'],
  extension: 'erofs',
  accepts: ['tree'],
  description: 'EROFS image of the root filesystem (mkfs.erofs -zlz4hc)',
  async convert(job) {
    const r = job.reproducible;
    const fixed = r ? [`-T${r.sourceDateEpoch}`, `-U${r.ids.uuid(`erofs:${job.name}`)}`] : [];
    await run('mkfs.erofs', ['-zlz4hc', '--quiet', ...fixed, job.output, job.source], {
      hint: 'mkfs.erofs comes with the Debian package erofs-utils',
    });
  },
};

/**
 * initrd: the tree as a newc cpio archive, compressed (zst by default; gz or xz on request), that the
 * kernel unpacks into its rootfs and runs /init from. Made bootable on purpose:
 *  - /init must exist: the kernel runs nothing else from an initramfs. A tree without one but with
 *    /sbin/init gets an /init -> /sbin/init symlink; a tree with neither is refused with a clear error.
 *  - /dev/console and /dev/null are added when the tree lacks them: the kernel opens /dev/console
 *    for init's stdio before any devtmpfs is mounted.
 * The extras are appended to the same archive (cpio -A), so it stays one archive any cpio lists.
 * Entries are sorted and written with --reproducible, so the same tree gives the same bytes.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../core/exec.js';
import { ExitCode, KilnError } from '../../core/errors.js';
import type { Converter, ConvertJob } from '../types.js';
import { type Compression, requireCompression } from '../compress.js';

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Compressors the kernel's initramfs unpacker can read (xz needs CRC32 checks: no CRC64 in-kernel). */
export function initrdCompressorArgv(kind: Compression): string[] {
  switch (kind) {
    case 'gz':
      return ['pigz', '-6', '-c'];
    case 'xz':
      return ['xz', '--check=crc32', '--lzma2=dict=1MiB', '-T0', '-c'];
    case 'zst':
      return ['zstd', '-9', '-T0', '-q', '-c'];
  }
}

/** What must be added to `tree` for the kernel to boot it; throws if there is no init at all. */
export async function initrdExtras(tree: string): Promise<{ initLink?: string; devNodes: boolean }> {
  let initLink: string | undefined;
  if (!(await exists(join(tree, 'init')))) {
    for (const candidate of ['sbin/init', 'usr/sbin/init', 'lib/systemd/systemd', 'usr/lib/systemd/systemd']) {
      if (await exists(join(tree, candidate))) {
        initLink = `/${candidate}`;
        break;
      }
    }
    if (!initLink) {
      throw new KilnError(`initrd: ${tree} has no /init (nor /sbin/init)`, ExitCode.InvalidConfig, [
        'the kernel runs /init from an initramfs: add an executable /init to the tree (a script or a symlink to your init)',
      ]);
    }
  }
  const devNodes = !(await exists(join(tree, 'dev', 'console')));
  return { ...(initLink ? { initLink } : {}), devNodes };
}

const CPIO_HINT = 'cpio comes with the Debian package cpio';

async function writeInitrd(job: ConvertJob): Promise<void> {
  const kind = requireCompression(job.compression ?? 'zst', `initrd "${job.name}"`);
  const extras = await initrdExtras(job.source);
  const archive = join(job.workDir, 'initrd.cpio');
  const pack = (dir: string, append: boolean) =>
    run(
      'bash',
      [
        '-o', 'pipefail', '-c',
        'cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null --create --format=newc --reproducible --quiet ${3:+--append} -O "$2"',
        'bash', dir, archive, append ? 'append' : '',
      ],
      { hint: CPIO_HINT },
    );
  await pack(job.source, false);
  if (extras.initLink || extras.devNodes) {
    const stage = join(job.workDir, 'initrd-extras');
    await mkdir(stage, { recursive: true });
    if (extras.initLink) await run('ln', ['-s', extras.initLink, join(stage, 'init')]);
    if (extras.devNodes) {
      await mkdir(join(stage, 'dev'), { recursive: true, mode: 0o755 });
      await run('mknod', ['-m', '600', join(stage, 'dev', 'console'), 'c', '5', '1']);
      await run('mknod', ['-m', '666', join(stage, 'dev', 'null'), 'c', '1', '3']);
    }
    await pack(stage, true);
  }
  const [cmd, ...args] = initrdCompressorArgv(kind);
  await run('sh', ['-c', 'f="$1"; o="$2"; shift 2; exec "$@" -- "$f" > "$o"', 'sh', archive, job.output, cmd!, ...args]);
}

export const initrd: Converter = {
  name: 'initrd',
  tools: ['cpio', 'find', 'sort', 'mknod'],
  extension: 'initrd.img',
  accepts: ['tree'],
  description: 'initramfs: newc cpio of the tree (+ /init link and /dev/console if missing), compressed zst|gz|xz',
  convert: writeInitrd,
};

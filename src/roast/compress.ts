/**
 * Stream compressors, all multi-threaded: pigz (gzip format, parallel), xz -T0, zstd -T0.
 * They read sparse input through the kernel, which hands holes back as zero pages without disk I/O.
 */
import { run } from '../core/exec.js';
import { KilnError, ExitCode } from '../core/errors.js';

export const COMPRESSIONS = ['gz', 'xz', 'zst'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export function isCompression(value: string): value is Compression {
  return (COMPRESSIONS as readonly string[]).includes(value);
}

/** The compressor command line that writes to stdout (also used as tar's --use-compress-program). */
export function compressorArgv(kind: Compression): string[] {
  switch (kind) {
    case 'gz':
      // -n: no file name or time in the header (the same input always gives the same bytes)
      return ['pigz', '-6', '-n', '-c'];
    case 'xz':
      return ['xz', '-6', '-T0', '-c'];
    case 'zst':
      return ['zstd', '-3', '-T0', '-q', '-c'];
  }
}

const PACKAGES: Record<Compression, string> = { gz: 'pigz', xz: 'xz-utils', zst: 'zstd' };
export function compressorHint(kind: Compression): string {
  return `the ${kind} compressor comes with the Debian package ${PACKAGES[kind]}`;
}

/** Compress file `src` into `dst`. */
export async function compressFile(kind: Compression, src: string, dst: string): Promise<void> {
  const [cmd, ...args] = compressorArgv(kind);
  // sh only redirects: the compressor is exec'd, so its exit status is the command's.
  await run('sh', ['-c', 'f="$1"; o="$2"; shift 2; exec "$@" -- "$f" > "$o"', 'sh', src, dst, cmd!, ...args], {
    hint: compressorHint(kind),
  });
}

export function requireCompression(value: string, what: string): Compression {
  if (!isCompression(value)) {
    throw new KilnError(`${what}: unknown Compression "${value}"`, ExitCode.InvalidConfig, [
      `use one of: ${COMPRESSIONS.join(', ')}, or tar.gz / tar.xz / tar.zst for a root filesystem tarball`,
    ]);
  }
  return value;
}

/**
 * The validator's limits: how much it reads, how deep a document may nest, and what disk geometry
 * the build supports. Each is documented in docs/config.md ("Limits"); exceeding one is a finding
 * (exit 1), never a crash.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Largest config file read (JSON or YAML). Upstream's samples are under 8 KiB. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Largest package-list file read. Upstream's largest list is under 16 KiB. */
export const MAX_PACKAGE_LIST_BYTES = 1024 * 1024;
/**
 * Deepest nesting of arrays and objects (JSON) or of collections (YAML) accepted. The format
 * itself nests 6 levels deep; the rest of the budget is for values under "_comment" keys.
 * Checked by a non-recursive scan of the text before any parser runs.
 */
export const MAX_NESTING_DEPTH = 64;
/** YAML aliases are expanded when read; more expanded nodes than this is an alias bomb. */
export const MAX_YAML_NODES = 200_000;

/** Partition table entries the build writes: sfdisk's default GPT holds 128; MBR has 4 primaries (no extended partitions). */
export const MAX_GPT_PARTITIONS = 128;
export const MAX_MBR_PARTITIONS = 4;
/**
 * Largest disk (MaxSize, MiB) the build makes. The raw disk is a sparse file under out/: 16 TiB is
 * the largest file ext4 holds with 4 KiB blocks. MBR addresses 2^32 sectors of 512 bytes: 2 TiB.
 */
export const MAX_DISK_MIB = 16 * 1024 * 1024;
export const MAX_MBR_DISK_MIB = 2 * 1024 * 1024;

export type BoundedRead = { ok: true; text: string } | { ok: false; reason: 'missing' | 'not-a-file' | 'too-large' | 'unreadable'; message: string };

/**
 * Read a file the validator needs, safely: only a regular file (not a directory, device such as
 * /dev/zero, FIFO or socket), at most `maxBytes`. The file is opened non-blocking (a FIFO would
 * otherwise block the open) and checked with fstat on the open descriptor, so a path swapped
 * between check and read cannot slip through; reading stops after `maxBytes` + 1 bytes.
 */
export function readBoundedFile(path: string, maxBytes: number): BoundedRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, reason: 'missing', message: 'does not exist' };
    return { ok: false, reason: 'unreadable', message: `cannot be read (${code ?? (e as Error).message})` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a directory' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'not a regular file';
      return { ok: false, reason: 'not-a-file', message: `is ${kind}, not a regular file` };
    }
    if (st.size > maxBytes) return { ok: false, reason: 'too-large', message: `is ${st.size} bytes; the limit is ${maxBytes} bytes` };
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > maxBytes) return { ok: false, reason: 'too-large', message: `grew beyond the limit of ${maxBytes} bytes while being read` };
      if (length === buf.length) break;
    }
    return { ok: true, text: buf.subarray(0, length).toString('utf8') };
  } catch (e) {
    return { ok: false, reason: 'unreadable', message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  } finally {
    closeSync(fd);
  }
}

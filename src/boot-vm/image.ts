/** Facts about an image file qemu is about to open: its format and its first sectors. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { output, run } from '../core/exec.js';
import { formatFromExtension } from './qemu-args.js';

export interface ImageInfo {
  format: string;
  virtualSize: number;
}

/** qemu-img's view of the file; the extension decides where qemu-img would guess "raw" for a fixed VHD. */
export async function imageInfo(path: string): Promise<ImageInfo> {
  const fromExt = formatFromExtension(path);
  const info = JSON.parse(await output('qemu-img', ['info', '--output=json', ...(fromExt && fromExt !== 'raw' ? ['-f', fromExt] : []), path])) as { format: string; 'virtual-size': number };
  return { format: info.format, virtualSize: info['virtual-size'] };
}

/** The first `bytes` of the disk the image holds (whatever its format), read without writing to it. */
export async function readHead(path: string, format: string, bytes = 1024 * 1024): Promise<Buffer> {
  if (format === 'raw') {
    const fh = await (await import('node:fs/promises')).open(path, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'kiln-head-'));
  try {
    const out = join(dir, 'head.raw');
    await run('qemu-img', ['dd', '-f', format, '-O', 'raw', `bs=${bytes}`, 'count=1', `if=${path}`, `of=${out}`]);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A qcow2 overlay whose backing file is `base` (opened read-only by qemu): the guest writes only to the overlay. */
export async function createOverlay(base: string, format: string, overlay: string): Promise<void> {
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', format, '-b', base, overlay]);
}

/**
 * Files placed in the EFI system partition's staging directory (copied into the FAT filesystem
 * when the tree is released). The image can write to the staging directory too (it is mounted at
 * /boot/efi while packages install), so it is treated as a root of its own: every path is resolved
 * inside it by src/system/paths.ts.
 */
import { posix } from 'node:path';
import { KilnError } from '../core/errors.js';
import { listDir, readBytesInRoot, removeAt, withDirInRoot, writeInRoot } from '../system/paths.js';
import type { BootContext } from './types.js';

/** Put an image file on the ESP under `espPath` (see writeOnEsp). */
export async function placeOnEsp(ctx: BootContext, imagePath: string, espPath: string): Promise<void> {
  const data = await readBytesInRoot(ctx.root, imagePath);
  if (!data) {
    throw new KilnError(`SystemConfig "${ctx.sc.Name}": ${imagePath} is missing from the image, so the ESP cannot be filled`, undefined, [
      'the package that ships it was not installed; check the package lists',
    ]);
  }
  await writeOnEsp(ctx, espPath, data);
}

/**
 * Write `data` at `espPath` on the ESP. FAT is case-insensitive while the staging directory is
 * not: a package may already have put the file there under another case, so any case variant is
 * replaced, never doubled.
 */
export async function writeOnEsp(ctx: BootContext, espPath: string, data: Uint8Array | string): Promise<void> {
  if (!ctx.espStaging) throw new KilnError(`SystemConfig "${ctx.sc.Name}": BootType efi needs a partition with the "esp" flag`);
  const dest = posix.join('/', espPath);
  const want = posix.basename(dest).toLowerCase();
  await withDirInRoot(ctx.espStaging, posix.dirname(dest), {}, async (dir) => {
    for (const e of await listDir(dir)) if (e.name.toLowerCase() === want) await removeAt(dir, e.name);
  });
  await writeInRoot(ctx.espStaging, dest, data);
}

/** A file from the ESP staging directory (e.g. systemd-boot, to be signed). */
export async function readFromEsp(ctx: BootContext, espPath: string): Promise<Buffer> {
  const data = ctx.espStaging ? await readBytesInRoot(ctx.espStaging, posix.join('/', espPath)) : undefined;
  if (!data) throw new KilnError(`${espPath} is not on the ESP`);
  return data;
}

/**
 * The EFI system partition image of the ISO: a small FAT file holding \EFI\BOOT\BOOTX64.EFI.
 * Made with mkfs.vfat + mtools into a file (FAT cannot be mounted on the build hosts).
 */
import { statSync } from 'node:fs';
import { run } from '../core/exec.js';

/** Size in MiB: the binary plus room for FAT metadata, at least 4 MiB (FAT12 is fine for UEFI). */
export function efiImageMiB(efiBinaryBytes: number): number {
  return Math.max(4, Math.ceil(efiBinaryBytes / (1024 * 1024)) + 2);
}

export async function makeEfiImage(efiBinary: string, output: string): Promise<void> {
  const mib = efiImageMiB(statSync(efiBinary).size);
  await run('truncate', ['-s', `${mib}M`, output]);
  await run('mkfs.vfat', ['-n', 'KILN_EFI', output], { hint: 'mkfs.vfat comes with the Debian package dosfstools' });
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  await run('mmd', ['-i', output, '::/EFI', '::/EFI/BOOT'], { env, hint: 'mmd and mcopy come with the Debian package mtools' });
  await run('mcopy', ['-i', output, efiBinary, '::/EFI/BOOT/BOOTX64.EFI'], { env });
}

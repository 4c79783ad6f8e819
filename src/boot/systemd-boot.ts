/**
 * systemd-boot as the boot manager: its EFI binary from the image at the removable path
 * EFI/BOOT/BOOTX64.EFI, loader.conf, and the UKI in EFI/Linux/, which systemd-boot finds by itself
 * (Boot Loader Specification type #2 entries): no entry files, nothing that names a partition.
 */
import type { BootContext } from './types.js';
import { placeOnEsp, writeOnEsp } from './esp.js';

export const SYSTEMD_BOOT_ESP_PATH = 'EFI/BOOT/BOOTX64.EFI';

/** loader.conf: boot the newest entry at once; the menu appears when a key is held. */
export function loaderConf(): string {
  return ['# Written by Kiln', 'timeout 0', 'editor no', 'console-mode keep', ''].join('\n');
}

/** Where the UKI goes for systemd-boot. */
export function ukiEspPath(distro: string, kernelVersion: string): string {
  return `EFI/Linux/${distro}-${kernelVersion}.efi`;
}

export async function installSystemdBoot(ctx: BootContext, systemdBootImagePath: string): Promise<void> {
  await placeOnEsp(ctx, systemdBootImagePath, SYSTEMD_BOOT_ESP_PATH);
  await writeOnEsp(ctx, 'loader/loader.conf', loaderConf());
}

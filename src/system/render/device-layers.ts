/**
 * What the installed system needs to open the root's device layers, rendered (pure): crypttab,
 * the dracut settings, the tmpfs-overlay directories of a read-only root. Which initramfs
 * generator the image has comes from the distribution's catalog entry.
 */
import type { LayerBoot } from '../../disk/layers/types.js';

/** Kiln's keyscript: asks on every console (resources/trusted-boot/askpass-consoles). */
export const ASKPASS_PATH = '/usr/lib/kiln/askpass-consoles';

/**
 * /etc/crypttab. initramfs-tools: `initramfs` makes cryptroot copy the line into the initramfs even
 * though the build host (no device-mapper) cannot show it the stack under /, and the keyscript asks
 * on every console. dracut: systemd-cryptsetup reads rd.luks.name= in the initramfs and this file
 * in the system (where the root is already open).
 */
export function renderCrypttab(layers: readonly LayerBoot[], generator: 'initramfs-tools' | 'dracut'): string {
  const lines = ['# <target name> <source device> <key file> <options>   (written by Kiln)'];
  for (const l of layers) {
    if (l.kind !== 'luks') continue;
    const options = generator === 'initramfs-tools' ? `luks,discard,initramfs,keyscript=${ASKPASS_PATH}` : 'luks,discard';
    lines.push([l.name, `UUID=${l.uuid}`, 'none', options].join(' '));
  }
  return lines.join('\n') + '\n';
}

/** /etc/dracut.conf.d/ drop-in adding the modules the layers need. */
export function renderDracutConf(modules: readonly string[]): string {
  return [`# Written by Kiln: the root's device layers`, `add_dracutmodules+=" ${modules.join(' ')} "`, ''].join('\n');
}

/**
 * The directories a read-only root gets tmpfs overlays on: the config's TmpfsOverlays, else /var;
 * a directory that is its own partition (writable state of its own) is not overlaid.
 */
export function overlayDirs(configured: readonly string[] | undefined, mountPoints: readonly string[]): string[] {
  const dirs = configured ?? ['/var'];
  return dirs.map((d) => d.replace(/\/+$/, '') || '/').filter((d) => d !== '/' && !mountPoints.includes(d));
}

/** systemd unit text with the overlay directories filled in. */
export function renderOverlayUnit(template: string, dirs: readonly string[]): string {
  return template.replace('@DIRS@', dirs.join(' '));
}

/**
 * The root's device layers, seen from inside the image (the disk side is src/disk/layers): what
 * the initramfs needs to open them at boot and what the running system needs around them.
 *
 * - LUKS: /etc/crypttab; initramfs-tools gets cryptroot forced in (the build host's missing
 *   device-mapper hides the stack from its hook) and Kiln's keyscript that asks on every console;
 *   dracut gets its crypt module.
 * - verity: initramfs-tools gets Kiln's hook and local-top script (veritysetup from systemd's
 *   kernel options); dracut gets systemd-veritysetup; the system gets tmpfs overlays (Verity.TmpfsOverlays,
 *   default /var) and a tmpfs /tmp (fstab), because its root is read-only.
 *
 * Runs before the initramfs is generated (the pipeline's order), so the hooks are in it.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LayerBoot } from '../../disk/layers/types.js';
import { lstatAt, removeAt, symlinkAt, withDirInRoot, writeInRoot } from '../paths.js';
import { ASKPASS_PATH, overlayDirs, renderCrypttab, renderDracutConf, renderOverlayUnit } from '../render/device-layers.js';
import type { SystemContext, SystemStep } from '../types.js';

export const TRUSTED_BOOT_RESOURCES = resolve(import.meta.dirname, '../../../resources/trusted-boot');
const resource = (name: string) => readFileSync(join(TRUSTED_BOOT_RESOURCES, name), 'utf8');

const OVERLAY_UNIT = 'kiln-tmpfs-overlays.service';

function layersOf(ctx: SystemContext): LayerBoot[] {
  return (ctx.disk?.partitions ?? []).flatMap((p) => p.layers ?? []);
}

export const deviceLayersStep: SystemStep = {
  name: 'device layers (crypttab, initramfs, overlays)',
  applies: (ctx) => layersOf(ctx).length > 0,
  async run(ctx) {
    const layers = layersOf(ctx);
    const generator = ctx.distro.initramfs.generator;
    const luks = layers.some((l) => l.kind === 'luks');
    const verity = layers.some((l) => l.kind === 'verity');

    if (luks) await writeInRoot(ctx.root, '/etc/crypttab', renderCrypttab(layers, generator), { mode: 0o644 });
    if (generator === 'initramfs-tools') {
      if (luks) {
        await writeInRoot(ctx.root, ASKPASS_PATH, resource('askpass-consoles'), { mode: 0o755 });
        // cryptroot decides from the device stack under / whether it is needed; the host cannot show it
        await writeInRoot(ctx.root, '/etc/cryptsetup-initramfs/conf-hook', 'CRYPTSETUP=y\n', { mode: 0o644 });
      }
      if (verity) {
        await writeInRoot(ctx.root, '/etc/initramfs-tools/hooks/kiln-verity', resource('initramfs-tools/hook-verity'), { mode: 0o755 });
        await writeInRoot(ctx.root, '/etc/initramfs-tools/scripts/local-top/kiln-verity', resource('initramfs-tools/local-top-verity'), { mode: 0o755 });
      }
    } else {
      const modules = [...(luks ? ctx.distro.layers.luks.dracutModules ?? [] : []), ...(verity ? ctx.distro.layers.verity.dracutModules ?? [] : [])];
      if (modules.length) await writeInRoot(ctx.root, '/etc/dracut.conf.d/90-kiln-device-layers.conf', renderDracutConf(modules), { mode: 0o644 });
    }

    if (verity) {
      const mountPoints = (ctx.disk?.partitions ?? []).flatMap((p) => (p.mountPoint ? [p.mountPoint] : []));
      const dirs = overlayDirs(ctx.sc.Verity?.TmpfsOverlays, mountPoints);
      if (dirs.length) {
        await writeInRoot(ctx.root, '/usr/lib/kiln/tmpfs-overlays', resource('tmpfs-overlays'), { mode: 0o755 });
        await writeInRoot(ctx.root, `/usr/lib/systemd/system/${OVERLAY_UNIT}`, renderOverlayUnit(resource(OVERLAY_UNIT), dirs), { mode: 0o644 });
        // enabled the way `systemctl enable` would (WantedBy=local-fs.target), without running systemctl
        await withDirInRoot(ctx.root, '/etc/systemd/system/local-fs.target.wants', {}, async (dir) => {
          if (await lstatAt(dir, OVERLAY_UNIT)) await removeAt(dir, OVERLAY_UNIT);
          await symlinkAt(dir, OVERLAY_UNIT, `/usr/lib/systemd/system/${OVERLAY_UNIT}`);
        });
      }
    }
  },
};

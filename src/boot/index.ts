/**
 * The boot-loader step, in two moments around the sealing of the device layers:
 *
 *   installBootloader  while the image is mounted: grub (EFI or BIOS) and its grub.cfg; or, for a
 *                      UKI, systemd-boot on the ESP (collectBootFiles then copies the UKI's parts
 *                      out of the image, after the FinalizeImageScripts, before the unmount);
 *   finishBootloader   after the layers are sealed: the UKI assembled with the final command line
 *                      (which may carry the verity root hash), signed with the user's key for
 *                      Secure Boot, and put where the firmware (or systemd-boot) finds it.
 *
 * Which boot chain an image gets is decided once, in chain.ts. Files of the image and of the ESP
 * staging directory are read and written through src/system/paths.ts (links stay inside).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KilnError } from '../core/errors.js';
import { info } from '../core/log.js';
import { kernelCommandLine } from '../system/index.js';
import { usesUki, type SigningKeys } from './chain.js';
import { readFromEsp, writeOnEsp } from './esp.js';
import { installGrub } from './grub.js';
import { signEfiBinary, withSigningKey } from './sign.js';
import { installSystemdBoot, SYSTEMD_BOOT_ESP_PATH, ukiEspPath } from './systemd-boot.js';
import { BASE_CMDLINE, type BootContext } from './types.js';
import { assembleUki, gatherUkiParts, type UkiParts } from './uki.js';

export { BASE_CMDLINE, type BootContext } from './types.js';
export { bootChain, bootLoader, usesUki, type BootChain } from './chain.js';

/** What installBootloader leaves for collectBootFiles and finishBootloader. */
export interface PendingBoot {
  /** A UKI is to be made: its parts are collected just before the image is unmounted. */
  ukiPending?: boolean;
  uki?: UkiParts;
}

export async function installBootloader(ctx: BootContext): Promise<PendingBoot> {
  if (ctx.boot === 'none') return {};
  const kernels = await ctx.backend.kernels(ctx.root);
  if (!kernels.length) {
    throw new KilnError(`SystemConfig "${ctx.sc.Name}": no kernel was installed, so the image cannot boot`, undefined, [
      `set KernelOptions.default to a kernel package ("${ctx.backend.decl.rules.defaultKernel}" on ${ctx.backend.decl.prettyName})`,
    ]);
  }
  if (!(ctx.boot === 'efi' && usesUki(ctx.chain.loader))) {
    await installGrub(ctx, kernels);
    return {};
  }
  const decl = ctx.backend.decl;
  const sd = decl.systemdEfi;
  if (!sd) throw new KilnError(`SystemConfig "${ctx.sc.Name}": ${decl.prettyName} has no systemd EFI stub in the catalog, so BootLoader "${ctx.chain.loader}" cannot be built`);
  if (ctx.chain.loader === 'systemd-boot') {
    await installSystemdBoot(ctx, sd.systemdBoot);
    info('boot: systemd-boot at EFI/BOOT/BOOTX64.EFI');
  }
  return { ukiPending: true };
}

/**
 * The UKI's parts, copied out of the image as the last thing before it is unmounted (after the
 * FinalizeImageScripts, which may still change the kernel or the initramfs).
 */
export async function collectBootFiles(ctx: BootContext, pending: PendingBoot): Promise<PendingBoot> {
  if (!pending.ukiPending) return pending;
  const decl = ctx.backend.decl;
  const kernels = await ctx.backend.kernels(ctx.root);
  if (!kernels.length) throw new KilnError(`SystemConfig "${ctx.sc.Name}": the kernel is gone from /boot (removed by a FinalizeImageScripts script?)`);
  if (kernels.length > 1) info(`boot: ${kernels.length} kernels installed; the UKI carries the newest, ${kernels[0]}`);
  const uki = await gatherUkiParts({ root: ctx.root, dir: join(ctx.workDir, 'uki'), kernelVersion: kernels[0]!, initrdName: decl.initramfs.fileName(kernels[0]!), stub: decl.systemdEfi!.stub });
  return { uki };
}

/** The UKI's command line: root, read-only, consoles, the layers' options, then the config's settings. */
export function ukiCommandLine(ctx: BootContext): string {
  return kernelCommandLine(ctx.sc, { root: ctx.rootDevice, base: ['ro', ...BASE_CMDLINE, ...ctx.layerArgs()], ...(ctx.bootPartuuid ? { bootPartuuid: ctx.bootPartuuid } : {}) });
}

export async function finishBootloader(ctx: BootContext, pending: PendingBoot): Promise<void> {
  if (!ctx.chain.signing) return place(ctx, pending, undefined);
  await withSigningKey(ctx.scope, ctx.chain.signing, (keys) => place(ctx, pending, keys));
}

async function place(ctx: BootContext, pending: PendingBoot, signing: SigningKeys | undefined): Promise<void> {
  if (pending.uki) {
    const parts = pending.uki;
    const out = join(parts.dir, 'uki.efi');
    const cmdline = ukiCommandLine(ctx);
    await assembleUki(parts, cmdline, out);
    if (signing) await signEfiBinary(out, signing);
    const espPath = ctx.chain.loader === 'uki' ? 'EFI/BOOT/BOOTX64.EFI' : ukiEspPath(ctx.backend.decl.name, parts.kernelVersion);
    await writeOnEsp(ctx, espPath, await readFile(out));
    info(`boot: unified kernel image (${parts.kernelVersion}${signing ? ', signed' : ''}) at ${espPath}; command line: ${cmdline}`);
  }
  if (signing && ctx.chain.loader === 'systemd-boot') {
    // signed on a copy in the build's directory, then put back
    const copy = join(ctx.workDir, 'uki', 'systemd-bootx64.efi');
    await writeFile(copy, await readFromEsp(ctx, SYSTEMD_BOOT_ESP_PATH));
    await signEfiBinary(copy, signing);
    await writeOnEsp(ctx, SYSTEMD_BOOT_ESP_PATH, await readFile(copy));
  }
}

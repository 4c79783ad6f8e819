/**
 * The bootloader step: grub for UEFI (an EFI binary at the removable path EFI/BOOT/BOOTX64.EFI,
 * behind shim when the distribution's shim package is listed) or for BIOS (grub-install on the loop device: boot
 * code in the MBR, core image in the bios_grub partition on GPT or after the MBR), then grub.cfg
 * from grub-mkconfig (EnableGrubMkconfig true, the default) or from Kiln's renderer (false).
 * grub's tools come from the image itself and run inside its chroot, so they match its modules.
 *
 * The image may hold links planted by its packages or the config's scripts (/tmp, /etc/default/grub,
 * /boot/grub/grub.cfg ...): every file read or written here is resolved inside the image root (or
 * inside the ESP staging directory, which the image can write too: a root of its own) by
 * src/system/paths.ts, never through a plain host path.
 */
import { basename, dirname, posix } from 'node:path';
import { diskNodes } from '../chroot/chroot.js';
import type { SystemConfig } from '../config/model.js';
import { enableGrubMkconfig } from '../config/defaults.js';
import { KilnError } from '../core/errors.js';
import { info } from '../core/log.js';
import type { BootKind, ChrootFn, DistroBackend } from '../distro/backend.js';
import { kernelCommandLine } from '../system/index.js';
import { copyWithinRoot, existsInRoot, listDir, mkdirInRoot, readBytesInRoot, readInRoot, removeAt, withDirInRoot, writeInRoot } from '../system/paths.js';
import { grubDefaults, grubModules, kilnGrubCfg, pinRootPartuuid, stubConfig, type BootFs } from './grubcfg.js';

/** The default kernel options every image gets before the config's own (see docs/imager.md). */
export const BASE_CMDLINE = ['console=tty0', 'console=ttyS0,115200'];

export interface BootContext {
  root: string;
  sc: SystemConfig;
  backend: DistroBackend;
  chroot: ChrootFn;
  boot: BootKind;
  table: 'gpt' | 'mbr';
  /** Whole-disk loop device (BIOS: where grub-install writes). */
  diskDevice: string;
  /** PARTUUID of the root partition. */
  rootPartuuid: string;
  /** Filesystem holding /boot. */
  bootFs: BootFs;
  /** PARTUUID of a separate /boot partition, if any. */
  bootPartuuid?: string;
  /** Filesystem types on the disk (decides grub modules). */
  fsTypes: string[];
  /** Host directory that becomes the ESP's contents (UEFI). */
  espStaging?: string;
  /** The packages the config lists (decides shim). */
  packages: readonly string[];
}

const EFI_MODULES = ['normal', 'configfile', 'search', 'search_fs_uuid', 'search_label', 'linux', 'boot', 'echo', 'test', 'gzio', 'efi_gop', 'all_video', 'serial', 'terminal', 'fat', 'ext2', 'xfs', 'part_gpt', 'part_msdos', 'loadenv', 'reboot', 'halt', 'sleep', 'ls', 'cat'];

export async function installBootloader(ctx: BootContext): Promise<void> {
  if (ctx.boot === 'none') return;
  const kernels = await ctx.backend.kernels(ctx.root);
  if (!kernels.length) {
    throw new KilnError(`SystemConfig "${ctx.sc.Name}": no kernel was installed, so the image cannot boot`, undefined, [
      `set KernelOptions.default to a kernel package ("${ctx.backend.decl.rules.defaultKernel}" on ${ctx.backend.decl.prettyName})`,
    ]);
  }
  if (ctx.boot === 'efi') await installEfi(ctx);
  else await installBios(ctx);
  await writeGrubCfg(ctx, kernels);
}

async function installEfi(ctx: BootContext): Promise<void> {
  if (!ctx.espStaging) throw new KilnError(`SystemConfig "${ctx.sc.Name}": BootType efi needs a partition with the "esp" flag`);
  const decl = ctx.backend.decl;
  const g = decl.grub;
  const stub = stubConfig(ctx.bootFs, basename(dirname(g.configPath)));
  const shim = decl.efi.shim && ctx.packages.includes(decl.efi.shim.package) ? decl.efi.shim : undefined;
  const prebuilt = decl.efi.prebuiltGrub;
  if (shim) {
    // shim → the distribution's signed grub (which shim finds as grubx64.efi beside itself)
    info('boot: shim + signed grub at EFI/BOOT');
    await placeOnEsp(ctx, shim.path, 'EFI/BOOT/BOOTX64.EFI');
    await placeOnEsp(ctx, shim.signedGrub, 'EFI/BOOT/grubx64.efi');
    if (shim.mokManager && (await existsInRoot(ctx.root, shim.mokManager))) await placeOnEsp(ctx, shim.mokManager, 'EFI/BOOT/mmx64.efi');
  } else if (prebuilt) {
    info(`boot: ${prebuilt.package}'s grub at EFI/BOOT/BOOTX64.EFI`);
    await placeOnEsp(ctx, prebuilt.path, 'EFI/BOOT/BOOTX64.EFI');
  } else {
    info('boot: grub EFI binary at EFI/BOOT/BOOTX64.EFI');
    await writeInRoot(ctx.root, '/tmp/kiln-grub-stub.cfg', stub);
    await ctx.chroot([g.mkimage, '-O', 'x86_64-efi', '-o', '/tmp/kiln-grubx64.efi', '-p', '/EFI/BOOT', '-c', '/tmp/kiln-grub-stub.cfg', ...EFI_MODULES]);
    await placeOnEsp(ctx, '/tmp/kiln-grubx64.efi', 'EFI/BOOT/BOOTX64.EFI');
  }
  // the stub where the binary looks for it: beside it ($cmdpath), or at a prebuilt binary's $prefix
  await writeInRoot(ctx.espStaging, '/EFI/BOOT/grub.cfg', stub);
  if (prebuilt) await writeInRoot(ctx.espStaging, posix.join('/', prebuilt.stubPath), stub);
  // modules for the `insmod` lines of grub.cfg (what grub-install would have copied); links are copied as links
  const platform = `${g.libDir}/x86_64-efi`;
  if (await existsInRoot(ctx.root, platform)) await copyWithinRoot(ctx.root, platform, `${posix.dirname(g.configPath)}/x86_64-efi`);
}

/**
 * Put an image file on the ESP under `espPath`. FAT is case-insensitive while the staging
 * directory is not: a package may already have put the file there under another case (the ESP is
 * mounted at /boot/efi while packages install), so any case variant is replaced, never doubled.
 */
async function placeOnEsp(ctx: BootContext, imagePath: string, espPath: string): Promise<void> {
  const data = await readBytesInRoot(ctx.root, imagePath);
  if (!data) {
    throw new KilnError(`SystemConfig "${ctx.sc.Name}": ${imagePath} is missing from the image, so the ESP cannot be filled`, undefined, [
      'the package that ships it was not installed; check the package lists',
    ]);
  }
  const dest = posix.join('/', espPath);
  const want = posix.basename(dest).toLowerCase();
  await withDirInRoot(ctx.espStaging!, posix.dirname(dest), {}, async (dir) => {
    for (const e of await listDir(dir)) if (e.name.toLowerCase() === want) await removeAt(dir, e.name);
  });
  await writeInRoot(ctx.espStaging!, dest, data);
}

async function installBios(ctx: BootContext): Promise<void> {
  const g = ctx.backend.grub;
  info(`boot: grub for BIOS on ${ctx.table === 'gpt' ? 'the bios_grub partition' : 'the MBR gap'}`);
  const mods = grubModules(ctx.table, ctx.fsTypes).join(' ');
  try {
    // the sandbox's /dev has no block devices: the disk and its partitions (with their sysfs entries) are exposed
    await ctx.chroot([g.install, '--target=i386-pc', '--boot-directory=/boot', `--modules=${mods}`, '--no-floppy', ctx.diskDevice], {
      devices: diskNodes(ctx.diskDevice),
    });
  } catch (e) {
    if (ctx.table === 'gpt') {
      throw new KilnError(`grub could not be installed for BIOS boot: ${(e as Error).message}`, undefined, [
        ...((e as KilnError).details ?? []),
        'a GPT disk booted by BIOS needs a small partition with the "bios_grub" (or "grub") flag, e.g. Start 1, End 9, before the root partition',
      ]);
    }
    throw e;
  }
}

async function writeGrubCfg(ctx: BootContext, kernels: string[]): Promise<void> {
  const g = ctx.backend.grub;
  const cfgPath = g.configPath;
  await mkdirInRoot(ctx.root, posix.dirname(cfgPath));
  const bootPartuuid = ctx.bootPartuuid;
  if (enableGrubMkconfig(ctx.sc)) {
    // grub-mkconfig adds root= (pinned to the PARTUUID below) and "ro"
    const cmdline = kernelCommandLine(ctx.sc, { base: BASE_CMDLINE, ...(bootPartuuid ? { bootPartuuid } : {}) });
    const existing = (await readInRoot(ctx.root, g.defaultsFile)) ?? `GRUB_DEFAULT=0\nGRUB_DISTRIBUTOR="${ctx.backend.decl.prettyName}"\n`;
    await writeInRoot(ctx.root, g.defaultsFile, existing + grubDefaults(cmdline));
    // grub-probe (run by grub-mkconfig) opens the devices of / and /boot
    await ctx.chroot([g.mkconfig, '-o', g.configPath], { devices: diskNodes(ctx.diskDevice) });
    const written = await readInRoot(ctx.root, cfgPath);
    if (written === undefined) throw new KilnError(`${g.mkconfig} did not write ${cfgPath} in the image`);
    const pinned = pinRootPartuuid(written, ctx.rootPartuuid);
    await writeInRoot(ctx.root, cfgPath, pinned.text);
    info(`boot: grub.cfg by ${g.mkconfig}`);
  } else {
    const cmdline = kernelCommandLine(ctx.sc, { rootPartuuid: ctx.rootPartuuid, base: ['ro', ...BASE_CMDLINE], ...(bootPartuuid ? { bootPartuuid } : {}) });
    const initrd = (version: string) => ctx.backend.decl.initramfs.fileName(version);
    const entries = [];
    for (const version of kernels) entries.push({ version, ...((await existsInRoot(ctx.root, `/boot/${initrd(version)}`)) ? { initrd: initrd(version) } : {}) });
    const distroName = ctx.backend.decl.prettyName;
    await writeInRoot(ctx.root, cfgPath, kilnGrubCfg({ distroName, boot: ctx.bootFs, kernels: entries, cmdline, modules: grubModules(ctx.table, ctx.fsTypes) }));
    info('boot: grub.cfg rendered by Kiln');
  }
}

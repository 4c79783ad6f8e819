/**
 * grub, the default boot loader: for UEFI an EFI binary at the removable path EFI/BOOT/BOOTX64.EFI
 * (behind the distribution's signed shim when the boot chain asks for it), for BIOS grub-install on
 * the loop device (boot code in the MBR, core image in the bios_grub partition on GPT or after the
 * MBR), then grub.cfg from grub-mkconfig (EnableGrubMkconfig true, the default) or from Kiln's
 * renderer (false). grub's tools come from the image itself and run inside its chroot, so they
 * match its modules.
 *
 * The image may hold links planted by its packages or the config's scripts (/tmp, /etc/default/grub,
 * /boot/grub/grub.cfg ...): every file read or written here is resolved inside the image root (or
 * inside the ESP staging directory, which the image can write too: a root of its own) by
 * src/system/paths.ts, never through a plain host path.
 */
import { basename, dirname, posix } from 'node:path';
import { diskNodes } from '../chroot/chroot.js';
import { enableGrubMkconfig } from '../config/defaults.js';
import { KilnError } from '../core/errors.js';
import { info } from '../core/log.js';
import { kernelCommandLine } from '../system/index.js';
import { copyWithinRoot, existsInRoot, mkdirInRoot, readInRoot, writeInRoot } from '../system/paths.js';
import { placeOnEsp } from './esp.js';
import { grubDefaults, grubModules, kilnGrubCfg, pinRoot, stubConfig } from './grubcfg.js';
import { BASE_CMDLINE, type BootContext } from './types.js';

const EFI_MODULES = ['normal', 'configfile', 'search', 'search_fs_uuid', 'search_label', 'linux', 'boot', 'echo', 'test', 'gzio', 'efi_gop', 'all_video', 'serial', 'terminal', 'fat', 'ext2', 'xfs', 'part_gpt', 'part_msdos', 'loadenv', 'reboot', 'halt', 'sleep', 'ls', 'cat'];

export async function installGrub(ctx: BootContext, kernels: string[]): Promise<void> {
  if (ctx.boot === 'efi') await installEfi(ctx);
  else await installBios(ctx);
  await writeGrubCfg(ctx, kernels);
}

async function installEfi(ctx: BootContext): Promise<void> {
  if (!ctx.espStaging) throw new KilnError(`SystemConfig "${ctx.sc.Name}": BootType efi needs a partition with the "esp" flag`);
  const decl = ctx.backend.decl;
  const g = decl.grub;
  const stub = stubConfig(ctx.bootFs, basename(dirname(g.configPath)));
  const shim = ctx.chain.shim ? decl.efi.shim : undefined;
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
  const base = [...BASE_CMDLINE, ...ctx.layerArgs()];
  const mkconfig = enableGrubMkconfig(ctx.sc);
  if (mkconfig) {
    // the settings the image's own update-grub uses from now on (grub-mkconfig adds root= and "ro")
    const cmdline = kernelCommandLine(ctx.sc, { base, ...(bootPartuuid ? { bootPartuuid } : {}) });
    const existing = (await readInRoot(ctx.root, g.defaultsFile)) ?? `GRUB_DEFAULT=0\nGRUB_DISTRIBUTOR="${ctx.backend.decl.prettyName}"\n`;
    await writeInRoot(ctx.root, g.defaultsFile, existing + grubDefaults(cmdline));
  }
  // grub-mkconfig's 10_linux skips a root it finds on a loop device backed by a file (a LUKS
  // root's plaintext while the image is built): no entries. Kiln renders that image's first
  // grub.cfg; the booted system's update-grub sees /dev/mapper/root and works as usual.
  if (mkconfig && !ctx.rootLayered) {
    // grub-probe (run by grub-mkconfig) opens the devices of / and /boot
    await ctx.chroot([g.mkconfig, '-o', g.configPath], { devices: diskNodes(ctx.diskDevice) });
    const written = await readInRoot(ctx.root, cfgPath);
    if (written === undefined) throw new KilnError(`${g.mkconfig} did not write ${cfgPath} in the image`);
    const pinned = pinRoot(written, ctx.rootDevice);
    if (!/^\s*linux\s/m.test(pinned.text)) throw new KilnError(`${g.mkconfig} wrote a grub.cfg without a kernel entry`, undefined, ['see the build log for its output']);
    await writeInRoot(ctx.root, cfgPath, pinned.text);
    info(`boot: grub.cfg by ${g.mkconfig}`);
  } else {
    const cmdline = kernelCommandLine(ctx.sc, { root: ctx.rootDevice, base: ['ro', ...base], ...(bootPartuuid ? { bootPartuuid } : {}) });
    const initrd = (version: string) => ctx.backend.decl.initramfs.fileName(version);
    const entries = [];
    for (const version of kernels) entries.push({ version, ...((await existsInRoot(ctx.root, `/boot/${initrd(version)}`)) ? { initrd: initrd(version) } : {}) });
    const distroName = ctx.backend.decl.prettyName;
    await writeInRoot(ctx.root, cfgPath, kilnGrubCfg({ distroName, boot: ctx.bootFs, kernels: entries, cmdline, modules: grubModules(ctx.table, ctx.fsTypes) }));
    info(`boot: grub.cfg rendered by Kiln${mkconfig ? ` (${g.mkconfig} cannot see a root with device layers while it is built; the image's update-grub can)` : ''}`);
  }
}

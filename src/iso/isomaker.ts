/**
 * isomaker: installer boot files + one pre-built raw image per SystemConfig → a hybrid ISO
 * (BIOS and UEFI, optical and USB) that installs offline. See docs/iso.md for the design.
 */
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeAtomically } from '../core/atomic.js';
import { KilnError } from '../core/errors.js';
import { run } from '../core/exec.js';
import { info, stage } from '../core/log.js';
import type { Scope } from '../core/scope.js';
import type { Config, LoadedConfig, SystemConfig } from '../config/model.js';
import { isUnattended } from '../installer/manifest.js';
import { ensureHostTools } from '../host/index.js';
import { sanitizedConfigText } from './config-copy.js';
import { makeEfiImage } from './efi-image.js';
import { installerBoot } from './installer-boot.js';
import { liveSquashfs } from './live-tree.js';
import { grubMenu, imagePathFor, installManifest, isoInstaller, isoManifestPath, ISO_PATHS, xorrisoArgs, type AfterInstall, type BuiltImageInfo } from './layout.js';

/** Host programs the ISO needs (the installer tree's mmdebstrap, roast's cpio, FAT tools, xorriso). */
export const ISO_HOST_TOOLS = ['mmdebstrap', 'apt-get', 'bwrap', 'setpriv', 'cpio', 'zstd', 'qemu-img', 'mkfs.vfat', 'mcopy', 'xorriso', 'openssl'];
/** And for the graphical installer's live system (roast's squashfs converter). */
export const GUI_HOST_TOOLS = ['mksquashfs'];

export interface IsoImage {
  sc: SystemConfig;
  /** The raw disk image the imager built from `sc` (sparse is fine). */
  raw: string;
  /** The imager's manifest of that build: copied to kiln/manifests/ on the ISO. */
  manifest?: string;
}

export interface BuildIsoOptions {
  loaded: LoadedConfig;
  /** One raw image per SystemConfig, in the config's order. */
  images: IsoImage[];
  /** Directory the ISO is written to (out/images/<config-name>). */
  outDir: string;
  /** Cache root (default /var/cache/kiln): the installer initrd lives under <cache>/installer. */
  cacheDir: string;
  scope: Scope;
  /** What the installer does at the end (default reboot). */
  after?: AfterInstall;
  rebuildInitrd?: boolean;
}

export interface BuiltIso {
  iso: string;
  bytes: number;
  initrdKey: string;
  initrdReused: boolean;
}

/** A config asks for an ISO with an artifact of Type "iso" or a TargetDisk (upstream's unattended ISO). */
export function wantsIso(config: Config): boolean {
  return (config.Disks ?? []).some((d) => !!d.TargetDisk || (d.Artifacts ?? []).some((a) => a.Type?.toLowerCase() === 'iso'));
}

/** The ISO's file name: the "iso" artifact's Name, else the config's name. */
export function isoFileName(loaded: LoadedConfig): string {
  const artifact = (loaded.config.Disks ?? []).flatMap((d) => d.Artifacts ?? []).find((a) => a.Type?.toLowerCase() === 'iso');
  return `${artifact?.Name ?? loaded.name}.iso`;
}

export async function buildIso(o: BuildIsoOptions): Promise<BuiltIso> {
  const { loaded, scope } = o;
  const systems = loaded.config.SystemConfigs;
  if (o.images.length !== systems.length)
    throw new KilnError(`isomaker: ${systems.length} SystemConfigs but ${o.images.length} images were given`);
  const after = o.after ?? 'reboot';
  const graphical = isoInstaller(loaded.config) === 'graphical';
  await ensureHostTools([...ISO_HOST_TOOLS, ...(graphical ? GUI_HOST_TOOLS : [])]);
  const boot = await installerBoot(scope, o.cacheDir, { rebuild: o.rebuildInitrd });
  const live = graphical ? await liveSquashfs(scope, o.cacheDir, { rebuild: o.rebuildInitrd }) : undefined;

  mkdirSync(o.outDir, { recursive: true });
  const isoPath = join(o.outDir, isoFileName(loaded));
  // staging on the output's filesystem (payload images are large), removed by the scope
  const staging = join(o.outDir, `.iso-staging-${process.pid}`);
  scope.add(`staging ${staging}`, () => run('rm', ['-rf', staging]).then(() => undefined), { kind: 'path', path: staging });
  mkdirSync(join(staging, 'kiln/images'), { recursive: true });
  mkdirSync(join(staging, 'kiln/config'), { recursive: true });
  mkdirSync(join(staging, 'kiln/manifests'), { recursive: true });
  mkdirSync(join(staging, dirname(ISO_PATHS.biosImage)), { recursive: true });

  const infos: BuiltImageInfo[] = [];
  for (const [i, img] of o.images.entries()) {
    stage(`iso: compressing the image of "${img.sc.Name}"`);
    const st = statSync(img.raw);
    // qcow2 with zstd-compressed clusters: holes are not stored, and the installer's qemu-img
    // never has to read or write them (a zstd stream of a raw disk would inflate every zero)
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-c', '-o', 'compression_type=zstd', img.raw, join(staging, imagePathFor(img.sc, i))], {
      hint: 'qemu-img comes with the Debian package qemu-utils',
    });
    infos.push({ sc: img.sc, imageBytes: st.size, dataBytes: st.blocks * 512, withManifest: !!img.manifest });
    if (img.manifest) copyFileSync(img.manifest, join(staging, isoManifestPath(img.sc, i)));
  }
  const manifest = installManifest(loaded.name, loaded.config, infos);
  writeFileSync(join(staging, ISO_PATHS.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  // the config for reference, without clear-text secrets (passwords hashed, URL credentials removed)
  writeFileSync(join(staging, ISO_PATHS.configDir, basename(loaded.file)), await sanitizedConfigText(readFileSync(loaded.file, 'utf8'), loaded.file));
  copyFileSync(boot.kernel, join(staging, ISO_PATHS.kernel));
  copyFileSync(boot.initrd, join(staging, ISO_PATHS.initrd));
  copyFileSync(boot.biosImage, join(staging, ISO_PATHS.biosImage));
  if (live) await run('cp', ['--reflink=auto', live, join(staging, ISO_PATHS.live)]);
  writeFileSync(join(staging, ISO_PATHS.grubCfg), grubMenu(loaded.name, isUnattended(manifest), after, graphical));
  const efiImage = join(staging, '..', `.iso-efi-${process.pid}.img`);
  scope.add(`EFI image ${efiImage}`, () => run('rm', ['-f', efiImage]).then(() => undefined), { kind: 'path', path: efiImage });
  await makeEfiImage(boot.efiBinary, efiImage);

  stage(`iso: writing ${isoPath}`);
  await writeAtomically(scope, isoPath, (temp) =>
    run('xorriso', xorrisoArgs({ staging, output: temp, efiImage, hybridMbr: boot.hybridMbr }), { hint: 'xorriso comes with the Debian package xorriso' }),
  );
  const bytes = statSync(isoPath).size;
  info(`iso: ${isoPath} (${(bytes / 1024 / 1024).toFixed(0)} MiB, installer initrd ${boot.reused ? 'reused from cache' : 'built'})`);
  return { iso: isoPath, bytes, initrdKey: boot.key, initrdReused: boot.reused };
}

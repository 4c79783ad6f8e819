/**
 * The ISO's layout, pure: which files go where, the grub menu, the install manifest derived from
 * the config, and the xorriso command line. Side effects live in isomaker.ts.
 */
import type { Config, SystemConfig } from '../config/model.js';
import { planStacks } from '../disk/layers/index.js';
import { ISO_VOLUME_LABEL, MANIFEST_PATH, type InstallManifest, type InstallMount, type InstallSystem } from '../installer/manifest.js';

export const ISO_PATHS = {
  kernel: 'kiln/vmlinuz',
  initrd: 'kiln/initrd.img',
  manifest: MANIFEST_PATH,
  /** The graphical installer's live system (Artifacts[].Installer "graphical"). */
  live: 'kiln/live.squashfs',
  configDir: 'kiln/config',
  grubCfg: 'boot/grub/grub.cfg',
  biosImage: 'boot/grub/i386-pc/eltorito.img',
  bootCatalog: 'boot/boot.catalog',
} as const;

export type AfterInstall = 'reboot' | 'poweroff';

/** "<n>-<slug of the name>": a safe, unique file name stem for the n-th SystemConfig (n from 1). */
export function systemStem(sc: SystemConfig, index: number): string {
  const slug = sc.Name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'system';
  return `${index + 1}-${slug}`;
}

/** File name (on the ISO) of a SystemConfig's compressed image. */
export function imagePathFor(sc: SystemConfig, index: number): string {
  return `kiln/images/${systemStem(sc, index)}.qcow2`;
}

/**
 * The package manifest of one system of an ISO config: out/images/<config>/manifest-<n>-<slug>.json
 * beside the ISO, and kiln/manifests/<n>-<slug>.json on it. `index` is the SystemConfig's place in
 * the config (not in a --system-config selection), so a name always means the same system.
 */
export function systemManifestName(sc: SystemConfig, index: number): string {
  return `manifest-${systemStem(sc, index)}.json`;
}
export function isoManifestPath(sc: SystemConfig, index: number): string {
  return `kiln/manifests/${systemStem(sc, index)}.json`;
}

function isoFsType(fsType: string): string {
  return fsType === 'fat32' || fsType === 'fat16' || fsType === 'vfat' ? 'vfat' : fsType;
}

/** The device layer that seals a partition of this system (its encrypted or verity root), if any. */
function sealedBy(sc: SystemConfig, partitionId: string): 'luks' | 'verity' | undefined {
  const stacks = planStacks(sc);
  const top = stacks.layers.get(partitionId)?.at(-1);
  if (top) return top.kind;
  return stacks.metadataPartitions.get(partitionId);
}

/** The partitions to mount to reach a system's installed root, by number, "/" first (sealed ones marked). */
export function installMounts(config: Config, sc: SystemConfig): InstallMount[] {
  const parts = config.Disks?.[0]?.Partitions ?? [];
  const mounts: InstallMount[] = [];
  parts.forEach((p, i) => {
    const setting = sc.PartitionSettings?.find((s) => s.ID === p.ID);
    const mp = setting?.MountPoint;
    const sealed = sealedBy(sc, p.ID);
    if (mp && mp.startsWith('/') && p.FsType !== 'linux-swap') mounts.push({ partition: i + 1, mountPoint: mp, fsType: isoFsType(p.FsType), ...(sealed ? { sealed } : {}) });
  });
  return mounts.sort((a, b) => a.mountPoint.length - b.mountPoint.length);
}

/**
 * Grow the last partition on a larger disk when the config lets it extend: `Grow: true`, or
 * `End: 0` (the format's "up to the end of the disk"); never a verity data or hash partition,
 * whose size the hash tree fixes.
 */
export function growsLastPartition(config: Config, sc?: SystemConfig): boolean {
  const parts = config.Disks?.[0]?.Partitions ?? [];
  const last = parts[parts.length - 1];
  if (last && sc && sealedBy(sc, last.ID) === 'verity') return false;
  return !!last && (last.Grow === true || last.End === 0);
}

/** The installer the config's "iso" artifact asks for (Kiln's Artifacts[].Installer; default terminal). */
export function isoInstaller(config: Config): 'terminal' | 'graphical' {
  const iso = (config.Disks ?? []).flatMap((d) => d.Artifacts ?? []).find((a) => a.Type?.toLowerCase() === 'iso');
  return iso?.Installer ?? 'terminal';
}

export interface BuiltImageInfo {
  sc: SystemConfig;
  /** Uncompressed raw image size and bytes actually allocated (holes excluded). */
  imageBytes: number;
  dataBytes: number;
  /** Its package manifest is on the ISO (kiln/manifests/). */
  withManifest?: boolean;
}

function rootSeal(config: Config, sc: SystemConfig): 'luks' | 'verity' | undefined {
  return installMounts(config, sc).find((m) => m.mountPoint === '/')?.sealed;
}

export function installManifest(configName: string, config: Config, images: BuiltImageInfo[]): InstallManifest {
  const systems: InstallSystem[] = images.map(({ sc, imageBytes, dataBytes, withManifest }, i) => ({
    name: sc.Name,
    image: imagePathFor(sc, i),
    ...(withManifest ? { manifest: isoManifestPath(sc, i) } : {}),
    imageBytes,
    dataBytes,
    tableType: config.Disks?.[0]?.PartitionTableType === 'mbr' ? 'mbr' : 'gpt',
    ...(sc.Hostname ? { hostname: sc.Hostname } : {}),
    growLastPartition: growsLastPartition(config, sc),
    mounts: installMounts(config, sc),
    ...(rootSeal(config, sc) ? { sealedRoot: rootSeal(config, sc)! } : {}),
  }));
  const targetDisk = config.Disks?.[0]?.TargetDisk?.Value;
  return { version: 1, configName, systems, ...(targetDisk ? { targetDisk } : {}) };
}

/** The kernel command line of the installer: console on screen and serial (the last is /dev/console). */
export function installerCmdline(after: AfterInstall, extra: string[] = []): string {
  return ['console=tty0', 'console=ttyS0,115200', 'loglevel=3', `kiln.after=${after}`, ...extra].join(' ');
}

export function grubMenu(title: string, unattended: boolean, after: AfterInstall, graphical = false): string {
  const entry = (label: string, extra: string[], afterAction = after) =>
    [
      `menuentry ${JSON.stringify(label)} {`,
      `  echo "Loading the Kiln installer..."`,
      `  linux /${ISO_PATHS.kernel} ${installerCmdline(afterAction, extra)}`,
      `  initrd /${ISO_PATHS.initrd}`,
      '}',
    ].join('\n');
  const other: AfterInstall = after === 'reboot' ? 'poweroff' : 'reboot';
  return [
    '# Kiln installer menu (generated by kiln iso)',
    'serial --unit=0 --speed=115200',
    'terminal_input console serial',
    'terminal_output console serial',
    `set timeout=${unattended ? 5 : 10}`,
    'set default=0',
    '',
    // the graphical installer first (the default), then the terminal installer's entries
    ...(graphical ? [entry(`Install ${title} (graphical)`, ['kiln.live'])] : []),
    entry(unattended ? `Install ${title} (unattended)` : graphical ? `Install ${title} (terminal)` : `Install ${title}`, []),
    entry(`Install ${title}, then ${other}`, [], other),
    ...(unattended ? [entry(`Install ${title} (attended: ask for disk, host name, user)`, ['kiln.attended'])] : []),
    '',
  ].join('\n');
}

/** grub's first configuration, built into both boot images: find the medium, then read the menu. */
export const GRUB_EARLY_CFG = [
  `search --no-floppy --set=root --file /${MANIFEST_PATH}`,
  'set prefix=($root)/boot/grub',
  `configfile ($root)/${ISO_PATHS.grubCfg}`,
  '',
].join('\n');

/** Modules built into the boot images (no modules on the ISO: nothing to load at boot). */
const COMMON_MODULES = ['iso9660', 'part_gpt', 'part_msdos', 'fat', 'normal', 'configfile', 'search', 'search_fs_file', 'search_label', 'linux', 'echo', 'test', 'serial', 'terminal', 'gzio', 'ls', 'cat', 'boot', 'halt', 'reboot', 'sleep', 'all_video'];
export const GRUB_MODULES = {
  'i386-pc': ['biosdisk', ...COMMON_MODULES],
  'x86_64-efi': ['efi_gop', 'efi_uga', ...COMMON_MODULES],
} as const;

/**
 * xorriso (mkisofs emulation) for a hybrid ISO: El Torito BIOS (grub i386-pc-eltorito), an MBR
 * that boots the same grub from USB (boot_hybrid.img), and the EFI FAT image both as El Torito
 * EFI entry and as an appended GPT partition (USB on UEFI).
 */
export function xorrisoArgs(p: { staging: string; output: string; efiImage: string; hybridMbr: string; volumeId?: string }): string[] {
  return [
    '-as', 'mkisofs',
    '-iso-level', '3',
    '-r', '-J', '-joliet-long',
    '-V', p.volumeId ?? ISO_VOLUME_LABEL,
    '-o', p.output,
    '-partition_offset', '16',
    '--grub2-mbr', p.hybridMbr,
    '--mbr-force-bootable',
    '-append_partition', '2', '0xEF', p.efiImage,
    '-appended_part_as_gpt',
    '-c', ISO_PATHS.bootCatalog,
    '-b', ISO_PATHS.biosImage, '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table', '--grub2-boot-info',
    '-eltorito-alt-boot',
    '-e', '--interval:appended_partition_2:all::', '-no-emul-boot',
    p.staging,
  ];
}

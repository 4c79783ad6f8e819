/**
 * SystemConfig-level rules: default selection, host name, packages present, kernel options,
 * partition settings against the disk layout, boot type against partition flags, kickstart,
 * encryption. Upstream's rules (SystemConfig.IsValid, Config.IsValid, the validator's kickstart
 * check) are errors; Kiln's own are warnings `kiln build` refuses (ctx.kiln).
 */
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { controlCharAt, mountPointProblem } from '../../core/safe-text.js'; // control characters: rules/text.ts
import type { Partition, SystemConfig } from '../model.js';
import type { Segment } from '../findings.js';
import { didYouMean } from '../suggest.js';
import { allPartitions, hasPartitions, type RuleContext } from './context.js';

export function checkSystemConfigs(ctx: RuleContext): void {
  const scs = ctx.config.SystemConfigs;
  const defaults = scs.map((sc, i) => ({ sc, i })).filter(({ sc }) => sc.IsDefault);
  for (const { i } of defaults.slice(1)) {
    ctx.report(['SystemConfigs', i, 'IsDefault'], 'more than one SystemConfig has "IsDefault": true', 'mark exactly one SystemConfig as default');
  }
  const names = new Set<string>();
  scs.forEach((sc, i) => {
    if (names.has(sc.Name)) ctx.kiln(['SystemConfigs', i, 'Name'], `SystemConfig name "${sc.Name}" is used twice`, 'give each SystemConfig a unique Name (kiln build --system-config picks one by name)');
    names.add(sc.Name);
    checkSystemConfig(ctx, sc, ['SystemConfigs', i]);
  });
}

function checkSystemConfig(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  if (sc.Hostname !== undefined && !isUpstreamHostname(sc.Hostname)) {
    ctx.report([...at, 'Hostname'], `"${sc.Hostname}" is not a valid host name`, 'use letters, digits and "-" in dot-separated labels of 1-63 characters (no "_", not an IP address)');
  } else if (sc.Hostname !== undefined && !isHostname(sc.Hostname)) {
    ctx.kiln([...at, 'Hostname'], `"${sc.Hostname}" is not an RFC 1123 host name (a label ends with "-", or the name ends with "." or is too long)`, 'labels start and end with a letter or digit; no trailing dot');
  }
  if ((sc.PackageLists ?? []).length === 0 && (sc.Packages ?? []).length === 0) {
    ctx.report(at, 'no packages: the SystemConfig has neither PackageLists nor Packages', 'add "PackageLists": ["packagelists/....json"] or "Packages": [...]');
  }
  checkKernelOptions(ctx, sc, at);
  checkPartitionSettings(ctx, sc, at);
  checkBoot(ctx, sc, at);
  checkEncryption(ctx, sc, at);
  if (sc.KernelCommandLine?.ExtraCommandLine?.includes('`')) {
    ctx.report([...at, 'KernelCommandLine', 'ExtraCommandLine'], 'the "`" character is reserved and may not be used', 'remove the backtick(s)');
  }
  if (sc.IsKickStartBoot && ((ctx.config.Disks ?? []).length > 0 || (sc.PartitionSettings ?? []).length > 0)) {
    const where = (sc.PartitionSettings ?? []).length > 0 ? [...at, 'PartitionSettings'] : ['Disks'];
    ctx.report(where, 'a kickstart installation (IsKickStartBoot) takes its partitioning from the PreInstallScripts, so the config must not define Disks or PartitionSettings', 'remove Disks and PartitionSettings, or set "IsKickStartBoot": false');
  }
}

/** The mount point as it was probably meant ("/srv/../usr/" → "/usr"); a suggestion only, never applied. */
function normalMountPoint(mp: string): string {
  // eslint-disable-next-line no-control-regex
  return posix.normalize(mp.replace(/[\u0000-\u001f\u007f]/g, '')).replace(/(.)\/+$/, '$1');
}

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
export function isHostname(name: string): boolean {
  if (name.length > 253) return false;
  return name.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

/**
 * Upstream's host-name rule: govalidator.IsDNSName (labels of up to 63 letters, digits, "_" and
 * "-" not starting with "-", an optional trailing "." or "_", not an IP address, at most 255
 * characters without the dots) and no "_" anywhere.
 */
export function isUpstreamHostname(name: string): boolean {
  if (name.includes('_') || name === '' || name.replace(/\./g, '').length > 255 || isIP(name) !== 0) return false;
  return /^([a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$/.test(name);
}

/**
 * Encryption (upstream's checkDeviceMapperFlags and SystemConfig.IsValid): a root partition, with
 * the "dmroot" flag. What else an encrypted root needs to be built (a passphrase, /boot outside it
 * for grub ...) is checked with the other trusted-boot keys in rules/trusted-boot.ts.
 */
function checkEncryption(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  const settings = sc.PartitionSettings ?? [];
  const byId = new Map(allPartitions(ctx.config).map((x) => [x.p.ID, x.p] as const));
  const dmroots = settings.filter((s) => byId.get(s.ID)?.Flags?.includes('dmroot'));
  if (dmroots.length > 1) {
    ctx.report([...at, 'PartitionSettings'], `partitions "${dmroots[0]!.ID}" and "${dmroots[1]!.ID}" both have the "dmroot" flag`, 'keep the "dmroot" flag on the root partition only');
  }
  if (!sc.Encryption?.Enable) return;
  if ((ctx.config.Disks ?? []).length === 0) return; // upstream: only valid for ISO installers (a warning there)
  const root = settings.find((s) => s.MountPoint === '/');
  if (!root) {
    if (settings.length > 0) ctx.report([...at, 'Encryption', 'Enable'], 'Encryption needs a partition mounted at "/"', 'add a PartitionSetting with "MountPoint": "/"');
    return;
  }
  const part = byId.get(root.ID);
  if (part && !part.Flags?.includes('dmroot')) {
    ctx.report([...at, 'Encryption', 'Enable'], `Encryption needs the "dmroot" flag on the root partition "${part.ID}"`, `add "dmroot" to the Flags of partition "${part.ID}"`);
  }
}

function checkKernelOptions(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  const opts = sc.KernelOptions ?? {};
  const rules = ctx.rules(sc);
  // upstream requires it when there are PartitionSettings; Kiln also for any disk image
  const upstreamNeedsKernel = (sc.PartitionSettings ?? []).length > 0;
  const needsKernel = upstreamNeedsKernel || (hasPartitions(ctx.config) && !sc.IsKickStartBoot);
  if (needsKernel && opts['default'] === undefined) {
    const typo = Object.keys(opts).find((k) => !k.startsWith('_') && didYouMean(k, ['default']));
    (upstreamNeedsKernel ? ctx.report : ctx.kiln)(
      [...at, 'KernelOptions'],
      'a disk image needs a default kernel: KernelOptions has no "default" key',
      typo ? `rename "${typo}" to "default"` : `add "KernelOptions": {"default": "${rules.defaultKernel}"} (kernels never go in package lists)`,
    );
  }
  for (const [key, value] of Object.entries(opts)) {
    if (key.startsWith('_')) continue; // comments
    if (value.trim() === '') {
      ctx.report([...at, 'KernelOptions', key], `kernel option "${key}" names no package`, `name the kernel package, e.g. "${rules.defaultKernel}"`);
    } else if (!rules.isKernelPackage(value)) {
      ctx.report([...at, 'KernelOptions', key], `"${value}" is not a known ${rules.family === 'debian' ? 'Debian' : 'RPM'} kernel package`, `the usual kernel is "${rules.defaultKernel}"`, 'warning');
    }
  }
}

function checkPartitionSettings(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  const settings = sc.PartitionSettings ?? [];
  const partitions = new Map(allPartitions(ctx.config).map((x) => [x.p.ID, x] as const));
  const mounted = new Map<string, number>();
  const ids = new Set<string>();
  settings.forEach((s, i) => {
    const here: Segment[] = [...at, 'PartitionSettings', i];
    const part = partitions.get(s.ID);
    if (!part) {
      const known = [...partitions.keys()];
      ctx.report([...here, 'ID'], `no partition has ID "${s.ID}"`, didYouMean(s.ID, known) ?? (known.length ? `partition IDs: ${known.join(', ')}` : 'define the partition in Disks[].Partitions'));
    }
    if (ids.has(s.ID)) ctx.kiln([...here, 'ID'], `partition "${s.ID}" has two PartitionSettings`, 'merge them into one entry');
    ids.add(s.ID);
    const mp = s.MountPoint ?? '';
    if (mp !== '') {
      const problem = mountPointProblem(mp);
      if (!mp.startsWith('/')) ctx.kiln([...here, 'MountPoint'], `mount point "${mp}" is not absolute`, `use "/${mp}"`);
      // an error, not a Kiln warning: a mount point that leaves the image is an attack on the build host (docs/security.md)
      else if (problem && controlCharAt(mp) < 0) ctx.report([...here, 'MountPoint'], `mount point ${JSON.stringify(mp)} ${problem}`, `write it as a plain absolute path inside the image, e.g. "${normalMountPoint(mp)}"`);
      if (mounted.has(mp)) ctx.report([...here, 'MountPoint'], `mount point "${mp}" is used twice`, 'mount each path from one partition only');
      mounted.set(mp, i);
      if (part?.p.FsType === 'linux-swap') ctx.kiln([...here, 'MountPoint'], 'a swap partition is not mounted', 'use "MountPoint": ""');
    }
    if (s.MountIdentifier === 'partlabel' && part) checkPartlabel(ctx, part.p, part.disk.PartitionTableType, [...here, 'MountIdentifier']);
    if (s.RdiffBaseImage !== undefined && s.OverlayBaseImage !== undefined) {
      ctx.kiln([...here, 'OverlayBaseImage'], 'RdiffBaseImage and OverlayBaseImage are alternatives', 'choose one diff algorithm');
    }
  });
  const isDiskImage = hasPartitions(ctx.config) && !sc.IsKickStartBoot;
  if (isDiskImage && settings.length === 0) {
    ctx.kiln(at, 'the disk has Partitions but this SystemConfig has no PartitionSettings, so nothing is mounted at "/"', 'add "PartitionSettings" with one entry "MountPoint": "/"');
  } else if (settings.length > 0 && !mounted.has('/')) {
    ctx.kiln([...at, 'PartitionSettings'], 'no partition is mounted at "/"', 'set "MountPoint": "/" on the root partition\'s setting');
  }
}

/** Upstream's checkInvalidMountIdentifiers: PARTLABEL needs a GPT disk (not MBR, not an unset table type) and a partition Name. */
function checkPartlabel(ctx: RuleContext, p: Partition, table: string | undefined, at: Segment[]): void {
  if (table !== 'gpt') ctx.report(at, `"partlabel" needs a GPT disk; ${table === 'mbr' ? 'MBR partitions have no labels' : 'the disk has no "PartitionTableType": "gpt"'}`, 'use "partuuid" or "uuid", or a GPT disk');
  if (!p.Name) ctx.report(at, `"partlabel" needs a Name on partition "${p.ID}"`, `add "Name": "${p.ID}" to the partition`);
}

function checkBoot(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  if (sc.IsKickStartBoot || !hasPartitions(ctx.config)) return;
  const boot = sc.BootType ?? '';
  for (const { p, at: pat } of allPartitions(ctx.config)) {
    if (p.Flags?.includes('esp') && boot !== 'efi') {
      ctx.kiln([...pat, 'Flags'], `an "esp" partition needs "BootType": "efi" (SystemConfig "${sc.Name}" has ${boot ? `"${boot}"` : 'none'})`, 'set "BootType": "efi" on the SystemConfig, or use a "grub"/"bios_grub" flag for legacy boot');
    }
  }
  const parts = allPartitions(ctx.config);
  if (boot === 'efi' && !parts.some(({ p }) => p.Flags?.includes('esp'))) {
    ctx.kiln([...at, 'BootType'], 'EFI boot needs an EFI system partition: no partition has the "esp" flag', 'add a FAT32 partition with "Flags": ["esp", "boot"]');
  }
  if (boot === 'legacy') {
    for (const [di, disk] of (ctx.config.Disks ?? []).entries()) {
      if (disk.PartitionTableType !== 'gpt' || !(disk.Partitions ?? []).length) continue;
      if (!(disk.Partitions ?? []).some((p) => p.Flags?.some((f) => f === 'bios_grub' || f === 'grub'))) {
        ctx.kiln(['Disks', di, 'Partitions'], 'legacy (BIOS) boot on a GPT disk needs a partition with the "bios_grub" (or "grub") flag', 'add a small partition (1-8 MiB) with "Flags": ["bios_grub"]');
      }
    }
  }
}

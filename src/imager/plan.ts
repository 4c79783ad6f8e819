/**
 * The build plan: which SystemConfig, which disk and layout, which distro backend, which boot, which
 * artifacts, where outputs go. Pure apart from reading the package lists.
 */
import { join, resolve } from 'node:path';
import { bootType, collectPackages } from '../config/index.js';
import type { Disk, LoadedConfig, PartitionSetting, SystemConfig } from '../config/model.js';
import { ExitCode, KilnError, UsageError } from '../core/errors.js';
import type { BootKind, DistroBackend } from '../distro/backend.js';
import { backendFor } from '../distro/registry.js';
import { LayoutError, planLayout, type DiskLayout } from '../disk/layout.js';
import { layoutRoles, planStacks, type StackPlan } from '../disk/layers/index.js';
import { bootChain, type BootChain } from '../boot/chain.js';
import type { MountIdentifier } from '../config/model.js';
import type { ArtifactRequest } from '../roast/index.js';
import { randomIds, type IdSource } from '../disk/ids.js';
import { reproducibleIds, reproducibleSettings, type Reproducible } from '../reproducible/index.js';

export interface BuildOptions {
  /** Output root (default ./out). */
  outDir?: string;
  /** Downloaded-package cache (default /var/cache/kiln/<distro>-<release>). */
  cacheDir?: string;
  /** Keep the raw disk as out/images/<config>/<config>.raw (rootfs: the tree as <config>.rootfs/). */
  keepRaw?: boolean;
  /** SystemConfig to build when the config has several (default: IsDefault, else the first). */
  systemConfig?: string;
  /** Skip roasting (e.g. the ISO maker only wants the raw disk or the tree). */
  skipArtifacts?: boolean;
  /** Mirror root replacing the distribution's default repositories (wins over Distro.Mirror). */
  mirror?: string;
  /** Neither look up nor store base trees and initramfs images (--no-cache). */
  noCache?: boolean;
  /** Base-tree cache directory (default /var/cache/kiln/trees). */
  treeCacheDir?: string;
  /** Bound of the tree cache in bytes (default 16 GiB). */
  cacheMaxBytes?: number;
  /** Reproducible build (also on with SOURCE_DATE_EPOCH in the environment or a seed). */
  reproducible?: boolean;
  /** Seed of the derived identifiers of a reproducible build (default empty). */
  seed?: string;
}

export interface BuildPlan {
  loaded: LoadedConfig;
  sc: SystemConfig;
  backend: DistroBackend;
  /** Undefined for rootfs builds (no Partitions). */
  disk?: Disk;
  layout?: DiskLayout;
  boot: BootKind;
  /** Boot loader, shim, Secure Boot signing (boot/chain.ts). */
  chain: BootChain;
  /** Device layers per partition (encrypted or verity root). */
  stacks: StackPlan;
  /**
   * fstab's identifier for partitions whose setting names none: partuuid, except beside a sealed
   * (encrypted or verity) root, where the ISO installer cannot rewrite fstab after giving the disk
   * new partition GUIDs: there filesystem UUIDs, which survive the installer.
   */
  defaultMountIdentifier: MountIdentifier;
  packages: string[];
  kernel?: string;
  /** `--mirror`, else the config's Distro.Mirror. */
  mirror?: string;
  artifacts: ArtifactRequest[];
  outRoot: string;
  imageDir: string;
  logFile: string;
  cacheDir: string;
  options: BuildOptions;
  /** Set for a reproducible build. */
  reproducible?: Reproducible;
  /** Where the disk's identifiers come from (random, or derived for a reproducible build). */
  ids: IdSource;
}

export function chooseSystemConfig(loaded: LoadedConfig, name?: string): SystemConfig {
  const all = loaded.config.SystemConfigs;
  if (name) {
    const sc = all.find((s) => s.Name === name);
    if (!sc) throw new UsageError(`--system-config ${name}: ${loaded.file} has no SystemConfig of that name (it has: ${all.map((s) => s.Name).join(', ')})`);
    return sc;
  }
  const chosen = all.find((s) => s.IsDefault) ?? all[0];
  if (!chosen) throw new KilnError(`${loaded.file}: no SystemConfigs to build`, ExitCode.InvalidConfig);
  return chosen;
}

export function settingFor(sc: SystemConfig, id: string): PartitionSetting | undefined {
  return sc.PartitionSettings?.find((p) => p.ID === id);
}

export async function planBuild(loaded: LoadedConfig, options: BuildOptions = {}): Promise<BuildPlan> {
  const sc = chooseSystemConfig(loaded, options.systemConfig);
  const backend = backendFor(sc);
  const disk = loaded.config.Disks?.[0];
  const partitioned = !!disk?.Partitions?.length;
  let stacks: StackPlan;
  try {
    stacks = partitioned ? planStacks(sc) : { layers: new Map(), metadataPartitions: new Map() };
  } catch (e) {
    throw new KilnError(`${loaded.file}: SystemConfig "${sc.Name}": ${(e as Error).message}`, ExitCode.InvalidConfig);
  }
  let layout: DiskLayout | undefined;
  if (partitioned) {
    try {
      layout = planLayout(disk!, layoutRoles(stacks));
    } catch (e) {
      if (e instanceof LayoutError) throw new KilnError(`${loaded.file}: Disks[0]: ${e.message}`, ExitCode.InvalidConfig);
      throw e;
    }
  }
  const bt = bootType(sc);
  const boot: BootKind = !partitioned ? 'none' : bt === 'efi' || bt === 'legacy' ? bt : 'none';
  const artifacts: ArtifactRequest[] = [
    ...(disk?.Artifacts ?? []).map((a) => ({ ...a })),
    ...(disk?.Partitions ?? []).flatMap((p) => (p.Artifacts ?? []).map((a) => ({ ...a, partitionId: p.ID }))),
  ];
  const reproducible = reproducibleSettings(options);
  const xfs = (disk?.Partitions ?? []).find((p) => p.FsType === 'xfs');
  if (reproducible && partitioned && xfs) {
    throw new KilnError(`${loaded.file}: partition "${xfs.ID}" is xfs, which cannot be made reproducibly (its layout comes from the kernel's writes)`, ExitCode.InvalidConfig, [
      'reproducible builds support ext2/3/4, FAT and swap partitions; use ext4, or build without SOURCE_DATE_EPOCH / --reproducible',
    ]);
  }
  const layered = [...stacks.layers.keys()][0];
  if (reproducible && layered) {
    // the filesystems of a reproducible build are made again after assembly, which would have to
    // happen under the layer; and a LUKS header's volume key and salts are random by design
    throw new KilnError(`${loaded.file}: partition "${layered}" has a device layer (Encryption or Verity), which Kiln cannot build reproducibly yet`, ExitCode.InvalidConfig, [
      'build it without SOURCE_DATE_EPOCH / --reproducible / --seed, or drop Encryption / Verity for the reproducible build',
    ]);
  }
  const outRoot = resolve(options.outDir ?? 'out');
  const kernel = sc.KernelOptions?.default;
  const mirror = options.mirror ?? sc.Distro?.Mirror;
  const packages = await collectPackages(sc);
  return {
    loaded,
    sc,
    backend,
    ...(partitioned ? { disk: disk!, layout: layout! } : {}),
    boot,
    chain: bootChain(sc, backend.decl, packages),
    stacks,
    defaultMountIdentifier: stacks.layers.size ? 'uuid' : 'partuuid',
    packages,
    ...(kernel ? { kernel } : {}),
    ...(mirror ? { mirror } : {}),
    artifacts,
    outRoot,
    imageDir: join(outRoot, 'images', loaded.name),
    logFile: join(outRoot, 'logs', `${loaded.name}.log`),
    cacheDir: resolve(options.cacheDir ?? `/var/cache/kiln/${backend.name}-${backend.release}`),
    options,
    ...(reproducible ? { reproducible } : {}),
    ids: reproducible ? reproducibleIds(reproducible, loaded, sc.Name) : randomIds,
  };
}

/**
 * The pipeline's side of the caches (src/cache): which partitions hold the tree, the key request
 * for a build plan, and the initramfs step that reuses a stored initramfs when its inputs are
 * unchanged. See docs/caching.md.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { changedSince, changeMark, InitramfsCache } from '../cache/initramfs.js';
import { fstabShape, type TreeKeyRequest } from '../cache/key.js';
import { PayloadMismatch } from '../cache/payload.js';
import { DEFAULT_MAX_BYTES, DEFAULT_TREE_CACHE, TreeStore } from '../cache/store.js';
import { BaseTreeCache, type CacheSettings, type DiskRegion } from '../cache/tree.js';
import { buildMountOptions } from '../chroot/mounts.js';
import { info, logToFile, warn } from '../core/log.js';
import type { ChrootFn, InstallRequest } from '../distro/backend.js';
import { SECTOR } from '../disk/layout.js';
import { isBiosBoot, isFat } from '../disk/types.js';
import { renderFstab } from '../system/index.js';
import type { BuiltDisk } from '../system/types.js';
import { settingFor, type BuildPlan } from './plan.js';

export function cacheSettings(plan: BuildPlan): CacheSettings {
  return {
    dir: resolve(plan.options.treeCacheDir ?? DEFAULT_TREE_CACHE),
    maxBytes: plan.options.cacheMaxBytes ?? DEFAULT_MAX_BYTES,
  };
}

/** The planned disk's partitions that hold the tree (mounted ones), located in the raw file. */
export function diskRegions(plan: BuildPlan): DiskRegion[] {
  return (plan.layout?.partitions ?? []).flatMap((p) => {
    const s = settingFor(plan.sc, p.id);
    const fs = p.partition.FsType;
    if (!s?.MountPoint || fs === 'linux-swap' || (isBiosBoot(p.partition.Flags) && plan.layout!.table === 'gpt')) return [];
    return [{
      id: p.id,
      mountPoint: s.MountPoint,
      fsType: fs,
      startBytes: p.startSector * SECTOR,
      sizeBytes: p.sizeSectors * SECTOR,
      buildOptions: isFat(fs) ? [] : buildMountOptions(fs, s.MountOptions),
      staged: isFat(fs),
    }];
  });
}

/** The fstab written before the install, with placeholder identifiers (only its shape enters the key). */
function plannedFstab(plan: BuildPlan): string | undefined {
  if (!plan.layout) return undefined;
  const disk: BuiltDisk = {
    tableType: plan.layout.table,
    diskId: 'ID',
    partitions: plan.layout.partitions.map((p) => {
      const s = settingFor(plan.sc, p.id);
      return {
        id: p.id,
        partuuid: 'ID',
        fsuuid: 'ID',
        partlabel: p.name ?? 'ID',
        fsType: p.partition.FsType,
        mountIdentifier: s?.MountIdentifier ?? 'partuuid',
        ...(s?.MountPoint ? { mountPoint: s.MountPoint } : {}),
        ...(s?.MountOptions ? { mountOptions: s.MountOptions } : {}),
      };
    }),
  };
  return renderFstab(disk);
}

/**
 * What the package install gets from the plan: the install request (pipeline) and the tree cache
 * key are both made from this one list, so the key covers every input of the install.
 */
export function installInputs(plan: BuildPlan): Pick<InstallRequest, 'sc' | 'packages' | 'kernel' | 'boot' | 'repos' | 'mirror'> {
  return {
    sc: plan.sc,
    packages: plan.packages,
    ...(plan.kernel ? { kernel: plan.kernel } : {}),
    boot: plan.boot,
    repos: plan.sc.PackageRepos ?? [],
    ...(plan.mirror ? { mirror: plan.mirror } : {}),
  };
}

/** What the plan's tree cache key is made of (see cache/key.ts). */
export function treeKeyRequest(plan: BuildPlan, regions: DiskRegion[] | undefined, sourceDateEpoch?: number): TreeKeyRequest {
  const fstab = plannedFstab(plan);
  return {
    backend: plan.backend,
    install: { ...installInputs(plan), ...(fstab ? { fstab } : {}) },
    ...(regions ? { partitions: regions.map(({ startBytes: _s, ...shape }) => shape) } : {}),
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
  };
}

/** Look the plan's base tree up (or say why the cache is off). */
/** Partitions with LUKS or verity: both caches stay out of such builds. */
function hasDeviceLayers(plan: BuildPlan): boolean {
  return (plan.stacks?.layers.size ?? 0) > 0;
}

export async function openBuildCache(plan: BuildPlan, regions: DiskRegion[] | undefined, sourceDateEpoch?: number): Promise<BaseTreeCache> {
  const settings = cacheSettings(plan);
  if (plan.options.noCache) return BaseTreeCache.disabled(settings, plan.loaded.name, '--no-cache');
  // a cached filesystem is copied into the raw partition: under LUKS or verity that is the wrong
  // place, and the layers' own initramfs pieces are not in the cache's key
  if (hasDeviceLayers(plan)) return BaseTreeCache.disabled(settings, plan.loaded.name, 'device layers (Encryption, Verity)');
  return await BaseTreeCache.open(settings, plan.loaded.name, treeKeyRequest(plan, regions, sourceDateEpoch));
}

/**
 * The initramfs of every kernel: a stored one when every input is unchanged (with the cache on),
 * else the backend's generator, whose output is then stored for the next build.
 */
export async function makeInitramfs(plan: BuildPlan, root: string, chroot: ChrootFn, scratch: string, sourceDateEpoch?: number): Promise<'reused' | 'generated'> {
  const kernels = await plan.backend.kernels(root);
  let cache: InitramfsCache | undefined;
  if (!plan.options.noCache && !hasDeviceLayers(plan) && kernels.length) {
    let fstab = '';
    try {
      fstab = readFileSync(join(root, 'etc/fstab'), 'utf8');
    } catch {
      // no fstab: its shape is empty
    }
    cache = new InitramfsCache(new TreeStore(cacheSettings(plan).dir), plan.backend.decl.initramfs, { fstab: fstabShape(fstab), sourceDateEpoch: sourceDateEpoch ?? null });
    const found = await cache.find(root, kernels);
    if (found) {
      try {
        await cache.restore(root, found);
        info(`initramfs: reused ${found.id} (made ${found.created}; every file it holds and every setting its generator reads is unchanged)`);
        return 'reused';
      } catch (e) {
        if (!(e instanceof PayloadMismatch)) throw e;
        warn(`initramfs cache: ${e.message}; generating`);
      }
    }
  }
  const mark = cache ? await changeMark(scratch) : 0n;
  await plan.backend.updateInitramfs(root, chroot);
  if (!cache) return 'generated';
  try {
    const id = await cache.save(root, kernels, await changedSince(root, mark), scratch);
    logToFile(id ? `initramfs cache: stored ${id}` : 'initramfs cache: the generator wrote no initramfs for every kernel; nothing stored');
  } catch (e) {
    warn(`initramfs cache: not stored: ${(e as Error).message}`);
  }
  return 'generated';
}

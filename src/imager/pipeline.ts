/**
 * `build()`: a loaded config → artifacts under out/images/<config-name>/, a manifest and a log.
 *
 *   plan → host tools → [disk: sparse raw file → table → loop → filesystems → mounted tree]
 *        | [rootfs: a directory]
 *   → packages (distro backend, in a chroot) → system configuration steps → PostInstallScripts
 *   → bootloader → FinalizeImageScripts → manifest → unmount, fill FAT partitions, detach
 *   → roast into the requested artifacts.
 *
 * Every host resource is acquired through a scope, so success, failure and Ctrl-C all release them
 * (mounts, then loop devices, then the work directory); artifacts appear under their final names
 * only when complete (roast and writeAtomically rename finished files).
 */
import { existsSync, mkdirSync, readFileSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeAtomically } from '../core/atomic.js';
import { ExitCode, KilnError } from '../core/errors.js';
import { run } from '../core/exec.js';
import { emitEvent, endProgress, info, logToFile, progressCount, setLogFile, stage } from '../core/log.js';
import { lockDirectory } from '../core/lock.js';
import { privateDir } from '../core/private.js';
import { kilnVersion } from '../core/version.js';
import { SBOM_FILES, writeSboms } from '../sbom/index.js';
import { Scope, withScope } from '../core/scope.js';
import type { FsType, LoadedConfig } from '../config/model.js';
import { copyIntoFat } from '../disk/fat.js';
import { SECTOR } from '../disk/layout.js';
import { prepareDisk } from '../disk/image.js';
import { isFat } from '../disk/types.js';
import { ensureHostTools } from '../host/index.js';
import { chroot } from '../chroot/chroot.js';
import { flushFilesystem, mountTree, type MountSpec } from '../chroot/mounts.js';
import { collectBootFiles, finishBootloader, installBootloader, usesUki, type BootContext, type PendingBoot } from '../boot/index.js';
import { layerKernelArgs, rootDeviceSpec } from '../boot/layer-args.js';
import { checkSigningKeys } from '../boot/sign.js';
import type { BootFs } from '../boot/grubcfg.js';
import { planArtifacts, roast, type DiskPartition, type RoastInput } from '../roast/index.js';
import { baseImagesFromConfig } from '../roast/request.js';
import { applySystemConfig, renderFstab, runScripts } from '../system/index.js';
import { writeInRoot } from '../system/paths.js';
import { dpkgExcludesStep } from '../system/steps/dpkg-excludes.js';
import { chrootEnv, configDigest, hostEnv } from '../reproducible/index.js';
import { clampTimes, rebuildExtPartitions, writeRebuilt } from '../reproducible/filesystems.js';
import type { BuiltDisk, SystemContext } from '../system/types.js';
import type { ChrootFn } from '../distro/backend.js';
import { renderManifest } from './manifest.js';
import { registerConfigSecrets } from './secrets.js';
import { planBuild, settingFor, type BuildOptions, type BuildPlan } from './plan.js';
import { StageTimer } from './timings.js';
import { hostFilesFor, hostToolsFor } from './tools.js';
import type { BaseTreeCache, DiskRegion } from '../cache/tree.js';
import { diskRegions, installInputs, makeInitramfs, openBuildCache } from './tree-cache.js';

export type { BuildOptions } from './plan.js';

export interface BuildResult {
  plan: BuildPlan;
  imageDir: string;
  /** Absolute paths of the artifacts written. */
  artifacts: string[];
  manifest: string;
  log: string;
  /** --keep-raw on a disk build: out/images/<config>/<config>.raw */
  raw?: string;
  /** --keep-raw on a rootfs build: out/images/<config>/<config>.rootfs (a directory) */
  tree?: string;
  /** Identifiers of the disk that was built (partition UUIDs, filesystem UUIDs). */
  disk?: BuiltDisk;
  timings: ReturnType<StageTimer['toJSON']>;
}

export async function build(loaded: LoadedConfig, options: BuildOptions = {}): Promise<BuildResult> {
  const plan = await planBuild(loaded, options);
  registerConfigSecrets(loaded.config);
  // out/ and out/images/ are 0700 when Kiln creates them; what Kiln owns below is always 0700
  mkdirSync(join(plan.imageDir, '..'), { recursive: true, mode: 0o700 });
  // one build per output directory at a time (exit 5 otherwise), held until everything is released
  const unlock = await lockDirectory(plan.imageDir, `the output directory ${plan.imageDir}`);
  try {
    return await buildLocked(plan, loaded, options);
  } finally {
    await unlock();
  }
}

/** Below this much free space a failure is most likely the full disk's doing. */
const NEARLY_FULL = 256 * 1024 * 1024;

/**
 * A full output filesystem rarely says so: the image's own filesystem on the loop device sees
 * write errors and turns read-only, and dpkg reports "Read-only file system". When a build fails
 * with the output filesystem (nearly) full, the error says that too.
 */
export function explainFullFilesystem(e: unknown, outRoot: string): void {
  if (!(e instanceof KilnError) || e.exitCode !== ExitCode.BuildFailed) return;
  let free: number;
  try {
    const st = statfsSync(outRoot);
    free = st.bavail * st.bsize;
  } catch {
    return;
  }
  if (free >= NEARLY_FULL) return;
  e.details.push(`the filesystem holding ${outRoot} is full (${Math.floor(free / 1024 / 1024)} MiB free): free space there or build into another --out; the errors above may only be its consequences (No space left on device)`);
}

async function buildLocked(plan: BuildPlan, loaded: LoadedConfig, options: BuildOptions): Promise<BuildResult> {
  privateDir(join(plan.logFile, '..'));
  writeFileSync(plan.logFile, '', { mode: 0o600 });
  setLogFile(plan.logFile);
  const timer = new StageTimer();
  const timingsFile = join(plan.outRoot, 'logs', `${loaded.name}.timings.json`);
  emitEvent({ type: 'build-start', config: loaded.file, name: loaded.name, ...previousStageTimes(timingsFile) });
  stage(
    `build ${loaded.name}: SystemConfig "${plan.sc.Name}", ${plan.backend.name} ${plan.backend.release}, ` +
      (plan.layout ? `${plan.layout.table} disk of ${plan.layout.sizeBytes / 1024 / 1024} MiB, boot ${plan.boot}` : 'root filesystem tree'),
  );
  if (plan.reproducible) {
    // every tool of this build (host and image) reads the same clock and locale
    Object.assign(process.env, hostEnv(plan.reproducible));
    stage(`reproducible: SOURCE_DATE_EPOCH=${plan.reproducible.sourceDateEpoch}, seed ${JSON.stringify(plan.reproducible.seed)}, config digest ${configDigest(loaded, plan.sc.Name).slice(0, 16)}`);
  }
  await ensureHostTools(hostToolsFor(plan), hostFilesFor(plan));
  if (plan.chain.signing) checkSigningKeys(plan.chain.signing);
  privateDir(plan.imageDir);
  const input: RoastInput = plan.layout ? { kind: 'disk', path: 'disk.raw', partitions: diskPartitions(plan) } : { kind: 'tree', path: 'rootfs' };
  // fail on impossible artifacts now, not after the install; and never leave a previous build's
  // file under a name this build is about to write (a failed build must not look like a success)
  // the same base images `kiln validate` plans diff/rdiff artifacts with (PartitionSettings of the default SystemConfig)
  const baseImages = baseImagesFromConfig(loaded.config);
  const planned = options.skipArtifacts ? [] : planArtifacts({ input, artifacts: plan.artifacts, baseImages });
  for (const f of [...planned.map((p) => p.fileName), 'manifest.json', SBOM_FILES.cyclonedx, SBOM_FILES.spdx]) await rm(join(plan.imageDir, f), { force: true });

  return await withScope(`build ${loaded.name}`, async (scope) => {
    try {
      return await assemble(plan, loaded, options, scope, timer, baseImages);
    } catch (e) {
      // now, before the scope releases the work directory and the space it took
      explainFullFilesystem(e, plan.outRoot);
      throw e;
    }
  });
}

async function assemble(plan: BuildPlan, loaded: LoadedConfig, options: BuildOptions, scope: Scope, timer: StageTimer, baseImages: ReturnType<typeof baseImagesFromConfig>): Promise<BuildResult> {
  const timingsFile = join(plan.outRoot, 'logs', `${loaded.name}.timings.json`);
  const work = await mkdtemp(join(plan.outRoot, `.work-${loaded.name}-`));
  scope.add(`work directory ${work}`, () => removeTree(work), { kind: 'path', path: work });
  const result = plan.layout ? await buildDisk(plan, scope, work, timer) : await buildTree(plan, work, timer);

  const artifacts = options.skipArtifacts
    ? []
    : await timer.time(`roast ${plan.artifacts.map((a) => a.Name).join(', ') || '(no artifacts)'}`, () =>
        // the raw disk is a throwaway unless --keep-raw: a raw or fixed-VHD artifact takes it over by rename
        roast({
          input: result.roastInput,
          artifacts: plan.artifacts,
          baseImages,
          outDir: plan.imageDir,
          scope,
          consumeInput: !options.keepRaw,
          ...(plan.reproducible ? { reproducible: { sourceDateEpoch: plan.reproducible.sourceDateEpoch, ids: plan.ids } } : {}),
        }),
      );
  const manifest = join(plan.imageDir, 'manifest.json');
  await writeAtomically(scope, manifest, (tmp) => writeFile(tmp, renderManifest(plan, result.packages, result.kernels, artifacts)));
  const sboms = await timer.time('SBOM (CycloneDX, SPDX)', () =>
    writeSboms(
      scope,
      plan.imageDir,
      {
        name: loaded.name,
        config: loaded.file,
        systemConfig: plan.sc.Name,
        distro: { name: plan.backend.decl.name, family: plan.backend.decl.family, prettyName: plan.backend.decl.prettyName, release: plan.backend.release },
        ...(result.kernels[0] ? { kernel: result.kernels[0] } : {}),
        packages: result.packages,
        created: new Date(),
        toolVersion: kilnVersion(),
      },
      artifacts,
    ),
  );
  for (const d of sboms.digests) emitEvent({ type: 'artifact', kind: 'image', path: d.path, bytes: d.bytes, sha256: d.sha256 });
  for (const f of [manifest, ...sboms.files]) emitEvent({ type: 'artifact', kind: f === manifest ? 'manifest' : 'sbom', path: f, bytes: statSync(f).size });

  let raw: string | undefined;
  let tree: string | undefined;
  if (options.keepRaw) {
    if (plan.layout) {
      raw = join(plan.imageDir, `${loaded.name}.raw`);
      await rename(result.roastInput.path, raw);
    } else {
      tree = join(plan.imageDir, `${loaded.name}.rootfs`);
      await removeTree(tree);
      await rename(result.roastInput.path, tree);
    }
  }
  const timings = timer.toJSON();
  writeFileSync(timingsFile, JSON.stringify(timings, null, 1) + '\n', { mode: 0o600 });
  logToFile(`timings: ${JSON.stringify(timings)}`);
  info(`done in ${timings.totalSeconds.toFixed(0)} s: ${[...artifacts, manifest, ...sboms.files].join(', ')}`);
  return {
    plan,
    imageDir: plan.imageDir,
    artifacts,
    manifest,
    log: plan.logFile,
    ...(raw ? { raw } : {}),
    ...(tree ? { tree } : {}),
    ...(result.disk ? { disk: result.disk } : {}),
    timings,
  };
}

interface Assembled {
  roastInput: RoastInput & { path: string };
  packages: Awaited<ReturnType<BuildPlan['backend']['manifest']>>;
  kernels: string[];
  disk?: BuiltDisk;
}

/** Partition byte ranges for roast's partition artifacts. */
function diskPartitions(plan: BuildPlan): DiskPartition[] {
  return (plan.layout?.partitions ?? []).map((p) => ({
    id: p.id,
    startBytes: p.startSector * SECTOR,
    sizeBytes: p.sizeSectors * SECTOR,
    fsType: p.partition.FsType,
  }));
}

async function buildDisk(plan: BuildPlan, scope: Scope, work: string, timer: StageTimer): Promise<Assembled> {
  const layout = plan.layout!;
  const rawPath = join(work, 'disk.raw');
  const root = join(work, 'root');
  // nested scopes so the tree can be unmounted and the disk detached before roasting, while a
  // failure anywhere still releases them (the outer scope closes them if they are still open)
  const diskScope = new Scope(`disk ${plan.loaded.name}`);
  const releaseDisk = scope.add('loop devices', () => diskScope.close());
  const mountScope = new Scope(`mounts ${plan.loaded.name}`);
  const releaseMounts = scope.add('mounted tree', () => mountScope.close());

  const regions = diskRegions(plan);
  const cache = await timer.time('tree cache lookup', () => openBuildCache(plan, regions, plan.reproducible?.sourceDateEpoch));
  scope.add('tree cache locks', () => cache.close());
  const prepared = await timer.time(cache.state === 'hit' ? 'partition the disk, copy the cached base tree in' : 'partition and format the disk', () =>
    prepareDisk(diskScope, rawPath, layout, {
      settings: (id) => settingFor(plan.sc, id),
      stacks: plan.stacks,
      workDir: work,
      defaultMountIdentifier: plan.defaultMountIdentifier,
      ids: plan.ids,
      ...(cache.state === 'hit' ? { prefill: (path: string) => cache.prefill(path, regions) } : {}),
    }),
  );
  const built = prepared.built;
  for (const [id, bits] of prepared.fatBits) logToFile(`partition ${id}: FAT${bits}`);

  const espPart = layout.partitions.find((p) => p.partition.Flags?.includes('esp'));
  const specs: MountSpec[] = built.partitions
    .filter((p) => p.mountPoint && p.fsType !== 'linux-swap' && p.fsuuid)
    .map((p) => ({ id: p.id, mountPoint: p.mountPoint!, device: p.device!, fsType: p.fsType, ...(p.mountOptions ? { options: p.mountOptions } : {}), staged: isFat(p.fsType as never) }));
  if (!specs.some((s) => s.mountPoint === '/')) {
    throw new KilnError(`SystemConfig "${plan.sc.Name}": no partition is mounted at "/"`, ExitCode.InvalidConfig, ['give the root partition "MountPoint": "/" in PartitionSettings']);
  }
  const staging = join(work, 'staging');
  const tree = await timer.time('mount the tree', () => mountTree(mountScope, root, specs, staging));
  // FAT partitions without a mount point (e.g. an ESP not in fstab) still get a staging directory
  for (const p of built.partitions) {
    if (isFat(p.fsType as never) && p.fsuuid && !tree.staging.has(p.id)) {
      const dir = join(staging, p.id);
      mkdirSync(dir, { recursive: true });
      tree.staging.set(p.id, dir);
    }
  }

  const rootPart = built.partitions.find((p) => p.mountPoint === '/')!;
  const rootStack = prepared.stacks.find((s) => s.partitionId === rootPart.id);
  const bootPart = built.partitions.find((p) => p.mountPoint === '/boot');
  const bootFs: BootFs = bootPart?.fsuuid ? { uuid: bootPart.fsuuid, prefix: '' } : { uuid: rootPart.fsuuid!, prefix: '/boot' };
  const bootCtx: BootContext = {
    scope: diskScope,
    root,
    sc: plan.sc,
    backend: plan.backend,
    chroot: inImage(plan, root),
    boot: plan.boot,
    chain: plan.chain,
    table: layout.table,
    diskDevice: prepared.attached.device,
    // a UKI names the root by filesystem UUID: nothing can rewrite a signed command line after the
    // ISO installer gives the disk new partition GUIDs
    rootDevice: rootDeviceSpec(rootPart, usesUki(plan.chain.loader) ? 'uuid' : 'partuuid'),
    rootLayered: !!rootStack,
    layerArgs: () => (rootStack ? layerKernelArgs(rootStack.boot(rootPart.fsuuid!), plan.backend.decl.initramfs.generator) : []),
    bootFs,
    ...(bootPart?.partuuid ? { bootPartuuid: bootPart.partuuid } : {}),
    fsTypes: built.partitions.map((p) => p.fsType),
    ...(espPart && tree.staging.has(espPart.id) ? { espStaging: tree.staging.get(espPart.id)! } : {}),
    workDir: work,
  };
  let pendingBoot: PendingBoot = {};
  const assembled = await populate(plan, work, root, built, timer, { cache, regions, raw: rawPath, staging: tree.staging }, async () => {
    pendingBoot = await timer.time(`bootloader (${plan.boot}, ${plan.chain.loader})`, () => installBootloader(bootCtx));
  });

  pendingBoot = await collectBootFiles(bootCtx, pendingBoot);
  await timer.time('unmount, fill FAT partitions, detach', async () => {
    if (plan.reproducible) await clampTimes(root, plan.reproducible.sourceDateEpoch);
    for (const spec of [...specs].reverse()) {
      if (spec.staged) continue;
      const target = resolve(join(root, spec.mountPoint));
      await flushFilesystem(target);
      // free blocks (deleted files' data) become holes in the raw file: less to convert and ship; a
      // LUKS payload then encrypts only what is used, a verity image stays small
      await run('fstrim', [target], { allowFailure: true });
      if (prepared.stacks.some((s) => s.partitionId === spec.id)) {
        // final from here on: read-only at the superblock, so not even a copy of the mount held by
        // another mount namespace can write to it after it is sealed
        await run('mount', ['-o', 'remount,ro', target]);
      }
    }
    await releaseMounts();
    if (prepared.stacks.length) {
      await timer.time(`seal device layers (${prepared.stacks.map((s) => `${s.partitionId}: ${s.kinds.join('+')}`).join(', ')})`, async () => {
        for (const s of prepared.stacks) await s.seal(built.partitions.find((p) => p.id === s.partitionId)!.fsType as FsType);
      });
    }
    await finishBootloader(bootCtx, pendingBoot);
    for (const [id, dir] of tree.staging) {
      const p = built.partitions.find((x) => x.id === id)!;
      await copyIntoFat(p.device!, dir);
    }
    const rebuilt = plan.reproducible
      ? await rebuildExtPartitions(
          built.partitions.filter((p) => p.device && p.fsuuid).map((p) => {
            const at = layout.partitions.find((x) => x.id === p.id)!;
            return { id: p.id, device: p.device!, fsType: p.fsType, uuid: p.fsuuid!, startBytes: at.startSector * SECTOR, sizeBytes: at.sizeSectors * SECTOR };
          }),
          plan.ids,
          plan.reproducible.sourceDateEpoch,
          work,
        )
      : [];
    await run('sync', ['-f', rawPath]);
    await releaseDisk();
    await writeRebuilt(rawPath, rebuilt);
  });
  // device names are meaningless once detached
  const disk: BuiltDisk = { ...built, partitions: built.partitions.map(({ device: _d, ...p }) => p) };
  return { ...assembled, roastInput: { kind: 'disk', path: rawPath, partitions: diskPartitions(plan) }, disk };
}

async function buildTree(plan: BuildPlan, work: string, timer: StageTimer): Promise<Assembled> {
  const root = join(work, 'rootfs');
  mkdirSync(root, { recursive: true });
  const cache = await timer.time('tree cache lookup', () => openBuildCache(plan, undefined, plan.reproducible?.sourceDateEpoch));
  try {
    const assembled = await populate(plan, work, root, undefined, timer, { cache }, async () => {});
    if (plan.reproducible) await clampTimes(root, plan.reproducible.sourceDateEpoch);
    return { ...assembled, roastInput: { kind: 'tree', path: root } };
  } finally {
    await cache.close();
  }
}

/** Where the base tree comes from and goes to: the tree cache, the disk's partitions, the FAT staging directories. */
interface TreeSource {
  cache: BaseTreeCache;
  regions?: DiskRegion[];
  raw?: string;
  staging?: ReadonlyMap<string, string>;
}

/**
 * Install (or restore the cached base tree), configure and run the scripts in the format's order;
 * `boot` runs between the script phases.
 */
async function populate(
  plan: BuildPlan,
  work: string,
  root: string,
  disk: BuiltDisk | undefined,
  timer: StageTimer,
  source: TreeSource,
  boot: (ctx: SystemContext) => Promise<void>,
): Promise<Omit<Assembled, 'roastInput' | 'disk'>> {
  const { cache } = source;
  timer.notes.treeCache = { state: cache.state, ...(cache.key ? { key: cache.key.key } : {}), ...(cache.reason ? { reason: cache.reason } : {}) };
  const chrootFn: ChrootFn = inImage(plan, root);
  const ctx: SystemContext = {
    root,
    loaded: plan.loaded,
    sc: plan.sc,
    distro: plan.backend.decl,
    ...(disk ? { disk } : {}),
    chroot: (argv, opts) => chrootFn(argv, opts ? { ...opts } : {}),
  };
  let restored = false;
  if (cache.state === 'hit') {
    // disk builds: the filesystems were copied in before the disk was attached (prefill)
    restored = await timer.time('restore the cached base tree', async () => {
      if (disk) {
        await cache.restoreDirectories(source.staging ?? new Map());
        return true;
      }
      return await cache.restoreTree(root);
    });
    await cache.restored();
  }
  if (!restored) {
    // written before any package: the kernel's initramfs is built knowing the root filesystem (fsck helpers)
    if (disk) await writeInRoot(root, '/etc/fstab', renderFstab(disk), { mode: 0o644 });
    const request = {
      root,
      ...installInputs(plan),
      cacheDir: plan.cacheDir,
      scratchDir: work,
      onProgress: (done: number, total: number) => progressCount('packages', done, total),
    };
    await timer.time('install packages', () => plan.backend.install(request));
    endProgress();
    if (cache.storing) {
      // the dpkg filters' pruning is decided by install-time keys alone: the cached tree has it done
      await applySystemConfig(ctx, [dpkgExcludesStep]);
      await timer.time('store the base tree in the cache', async () =>
        cache.capture({
          root,
          ...(source.raw ? { raw: source.raw } : {}),
          ...(source.regions ? { regions: source.regions } : {}),
          ...(source.staging ? { staging: source.staging } : {}),
          packages: (await plan.backend.manifest(root)).length,
          snapshotNow: () => plan.backend.repoSnapshot(request),
        }),
      );
    }
  }
  await timer.time('system configuration', () => applySystemConfig(ctx));
  if (disk) timer.notes.initramfs = await timer.time('initramfs', () => makeInitramfs(plan, root, chrootFn, work, plan.reproducible?.sourceDateEpoch));
  await timer.time('PostInstallScripts', () => runScripts(ctx, 'PostInstallScripts'));
  await boot(ctx);
  await timer.time('FinalizeImageScripts', () => runScripts(ctx, 'FinalizeImageScripts'));
  // the manifest before the package state is finished: RemoveRpmDb removes what it reads
  const packages = await plan.backend.manifest(root);
  const kernels = await plan.backend.kernels(root);
  info(await plan.backend.finishPackageState({ root, sc: plan.sc, cacheDir: plan.cacheDir, installed: packages, ...(plan.mirror ? { mirror: plan.mirror } : {}) }));
  info(`${packages.length} packages installed${kernels[0] ? `, kernel ${kernels[0]}` : ''}`);
  return { packages, kernels };
}

/** Seconds per stage of this config's previous build (out/logs/<name>.timings.json), for the estimate. */
function previousStageTimes(file: string): { estimateSeconds?: Record<string, number> } {
  try {
    const prev = JSON.parse(readFileSync(file, 'utf8')) as { stages?: { name: string; seconds: number }[] };
    if (!prev.stages?.length) return {};
    return { estimateSeconds: Object.fromEntries(prev.stages.map((s) => [s.name, Math.round(s.seconds * 10) / 10])) };
  } catch {
    return {};
  }
}

/** Run a program inside the image (a reproducible build adds SOURCE_DATE_EPOCH to its environment). */
function inImage(plan: BuildPlan, root: string): ChrootFn {
  const extra = chrootEnv(plan.reproducible);
  return (argv, opts) => chroot(root, argv, { ...opts, env: { ...extra, ...opts?.env } });
}

/** rm -rf that never crosses into another filesystem (a mount left behind stays untouched). */
async function removeTree(path: string): Promise<void> {
  if (!existsSync(path)) return;
  await run('rm', ['-rf', '--one-file-system', path]);
}

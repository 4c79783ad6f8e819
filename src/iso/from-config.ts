/**
 * `kiln build` / `kiln iso` of a config that asks for an ISO: build the raw disk of every
 * SystemConfig with the imager (no artifacts), then make the ISO from them. The raw images are
 * temporary: only the ISO (and each build's manifest and log) remains.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build, type BuildOptions } from '../imager/index.js';
import { chooseSystemConfig } from '../imager/plan.js';
import type { LoadedConfig } from '../config/model.js';
import { KilnError } from '../core/errors.js';
import { emitEvent, setLogFile, stage } from '../core/log.js';
import { kilnVersion } from '../core/version.js';
import type { InstalledPackage } from '../distro/backend.js';
import { writeSboms, type SbomInput } from '../sbom/index.js';
import { lockDirectory } from '../core/lock.js';
import { privateDir } from '../core/private.js';
import { withScope } from '../core/scope.js';
import { registerConfigSecrets } from '../imager/secrets.js';
import { buildIso, isoFileName, type BuiltIso, type IsoImage } from './isomaker.js';
import { systemManifestName, type AfterInstall } from './layout.js';
import { DEFAULT_CACHE_ROOT } from './installer-boot.js';

export interface IsoFromConfigOptions {
  /** Output root (default ./out): the ISO goes to <out>/images/<config-name>/. */
  outDir?: string;
  /** The imager's downloaded-package cache. */
  packageCacheDir?: string;
  /** Mirror root for the images' packages (`kiln build --mirror`). */
  mirror?: string;
  after?: AfterInstall;
  rebuildInitrd?: boolean;
  /** Keep each SystemConfig's raw disk as <out>/images/<config>/<config>-<n>.raw (n from 1, config order). */
  keepRaw?: boolean;
  /** Tree cache and reproducibility settings for the images' builds. */
  imageOptions?: Pick<BuildOptions, 'noCache' | 'treeCacheDir' | 'cacheMaxBytes' | 'reproducible' | 'seed'>;
  /** `--system-config NAME`: an ISO carrying only that SystemConfig. */
  systemConfig?: string;
}

/** The config as the ISO sees it: every SystemConfig, or only the one `--system-config` names. */
export function isoSelection(loaded: LoadedConfig, systemConfig?: string): LoadedConfig {
  if (!systemConfig) return loaded;
  const sc = chooseSystemConfig(loaded, systemConfig);
  return { ...loaded, config: { ...loaded.config, SystemConfigs: [sc] } };
}

export async function buildIsoFromConfig(all: LoadedConfig, opts: IsoFromConfigOptions = {}): Promise<BuiltIso> {
  const loaded = isoSelection(all, opts.systemConfig);
  const outRoot = resolve(opts.outDir ?? 'out');
  const imageDir = join(outRoot, 'images', loaded.name);
  registerConfigSecrets(loaded.config);
  mkdirSync(join(imageDir, '..'), { recursive: true, mode: 0o700 });
  // held across every SystemConfig's build (the imager's own lock of the same directory nests)
  const unlock = await lockDirectory(imageDir, `the output directory ${imageDir}`);
  try {
    return await isoLocked(loaded, opts, outRoot, imageDir);
  } finally {
    await unlock();
  }
}

async function isoLocked(loaded: LoadedConfig, opts: IsoFromConfigOptions, outRoot: string, imageDir: string): Promise<BuiltIso> {
  // like the imager's artifacts: a previous ISO of the same name goes now, so a failed or
  // interrupted build never leaves an ISO that looks like its result
  await rm(join(privateDir(imageDir), isoFileName(loaded)), { force: true });
  for (const f of existsSync(imageDir) ? readdirSync(imageDir) : []) if (/^manifest(-.*)?\.json$/.test(f)) await rm(join(imageDir, f), { force: true });
  const payloadDir = join(imageDir, `.iso-payload-${process.pid}`);
  mkdirSync(payloadDir, { recursive: true, mode: 0o700 });
  // one scope around everything: SIGINT/SIGTERM between the steps still release, and the record
  // lets `kiln clean` remove the raw images of a killed ISO build
  return await withScope(`iso payload ${loaded.name}`, async (payloadScope) => {
    payloadScope.add(`payload ${payloadDir}`, () => rmSync(payloadDir, { recursive: true, force: true }), { kind: 'path', path: payloadDir });
    const images: IsoImage[] = [];
    // what the SBOMs of the ISO list: every SystemConfig's packages (the union of the per-system
    // manifests), and the ISO itself as the artifact
    let sbom: Omit<SbomInput, 'artifacts'> | undefined;
    for (const [i, sc] of loaded.config.SystemConfigs.entries()) {
      stage(`iso ${loaded.name}: building the image of SystemConfig "${sc.Name}" (${i + 1}/${loaded.config.SystemConfigs.length})`);
      const r = await build(loaded, {
        outDir: outRoot,
        keepRaw: true,
        skipArtifacts: true,
        systemConfig: sc.Name,
        ...(opts.packageCacheDir ? { cacheDir: opts.packageCacheDir } : {}),
        ...(opts.mirror ? { mirror: opts.mirror } : {}),
        ...opts.imageOptions,
      });
      if (!r.raw) throw new KilnError(`${loaded.file}: SystemConfig "${sc.Name}" built no disk image; an ISO installs disk images (Disks[0].Partitions is required)`);
      const installed = JSON.parse(readFileSync(r.manifest, 'utf8')) as { kernel?: string; packages: InstalledPackage[] };
      const decl = r.plan.backend.decl;
      sbom = {
        name: loaded.name,
        config: loaded.file,
        systemConfig: sbom ? `${sbom.systemConfig}, ${sc.Name}` : sc.Name,
        distro: { name: decl.name, family: decl.family, prettyName: decl.prettyName, release: r.plan.backend.release },
        ...((sbom?.kernel ?? installed.kernel) ? { kernel: (sbom?.kernel ?? installed.kernel)! } : {}),
        packages: unionPackages(sbom?.packages ?? [], installed.packages),
        created: new Date(),
        toolVersion: kilnVersion(),
      };
      const raw = join(payloadDir, `${i + 1}.raw`);
      await rename(r.raw, raw);
      // each build writes manifest.json: kept under the system's own name, or the next build replaces it
      const manifest = join(imageDir, systemManifestName(sc, i));
      await rename(r.manifest, manifest);
      images.push({ sc, raw, manifest });
    }
    setLogFile(join(outRoot, 'logs', `${loaded.name}.iso.log`));
    const iso = await withScope(`iso ${loaded.name}`, (scope) =>
      buildIso({
        loaded,
        images,
        outDir: imageDir,
        cacheDir: DEFAULT_CACHE_ROOT,
        scope,
        ...(opts.after ? { after: opts.after } : {}),
        ...(opts.rebuildInitrd ? { rebuildInitrd: true } : {}),
      }),
    );
    if (sbom) {
      const written = await writeSboms(payloadScope, imageDir, sbom, [iso.iso]);
      for (const f of written.files) emitEvent({ type: 'artifact', kind: 'sbom', path: f, bytes: statSync(f).size });
    }
    if (opts.keepRaw) for (const [i, img] of images.entries()) await rename(img.raw, join(imageDir, `${loaded.name}-${i + 1}.raw`));
    return iso;
  });
}

/** Packages of several images, each name/version/architecture once, sorted by name. */
function unionPackages(a: readonly InstalledPackage[], b: readonly InstalledPackage[]): InstalledPackage[] {
  const seen = new Map<string, InstalledPackage>();
  for (const p of [...a, ...b]) seen.set(`${p.name}\t${p.version}\t${p.arch}`, p);
  return [...seen.values()].sort((x, y) => x.name.localeCompare(y.name) || x.version.localeCompare(y.version));
}

import { statSync } from 'node:fs';
import { UsageError } from '../../core/errors.js';
import { emitEvent } from '../../core/log.js';
import type { Command } from 'commander';
import { DEFAULT_TREE_CACHE, parseSize } from '../../cache/store.js';

interface BuildCliOptions {
  out: string;
  jobs: string;
  cacheDir?: string;
  keepRaw?: boolean;
  systemConfig?: string;
  baseDir?: string;
  mirror?: string;
  allowOutsideConfigDir?: boolean;
  cache: boolean;
  treeCache?: string;
  cacheMaxSize?: string;
  reproducible?: boolean;
  seed?: string;
}

/** The options of one build of several, as `kiln build` arguments (everything but the config). */
function childArgs(opts: BuildCliOptions): string[] {
  const args = ['--out', opts.out];
  const pairs: [string, string | undefined][] = [
    ['--cache-dir', opts.cacheDir],
    ['--system-config', opts.systemConfig],
    ['--base-dir', opts.baseDir],
    ['--mirror', opts.mirror],
    ['--tree-cache', opts.treeCache],
    ['--cache-max-size', opts.cacheMaxSize],
    ['--seed', opts.seed],
  ];
  for (const [flag, value] of pairs) if (value !== undefined) args.push(flag, value);
  if (opts.keepRaw) args.push('--keep-raw');
  if (opts.allowOutsideConfigDir) args.push('--allow-outside-config-dir');
  if (opts.cache === false) args.push('--no-cache');
  if (opts.reproducible) args.push('--reproducible');
  return args;
}

/** --no-cache, --tree-cache, --cache-max-size (also KILN_CACHE_MAX_SIZE) as build options. */
export function cacheOptions(opts: { cache?: boolean; treeCache?: string; cacheMaxSize?: string }): { noCache?: boolean; treeCacheDir?: string; cacheMaxBytes?: number } {
  const size = opts.cacheMaxSize ?? process.env.KILN_CACHE_MAX_SIZE;
  let cacheMaxBytes: number | undefined;
  if (size !== undefined) {
    try {
      cacheMaxBytes = parseSize(size);
    } catch (e) {
      throw new UsageError(`--cache-max-size: ${(e as Error).message}`);
    }
  }
  return {
    ...(opts.cache === false ? { noCache: true } : {}),
    ...(opts.treeCache ? { treeCacheDir: opts.treeCache } : {}),
    ...(cacheMaxBytes !== undefined ? { cacheMaxBytes } : {}),
  };
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build the images a config describes: out/images/<config>/<Name>.<ext>, a manifest and out/logs/<config>.log; several configs: -j N at a time')
    .argument('<configs...>', 'image config file(s) (JSON or YAML)')
    .option('-j, --jobs <n>', 'with several configs: how many build at the same time (each in its own process, logs in out/logs/<config>.console.log)', '1')
    .option('--out <dir>', 'output directory', 'out')
    .option('--cache-dir <dir>', 'downloaded-package cache shared between builds (default /var/cache/kiln/<distro>-<release>)')
    .option('--keep-raw', 'also keep the raw disk as out/images/<config>/<config>.raw (rootfs configs: the tree as <config>.rootfs/)')
    .option('--system-config <name>', 'the SystemConfig to build when the config has several (default: IsDefault, else the first; an ISO config: an ISO of that system only)')
    .option('--base-dir <dir>', "resolve the config's relative paths against this directory instead of the config file's")
    .option('--mirror <url>', "mirror root replacing the distribution's default repositories (http, https or file URL; wins over Distro.Mirror)")
    .option('--allow-outside-config-dir', "let the config refer to files outside its directory (or --base-dir), e.g. /etc/...; only for configs you trust")
    .option('--no-cache', 'neither reuse nor store base trees and initramfs images (the package cache is still used)')
    .option('--tree-cache <dir>', `base-tree cache directory (default ${DEFAULT_TREE_CACHE})`)
    .option('--cache-max-size <size>', 'bound of the tree cache, e.g. 16G (least recently used entries are evicted past it)')
    .option('--reproducible', 'same config and package snapshot → same bytes (also on when SOURCE_DATE_EPOCH is set; default epoch 2024-01-01)')
    .option('--seed <text>', 'seed of the derived disk and filesystem identifiers of a reproducible build (implies --reproducible)')
    .action(async (configs: string[], opts: BuildCliOptions) => {
      if (!/^[1-9]\d*$/.test(opts.jobs)) throw new UsageError(`--jobs ${opts.jobs}: not a positive number`);
      if (configs.length > 1) {
        const { buildMany } = await import('../../imager/many.js');
        const { code } = await buildMany({ configs, jobs: Number(opts.jobs), args: childArgs(opts), outDir: opts.out });
        process.exitCode = code;
        return;
      }
      const config = configs[0]!;
      // the pipeline is loaded when the verb runs, so `kiln --help` and the other verbs start fast
      const [{ build }, { loadConfig }, { buildIsoFromConfig, wantsIso }] = await Promise.all([
        import('../../imager/index.js'),
        import('../../config/index.js'),
        import('../../iso/index.js'),
      ]);
      if (opts.mirror !== undefined && !/^(https?|file):\/\/\S+$/.test(opts.mirror)) {
        throw new UsageError(`--mirror ${opts.mirror}: not an http(s):// or file:// URL`);
      }
      const loaded = await loadConfig(config, {
        ...(opts.baseDir ? { baseDir: opts.baseDir } : {}),
        ...(opts.allowOutsideConfigDir ? { allowOutsideConfigDir: true } : {}),
      });
      // an ISO config (TargetDisk, or an artifact of Type "iso"): every SystemConfig's disk (or the
      // one --system-config names), then the ISO that installs them
      if (wantsIso(loaded.config)) {
        const built = await buildIsoFromConfig(loaded, {
          outDir: opts.out,
          keepRaw: !!opts.keepRaw,
          ...(opts.systemConfig ? { systemConfig: opts.systemConfig } : {}),
          ...(opts.cacheDir ? { packageCacheDir: opts.cacheDir } : {}),
          ...(opts.mirror ? { mirror: opts.mirror } : {}),
          imageOptions: { ...cacheOptions(opts), ...(opts.reproducible ? { reproducible: true } : {}), ...(opts.seed !== undefined ? { seed: opts.seed } : {}) },
        });
        emitEvent({ type: 'artifact', kind: 'iso', path: built.iso, bytes: statSync(built.iso).size });
        return;
      }
      await build(loaded, {
        outDir: opts.out,
        ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
        ...(opts.keepRaw ? { keepRaw: true } : {}),
        ...(opts.systemConfig ? { systemConfig: opts.systemConfig } : {}),
        ...(opts.mirror ? { mirror: opts.mirror } : {}),
        ...cacheOptions(opts),
        ...(opts.reproducible ? { reproducible: true } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      });
    });
}

import { UsageError } from '../../core/errors.js';
import type { Command } from 'commander';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build the images a config describes: out/images/<config>/<Name>.<ext>, a manifest and out/logs/<config>.log')
    .argument('<config>', 'image config file (JSON or YAML)')
    .option('--out <dir>', 'output directory', 'out')
    .option('--cache-dir <dir>', 'downloaded-package cache shared between builds (default /var/cache/kiln/<distro>-<release>)')
    .option('--keep-raw', 'also keep the raw disk as out/images/<config>/<config>.raw (rootfs configs: the tree as <config>.rootfs/)')
    .option('--system-config <name>', 'the SystemConfig to build when the config has several (default: IsDefault, else the first; an ISO config: an ISO of that system only)')
    .option('--base-dir <dir>', "resolve the config's relative paths against this directory instead of the config file's")
    .option('--mirror <url>', "mirror root replacing the distribution's default repositories (http, https or file URL; wins over Distro.Mirror)")
    .option('--allow-outside-config-dir', "let the config refer to files outside its directory (or --base-dir), e.g. /etc/...; only for configs you trust")
    .action(async (config: string, opts: { out: string; cacheDir?: string; keepRaw?: boolean; systemConfig?: string; baseDir?: string; mirror?: string; allowOutsideConfigDir?: boolean }) => {
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
        await buildIsoFromConfig(loaded, {
          outDir: opts.out,
          keepRaw: !!opts.keepRaw,
          ...(opts.systemConfig ? { systemConfig: opts.systemConfig } : {}),
          ...(opts.cacheDir ? { packageCacheDir: opts.cacheDir } : {}),
          ...(opts.mirror ? { mirror: opts.mirror } : {}),
        });
        return;
      }
      await build(loaded, {
        outDir: opts.out,
        ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
        ...(opts.keepRaw ? { keepRaw: true } : {}),
        ...(opts.systemConfig ? { systemConfig: opts.systemConfig } : {}),
        ...(opts.mirror ? { mirror: opts.mirror } : {}),
      });
    });
}

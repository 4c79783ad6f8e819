import { mkdirSync, statSync } from 'node:fs';
import { resolve, join } from 'node:path';
import type { Command } from 'commander';
import { ExitCode, KilnError, UsageError } from '../../core/errors.js';
import { emitEvent, setLogFile } from '../../core/log.js';
import { lockDirectory } from '../../core/lock.js';
import { privateDir } from '../../core/private.js';
import { withScope } from '../../core/scope.js';
import type { AfterInstall } from '../../iso/index.js';

const HELP = `
Makes a hybrid installer ISO (BIOS and UEFI; CD/DVD and USB stick) from a config and the raw disk
image of each of its SystemConfigs (given with --image, or built first by the imager; \`kiln build\`
of a config that asks for an ISO does the same). The ISO holds the installer's kernel and initrd
(Debian 12, from resources/installer/iso-initrd.json, cached under /var/cache/kiln/installer or
$KILN_ISO_CACHE/installer), the compressed images and the config: it installs offline.

A config with one SystemConfig and Disks[0].TargetDisk installs unattended; otherwise the
installer asks (on screen and serial console) for the system, disk, host name, user and password.

Examples:
  kiln iso imageconfigs/core-efi-unattended.json
  kiln iso imageconfigs/core-efi-unattended.json --image core.raw
  isomaker imageconfigs/full-attended.json --image full.raw --image core.raw --after poweroff`;

interface Options {
  out: string;
  image?: string[];
  after: string;
  rebuildInitrd?: boolean;
  systemConfig?: string;
}

export function registerIso(program: Command): void {
  program
    .command('iso')
    .description('make a bootable installer ISO from a config and its raw images (alias: isomaker)')
    .argument('<config>', 'image config file (.json, .yaml)')
    .option('--out <dir>', 'output root: the ISO goes to <dir>/images/<config-name>/', 'out')
    .option('--image <raw...>', 'raw disk image of each SystemConfig, in the config order (default: build them)')
    .option('--after <action>', 'what the installer does when done: reboot | poweroff', 'reboot')
    .option('--system-config <name>', 'an ISO of that SystemConfig only (default: every SystemConfig of the config)')
    .option('--rebuild-initrd', 'rebuild the installer initrd even when the cached one is current')
    .addHelpText('after', HELP)
    .action(async (config: string, opts: Options) => {
      await runIso(config, opts);
    });
}

export async function runIso(configFile: string, opts: Options): Promise<void> {
  if (opts.after !== 'reboot' && opts.after !== 'poweroff') throw new UsageError(`--after must be "reboot" or "poweroff", not "${opts.after}"`);
  // loaded on demand so the other verbs do not pay for the ISO and config layers at startup
  const [{ loadConfig }, { buildIso, buildIsoFromConfig, DEFAULT_CACHE_ROOT, isoSelection, wantsIso }] = await Promise.all([
    import('../../config/index.js'),
    import('../../iso/index.js'),
  ]);
  const loaded = isoSelection(await loadConfig(configFile), opts.systemConfig);
  const systems = loaded.config.SystemConfigs;
  const images = opts.image ?? [];
  if (!wantsIso(loaded.config))
    process.stderr.write(`note: ${loaded.file} asks for no ISO (no TargetDisk, no artifact of Type "iso"); making one anyway\n`);
  if (!images.length) {
    // no images given: build every SystemConfig's disk with the imager first
    const built = await buildIsoFromConfig(loaded, { outDir: opts.out, after: opts.after as AfterInstall, rebuildInitrd: !!opts.rebuildInitrd });
    emitEvent({ type: 'artifact', kind: 'iso', path: built.iso, bytes: statSync(built.iso).size });
    process.stdout.write(`${built.iso}\n`);
    return;
  }
  if (images.length !== systems.length)
    throw new KilnError(
      `${loaded.file}: the config has ${systems.length} SystemConfig(s) (${systems.map((s) => `"${s.Name}"`).join(', ')}) but ${images.length} --image was given`,
      ExitCode.Usage,
      ['give one --image <raw> per SystemConfig, in order, or none: then every image is built first'],
    );
  const out = resolve(opts.out);
  const imageDir = join(out, 'images', loaded.name);
  mkdirSync(join(imageDir, '..'), { recursive: true, mode: 0o700 });
  const unlock = await lockDirectory(imageDir, `the output directory ${imageDir}`);
  try {
    setLogFile(join(out, 'logs', `${loaded.name}-iso.log`));
    const result = await withScope('iso', (scope) =>
      buildIso({
        loaded,
        images: systems.map((sc, i) => ({ sc, raw: resolve(images[i]!) })),
        outDir: privateDir(imageDir),
        cacheDir: DEFAULT_CACHE_ROOT,
        scope,
        after: opts.after as AfterInstall,
        rebuildInitrd: !!opts.rebuildInitrd,
      }),
    );
    emitEvent({ type: 'artifact', kind: 'iso', path: result.iso, bytes: statSync(result.iso).size });
    process.stdout.write(`${result.iso}\n`);
  } finally {
    await unlock();
  }
}

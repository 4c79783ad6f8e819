/**
 * ISO benchmark: ISO size, `kiln iso` time with a cold installer initrd and with a cached one, and
 * the unattended install time in qemu (TCG), each next to a peer measured in the same run so the
 * printed ratios compare across machines:
 *   - cached vs cold `kiln iso` (target: the cached run spends no time on the initrd)
 *   - install (ISO boot → installer done) vs booting the installed disk to its login prompt
 * Run: npx vite-node bench/iso.ts [config]   (root; builds the config's raw image first)
 * Results are also written to bench/results/iso-<timestamp>.json.
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { run } from '../src/core/exec.js';
import { bootGuest } from '../test/e2e/lib/qemu.js';

const REPO = resolve(import.meta.dirname, '..');
const KILN = join(REPO, 'kiln');
const config = resolve(REPO, process.argv[2] ?? 'imageconfigs/core-efi-unattended.json');
const name = basename(config).replace(/\.(json|ya?ml)$/, '');
const work = process.env.KILN_BENCH_DIR ?? '/var/tmp/kiln-bench-iso';

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = Date.now();
  const r = await fn();
  return [r, (Date.now() - t) / 1000];
}

async function kiln(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await run(KILN, args, { captureStdout: false, env });
}

async function main(): Promise<void> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const out = join(work, 'out');
  console.log(`bench iso: building the raw image of ${name} (not measured)`);
  await kiln(['build', config, '--out', out, '--keep-raw']);
  const imageDir = join(out, 'images', name);
  const raw = readdirSync(imageDir).filter((f) => f.endsWith('.raw')).map((f) => join(imageDir, f));
  if (!raw.length) throw new Error(`no raw image in ${imageDir}`);

  const isoOut = join(work, 'iso-out');
  // a private, empty installer cache: the first run builds the initrd, the second reuses it
  const env = { ...process.env, KILN_ISO_CACHE: join(work, 'cache') };
  const isoArgs = ['iso', config, '--out', isoOut, '--after', 'poweroff', ...raw.flatMap((r) => ['--image', r])];
  const [, cold] = await timed(() => kiln(isoArgs, env));
  const [, cached] = await timed(() => kiln(isoArgs, env));
  const iso = join(isoOut, 'images', name, readdirSync(join(isoOut, 'images', name)).find((f) => f.endsWith('.iso'))!);
  const isoBytes = statSync(iso).size;

  const target = join(work, 'target.raw');
  await run('truncate', ['-s', '3G', target]);
  const installer = await bootGuest({ name: 'bench-iso-install', firmware: 'uefi', cdrom: iso, extraDisks: [{ path: target, format: 'raw' }], memoryMiB: 1536 });
  let install: number;
  try {
    [, install] = await timed(() => installer.waitFor('KILN-INSTALL-DONE', 30 * 60_000));
    await installer.waitFor('Kiln installer: poweroff', 120_000);
  } finally {
    await installer.stop();
  }
  const booted = await bootGuest({ name: 'bench-iso-installed', firmware: 'uefi', disk: target, diskFormat: 'raw', writableDisk: true });
  let boot: number;
  try {
    [, boot] = await timed(() => booted.waitFor(/login: $/m, 10 * 60_000));
  } finally {
    await booted.stop();
  }

  const results = {
    config: basename(config),
    isoMiB: +(isoBytes / 1024 / 1024).toFixed(1),
    isoColdSeconds: cold,
    isoCachedInitrdSeconds: cached,
    cachedOverCold: +(cached / cold).toFixed(3),
    installSeconds: install,
    installedBootSeconds: boot,
    installOverBoot: +(install / boot).toFixed(2),
  };
  console.log(`ISO size                     ${results.isoMiB} MiB`);
  console.log(`kiln iso, cold initrd        ${cold.toFixed(1)} s`);
  console.log(`kiln iso, cached initrd      ${cached.toFixed(1)} s   ratio cached/cold ${results.cachedOverCold}`);
  console.log(`unattended install (qemu)    ${install.toFixed(1)} s   ratio install/boot-to-login ${results.installOverBoot} (boot ${boot.toFixed(1)} s)`);
  mkdirSync(join(REPO, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO, 'bench/results', `iso-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(results, null, 2) + '\n');
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

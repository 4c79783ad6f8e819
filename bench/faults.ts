/**
 * Fault benchmark (not part of CI; run with bench/faults.sh, root, about an hour): interrupts real
 * builds with SIGINT, SIGTERM and SIGKILL (+ `kiln clean`) at random moments of every stage —
 * package install, system configuration, scripts, bootloader, unmount/detach, roast, and the ISO's
 * own stages — then injects faults: out/ on a nearly full filesystem, an unreachable package
 * mirror (a network namespace without a route), a truncated package in the package cache, and a
 * repository whose metadata changes in the middle of a build. After each it counts what was left
 * (loop devices, mounts, processes, work directories, scope records, partial and stale artifacts)
 * and whether the next build of the same config into the same output then succeeds.
 *
 *   bench/faults.sh [--trials N] [--seed S] [--no-inject] [--only-inject] [--reuse] [--next-each] [--configs rootfs,disk,iso] [--faults hangup,enospc,noroute,truncated,repo]
 *
 * --only-inject needs a filled package cache in the bench directory (run the trials first, or copy one).
 * Trials take the configs in turn rootfs, disk, rootfs, disk, ISO (an ISO trial builds a disk first).
 * After each trial the next build into the same output is the next trial of that config (it must
 * reach its own target stage); the last trial of each config is followed by a complete build that
 * must succeed and leave nothing (--next-each: a complete build after every trial, about 3 hours).
 *
 * Builds use a private package cache under the bench directory ($KILN_BENCH_DIR, default
 * /var/tmp/kiln-bench-faults): the truncated-package fault corrupts it on purpose. Results are also
 * written to <bench dir>/faults-<timestamp>.json.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { output, run } from '../src/core/exec.js';
import { hostDebianUris, DEFAULT_MIRROR } from '../src/distro/debian/sources.js';
import { leftovers, nothingLeft, safeRead, type Leftovers } from '../test/e2e/lib/leftovers.js';

const REPO = resolve(import.meta.dirname, '..');
const KILN = join(REPO, 'kiln');
const CONFIGS = join(REPO, 'bench/configs/faults');
const WORK = process.env.KILN_BENCH_DIR ?? '/var/tmp/kiln-bench-faults';
const CACHE = join(WORK, 'cache');

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const TRIALS = Number(opt('--trials') ?? 21);
const SEED = Number(opt('--seed') ?? Date.now() % 100000);
const INJECT = !argv.includes('--no-inject');
const SIGNAL_TRIALS = !argv.includes('--only-inject');
/** Keep the private package cache and the trial outputs of an earlier run (no baseline builds). */
const REUSE = argv.includes('--reuse');
/** Rebuild to completion after every trial (slow: about 3 h), not only after each config's last one. */
const NEXT_EACH = argv.includes('--next-each');
/** The configs in turn (indexes into TARGETS): rootfs, disk, rootfs, disk, ISO, ... */
const ONLY = opt('--configs')?.split(',');
const TARGET_NAMES = ['faults-rootfs', 'faults-disk', 'faults-iso'];
const TRIAL_ORDER = [0, 1, 0, 1, 2].filter((i) => !ONLY || ONLY.some((c) => TARGET_NAMES[i]!.endsWith(c)));

/** mulberry32: a seeded generator, so a run can be repeated with --seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

interface Target {
  name: string;
  config: string;
  /** Files a successful build leaves in out/images/<name>/. */
  artifacts: string[];
  /** Stage markers as the build log writes them ("== <stage>"), with the longest delay after each (s). */
  stages: [string, number][];
  logs: (out: string) => string[];
}

const TARGETS: Target[] = [
  {
    name: 'faults-rootfs',
    config: join(CONFIGS, 'faults-rootfs.json'),
    artifacts: ['faults-rootfs.tar.zst', 'manifest.json'],
    stages: [['install packages', 25], ['system configuration', 2], ['PostInstallScripts', 4], ['roast', 3]],
    logs: (out) => [join(out, 'logs/faults-rootfs.log')],
  },
  {
    name: 'faults-disk',
    config: join(CONFIGS, 'faults-disk.json'),
    artifacts: ['faults-disk.vhdx', 'faults-disk.qcow2', 'manifest.json'],
    stages: [
      ['partition and format the disk', 1],
      ['mount the tree', 0.5],
      ['install packages', 40],
      ['system configuration', 2],
      ['initramfs', 5],
      ['PostInstallScripts', 4],
      ['bootloader', 4],
      ['unmount, fill FAT partitions, detach', 1.5],
      ['roast', 8],
    ],
    logs: (out) => [join(out, 'logs/faults-disk.log')],
  },
  {
    name: 'faults-iso',
    config: join(CONFIGS, 'faults-iso.json'),
    artifacts: ['faults-iso.iso'],
    stages: [['install packages', 40], ['bootloader', 4], ['unmount, fill FAT partitions, detach', 1.5], ['iso: compressing', 10], ['iso: writing', 3]],
    logs: (out) => [join(out, 'logs/faults-iso.log'), join(out, 'logs/faults-iso.iso.log')],
  },
];

interface Build {
  pid: number;
  done: Promise<{ code: number; tail: string; seconds: number }>;
  /** Close our end of the build's stderr (as a dying terminal or parent does). */
  hangUp: () => void;
}

function startBuild(t: Target, out: string, wrapper: string[] = [], config = t.config): Build {
  // the previous build's log would show every stage at once (the ISO log is appended to)
  for (const log of t.logs(out)) rmSync(log, { force: true });
  const args = [...wrapper, KILN, 'build', config, '--out', out, '--cache-dir', CACHE];
  const started = Date.now();
  // its own process group, like a job started from a shell: SIGINT goes to the group (Ctrl-C)
  const child = spawn(args[0]!, args.slice(1), { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).split('\n').slice(-30).join('\n');
  });
  const done = new Promise<{ code: number; tail: string; seconds: number }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 2), tail, seconds: (Date.now() - started) / 1000 })),
  );
  return { pid: child.pid!, done, hangUp: () => child.stderr!.destroy() };
}

function stagesIn(t: Target, out: string): string[] {
  return t.logs(out).flatMap((f) => safeRead(f).split('\n').flatMap((l) => (/ == (.+)$/.exec(l)?.[1] ? [/ == (.+)$/.exec(l)![1]!] : [])));
}

/** Wait until the log shows `stage`; false when the build ended first. */
async function waitForStage(t: Target, out: string, stage: string, b: Build): Promise<boolean> {
  let ended = false;
  void b.done.then(() => (ended = true));
  while (!ended) {
    if (stagesIn(t, out).some((s) => s.startsWith(stage))) return true;
    await sleep(100);
  }
  return false;
}

function countLeft(l: Leftovers): string {
  return `${l.loops.length}/${l.mounts.length}/${l.processes.length}/${l.workDirs.length}/${l.scopeRecords.length}/${l.partials.length}`;
}

function staleArtifacts(t: Target, out: string): string[] {
  return t.artifacts.filter((a) => existsSync(join(out, 'images', t.name, a)));
}

async function clean(out: string): Promise<string> {
  const r = await run(KILN, ['clean', '--under', out], { allowFailure: true });
  const released = r.stdout.split('\n').filter((l) => l.startsWith('released')).length;
  return r.code === 0 ? `released ${released}` : `clean exit ${r.code}`;
}

async function nextBuild(t: Target, out: string): Promise<{ ok: boolean; text: string; left: Leftovers }> {
  const b = startBuild(t, out);
  const r = await b.done;
  const left = await leftovers(out);
  const missing = t.artifacts.filter((a) => !existsSync(join(out, 'images', t.name, a)));
  const ok = r.code === 0 && missing.length === 0 && nothingLeft(left);
  return { ok, text: ok ? `ok ${r.seconds.toFixed(0)}s` : `FAILED exit ${r.code}${missing.length ? ` missing ${missing.join(',')}` : ''} left ${countLeft(left)}: ${lastLine(r.tail)}`, left };
}

function lastLine(text: string): string {
  return (text.split('\n').filter((l) => l.startsWith('error:'))[0] ?? text.trim().split('\n').pop() ?? '').slice(0, 160);
}

interface TrialResult {
  n: number;
  config: string;
  signal: string;
  target: string;
  reached: string;
  exit: number;
  clean: string;
  leftAfter: Leftovers;
  stale: string[];
  next: string;
  nextOk: boolean;
}

async function trial(n: number, t: Target, signal: NodeJS.Signals, out: string, fullNext: boolean, following: number): Promise<TrialResult> {
  const [stage, maxDelay] = pick(t.stages);
  const delay = Math.round(random() * maxDelay * 10) / 10;
  const b = startBuild(t, out);
  const seen = await waitForStage(t, out, stage, b);
  let reached = '(build ended before the stage)';
  if (seen) {
    await sleep(delay * 1000);
    reached = stagesIn(t, out).pop() ?? '?';
    try {
      // SIGINT as a terminal sends it (the whole foreground group); SIGTERM/SIGKILL as kill(1) does
      process.kill(signal === 'SIGINT' ? -b.pid : b.pid, signal);
    } catch {
      reached += ' (already ended)';
    }
  }
  const r = await b.done;
  let cleaned = '-';
  if (signal === 'SIGKILL') {
    await sleep(500);
    cleaned = await clean(out);
  }
  await sleep(300);
  const leftAfter = await leftovers(out);
  const stale = r.code === 0 ? [] : staleArtifacts(t, out);
  // the next build into the same output: a complete one, or the next trial of this config (which
  // must get to its own target stage; checked once all trials ran)
  const next = fullNext ? await nextBuild(t, out) : { text: `→ trial ${following}`, ok: true };
  const res: TrialResult = { n, config: t.name, signal, target: `${stage} +${delay}s`, reached, exit: r.code, clean: cleaned, leftAfter, stale, next: next.text, nextOk: next.ok };
  console.log(
    `${String(n).padStart(2)} ${t.name.padEnd(13)} ${signal.padEnd(7)} ${res.target.padEnd(42)} ${reached.slice(0, 40).padEnd(40)} ${String(r.code).padStart(4)} ${cleaned.padEnd(11)} ${countLeft(leftAfter).padEnd(11)} ${String(stale.length).padStart(5)}  ${next.text}`,
  );
  return res;
}

// ---------------------------------------------------------------------------------- injected faults

interface Injected {
  fault: string;
  exit: number;
  message: string;
  left: string;
  leftOk: boolean;
  after: string;
  next: string;
  nextOk: boolean;
}

function report(i: Injected): Injected {
  console.log(`${i.fault.padEnd(34)} exit ${String(i.exit).padStart(3)}  left ${i.left.padEnd(11)} ${i.after ? `${i.after}  ` : ''}next: ${i.next}\n${' '.repeat(35)}${i.message}`);
  return i;
}

async function fullFilesystem(t: Target): Promise<Injected> {
  const dir = join(WORK, 'enospc');
  const img = join(WORK, 'enospc-fs.img');
  mkdirSync(dir, { recursive: true });
  // big enough for a complete build once the filler is gone (raw disk, vhdx and qcow2 of ~0.9 GB each)
  await run('truncate', ['-s', '5G', img]);
  await run('mkfs.ext4', ['-q', '-F', img]);
  await run('mount', ['-o', 'loop', img, dir]);
  try {
    const avail = Number(await output('findmnt', ['-n', '-b', '-o', 'AVAIL', dir]));
    const filler = join(dir, 'filler');
    await run('fallocate', ['-l', String(avail - 300 * 1024 * 1024), filler]);
    const out = join(dir, 'out');
    const r = await startBuild(t, out).done;
    const left = await leftovers(out);
    rmSync(filler);
    const next = await nextBuild(t, out);
    return report({ fault: `out/ on a full filesystem (${t.name})`, exit: r.code, message: lastLine(r.tail), left: countLeft(left), leftOk: nothingLeft(left), after: 'space freed', next: next.text, nextOk: next.ok });
  } finally {
    await run('umount', [dir], { allowFailure: true });
    rmSync(img, { force: true });
  }
}

/** The terminal closes: SIGHUP while our end of the build's stderr is already gone (EPIPE). */
async function hangUp(t: Target): Promise<Injected> {
  const out = join(WORK, 'hangup');
  const b = startBuild(t, out);
  const seen = await waitForStage(t, out, 'install packages', b);
  if (seen) {
    await sleep(8000);
    b.hangUp();
    process.kill(b.pid, 'SIGHUP');
  }
  const r = await b.done;
  await sleep(300);
  const left = await leftovers(out);
  return report({ fault: `terminal closed (SIGHUP, broken stderr; ${t.name})`, exit: r.code, message: seen ? 'hung up during the package install' : 'build ended before the install', left: countLeft(left), leftOk: nothingLeft(left), after: '', next: '-', nextOk: true });
}

async function unreachableMirror(t: Target): Promise<Injected> {
  const ns = `kiln-faults-${process.pid}`;
  await run('ip', ['netns', 'add', ns]);
  const out = join(WORK, 'noroute');
  try {
    // only a loopback interface, down: no route to any mirror
    const r = await startBuild(t, out, ['ip', 'netns', 'exec', ns]).done;
    const left = await leftovers(out);
    const next = await nextBuild(t, out);
    return report({ fault: `unreachable mirror (${t.name})`, exit: r.code, message: lastLine(r.tail), left: countLeft(left), leftOk: nothingLeft(left), after: 'network back', next: next.text, nextOk: next.ok });
  } finally {
    await run('ip', ['netns', 'del', ns], { allowFailure: true });
  }
}

async function truncatedPackage(t: Target): Promise<Injected> {
  const cache = CACHE;
  const deb = readdirSync(cache).find((f) => /^less_.*\.deb$/.test(f));
  if (!deb) throw new Error(`no less_*.deb in ${cache}`);
  const path = join(cache, deb);
  const size = statSync(path).size;
  truncateSync(path, Math.floor(size / 2));
  const out = join(WORK, 'truncated');
  const r = await startBuild(t, out).done;
  const left = await leftovers(out);
  const healed = statSync(path).size === size;
  const next = await nextBuild(t, out);
  return report({
    fault: `truncated ${deb.split('_')[0]}.deb in the cache`,
    exit: r.code,
    message: r.code === 0 ? 'build succeeded (apt fetched the package again)' : lastLine(r.tail),
    left: countLeft(left),
    leftOk: nothingLeft(left),
    after: healed ? 'cache healed' : 'cache STILL TRUNCATED',
    next: next.text,
    nextOk: next.ok && healed,
  });
}

/** A one-file .deb made with dpkg-deb. */
async function probeDeb(dir: string, version: string): Promise<string> {
  const tree = join(dir, `tree-${version}`);
  mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
  mkdirSync(join(tree, 'usr/share/kiln-fault-probe'), { recursive: true });
  writeFileSync(join(tree, 'DEBIAN/control'), `Package: kiln-fault-probe\nVersion: ${version}\nArchitecture: all\nMaintainer: Kiln <kiln@localhost>\nDescription: bench/faults.sh probe\n`);
  writeFileSync(join(tree, 'usr/share/kiln-fault-probe/version'), `${version}\n`);
  const deb = join(dir, 'pool', `kiln-fault-probe_${version}_all.deb`);
  mkdirSync(join(dir, 'pool'), { recursive: true });
  await run('dpkg-deb', ['--root-owner-group', '--build', tree, deb]);
  return deb;
}

/** dists/kiln/{Release, main/binary-amd64/Packages} for the .debs now in pool/. */
async function indexRepo(dir: string): Promise<void> {
  const packages = await output('dpkg-scanpackages', ['--multiversion', 'pool'], { cwd: dir });
  const rel = 'main/binary-amd64/Packages';
  mkdirSync(join(dir, 'dists/kiln/main/binary-amd64'), { recursive: true });
  writeFileSync(join(dir, 'dists/kiln', rel), `${packages}\n`);
  const body = readFileSync(join(dir, 'dists/kiln', rel));
  const sha = createHash('sha256').update(body).digest('hex');
  writeFileSync(
    join(dir, 'dists/kiln/Release'),
    `Origin: kiln-faults\nSuite: kiln\nCodename: kiln\nDate: ${new Date().toUTCString()}\nArchitectures: amd64\nComponents: main\nSHA256:\n ${sha} ${body.length} ${rel}\n`,
  );
}

async function changingRepository(t: Target): Promise<Injected> {
  const dir = join(WORK, 'repo');
  rmSync(dir, { recursive: true, force: true });
  const v1 = await probeDeb(dir, '1.0');
  await indexRepo(dir);
  const server: Server = createServer((req, res) => {
    const file = join(dir, decodeURIComponent((req.url ?? '/').split('?')[0]!).replace(/^\/repo\//, ''));
    if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const config = join(WORK, `${t.name}-repo.json`);
  const base = JSON.parse(readFileSync(t.config, 'utf8')) as { SystemConfigs: Record<string, unknown>[] };
  const sc = base.SystemConfigs[0]!;
  sc.Packages = [...((sc.Packages as string[]) ?? []), 'kiln-fault-probe'];
  sc.PackageRepos = [
    { Name: 'debian', BaseUrl: hostDebianUris().mirror ?? DEFAULT_MIRROR, Suite: 'bookworm' },
    { Name: 'probe', BaseUrl: `http://127.0.0.1:${port}/repo`, Suite: 'kiln', GPGCheck: false },
  ];
  sc.PostInstallScripts = [{ Path: join(CONFIGS, 'slow-script.sh') }];
  writeFileSync(config, JSON.stringify(base, null, 1));
  // the config file's name is the output folder's; the artifact names stay those of the config
  const named: Target = { ...t, name: `${t.name}-repo`, config, logs: (out) => [join(out, `logs/${t.name}-repo.log`)] };
  const out = join(WORK, 'changing-repo');
  try {
    const b = startBuild(named, out);
    // the indexes are read; packages not yet fetched: publish 2.0 and withdraw 1.0
    let ended = false;
    void b.done.then(() => (ended = true));
    while (!ended && !safeRead(named.logs(out)[0]!).includes('I: downloading packages with apt')) await sleep(50);
    await probeDeb(dir, '2.0');
    rmSync(v1);
    await indexRepo(dir);
    const r = await b.done;
    const left = await leftovers(out);
    const next = await nextBuild(named, out);
    const manifest = safeRead(join(out, 'images', named.name, 'manifest.json'));
    const probe = /"name": "kiln-fault-probe",\s*"version": "([^"]+)"/.exec(manifest)?.[1];
    return report({
      fault: `repository changed mid-build (${t.name})`,
      exit: r.code,
      message: lastLine(r.tail),
      left: countLeft(left),
      leftOk: nothingLeft(left),
      after: `probe ${probe ?? '?'} installed next`,
      next: next.text,
      nextOk: next.ok && probe === '2.0',
    });
  } finally {
    server.close();
  }
}

// ------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/faults.sh needs root (loop devices, mounts, network namespaces)');
  if (REUSE) {
    for (const f of readdirSync(WORK)) if (f !== 'cache' && f !== 'trials') rmSync(join(WORK, f), { recursive: true, force: true });
  } else rmSync(WORK, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  console.log(`bench faults: seed ${SEED}, ${TRIALS} interrupted builds, work directory ${WORK}`);
  const t0 = Date.now();
  const baseline: Record<string, string> = {};
  for (const t of SIGNAL_TRIALS ? TARGETS.filter((_, i) => TRIAL_ORDER.includes(i)) : []) {
    const out = join(WORK, 'trials', t.name);
    if (REUSE && t.artifacts.every((a) => existsSync(join(out, 'images', t.name, a)))) {
      console.log(`baseline ${t.name}: reused`);
      continue;
    }
    const r = await nextBuild(t, out); // fills the private cache; the reference duration
    baseline[t.name] = r.text;
    console.log(`baseline ${t.name}: ${r.text}`);
    if (!r.ok) throw new Error(`the baseline build of ${t.name} failed; fix that first`);
  }
  const iso = join(WORK, 'trials/faults-iso/images/faults-iso/faults-iso.iso');
  if (existsSync(iso)) await run('xorriso', ['-indev', iso, '-osirrox', 'on', '-extract', '/kiln/config/faults-iso.json', join(WORK, 'iso-config.json')], { allowFailure: true });
  const isoText = safeRead(join(WORK, 'iso-config.json'));
  if (isoText) console.log(`ISO's copy of the config: clear password ${isoText.includes('faults-bench-pw') ? 'PRESENT' : 'absent'}, ${/"PasswordHashed": true/.test(isoText) ? 'hashed' : 'NOT hashed'}`);

  const results: TrialResult[] = [];
  if (SIGNAL_TRIALS) {
    console.log('\n n config        signal  target stage +delay                          last stage at the signal                 exit clean       left*        stale  next build');
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGKILL'];
    // rootfs and disk twice as often as the ISO (whose every trial builds a disk image first)
    const order = TRIAL_ORDER.map((i) => TARGETS[i]!);
    const plan = Array.from({ length: TRIALS }, (_, i) => order[i % order.length]!);
    const seen = new Map<string, number>();
    for (let n = 1; n <= TRIALS; n++) {
      const t = plan[n - 1]!;
      const k = seen.get(t.name) ?? 0;
      seen.set(t.name, k + 1);
      const signal = signals[k % signals.length]!;
      const following = plan.findIndex((x, i) => i >= n && x === t) + 1;
      results.push(await trial(n, t, signal, join(WORK, 'trials', t.name), NEXT_EACH || following === 0, following));
    }
    // an interrupted build's successor (the next trial of the config) must have reached its target
    for (const r of results) {
      const following = results.find((x) => x.n > r.n && x.config === r.config);
      if (!following || r.next.startsWith('ok') || r.next.startsWith('FAILED')) continue;
      r.nextOk = !following.reached.startsWith('(') || following.exit === 0;
      if (!r.nextOk) r.next = `FAILED: trial ${following.n} did not get to its stage (exit ${following.exit})`;
    }
    console.log('  * left = loop devices / mounts / processes / work directories / scope records / partial artifacts, after the exit (SIGKILL: after `kiln clean`)');
  }
  const injected: Injected[] = [];
  if (INJECT) {
    console.log('\ninjected faults');
    const [rootfs, disk] = [TARGETS[0]!, TARGETS[1]!];
    const faults = opt('--faults')?.split(',');
    const want = (f: string) => !faults || faults.includes(f);
    if (want('hangup')) injected.push(await hangUp(disk));
    if (want('enospc')) injected.push(await fullFilesystem(disk));
    if (want('noroute')) injected.push(await unreachableMirror(rootfs));
    if (want('truncated')) injected.push(await truncatedPackage(rootfs));
    if (want('repo')) injected.push(await changingRepository(rootfs));
  }

  const sum = (k: keyof Leftovers) => results.reduce((n, r) => n + r.leftAfter[k].length, 0);
  const by = (k: 'signal' | 'config') => Object.entries(results.reduce<Record<string, number>>((m, r) => ({ ...m, [r[k]]: (m[r[k]] ?? 0) + 1 }), {})).map(([a, b]) => `${a} ${b}`).join(', ');
  console.log(`\nsummary (seed ${SEED}, ${((Date.now() - t0) / 60000).toFixed(0)} min)`);
  console.log(`  trials: ${results.length} (${by('signal')}; ${by('config')}); reached the target stage: ${results.filter((r) => !r.reached.startsWith('(')).length}`);
  console.log(`  exit codes: ${Object.entries(results.reduce<Record<number, number>>((m, r) => ({ ...m, [r.exit]: (m[r.exit] ?? 0) + 1 }), {})).map(([c, k]) => `${c}×${k}`).join(', ')}`);
  console.log(`  leaked loop devices ${sum('loops')}, mounts ${sum('mounts')}, processes ${sum('processes')}, work directories ${sum('workDirs')}, scope records ${sum('scopeRecords')}, partial artifacts ${sum('partials')}, stale artifacts ${results.reduce((n, r) => n + r.stale.length, 0)}`);
  console.log(`  next build succeeded: ${results.filter((r) => r.nextOk).length}/${results.length}`);
  if (injected.length) console.log(`  injected faults: ${injected.filter((i) => i.leftOk).length}/${injected.length} left nothing, next build succeeded ${injected.filter((i) => i.nextOk).length}/${injected.length}`);
  const file = join(WORK, `faults-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ seed: SEED, baseline, trials: results, injected }, null, 1));
  console.log(`  results: ${file}`);
  const bad = results.some((r) => !nothingLeft(r.leftAfter) || r.stale.length || !r.nextOk) || injected.some((i) => !i.leftOk || !i.nextOk);
  process.exitCode = bad ? 1 : 0;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 2;
});

/**
 * A build that fails — a PostInstallScript exiting 1, a package that does not exist, SIGINT while
 * packages are being installed, SIGTERM while roasting, a full filesystem — releases everything it
 * acquired (no loop device, no mount, no work directory, no scope record, no partial artifact) and
 * leaves no file under the final artifact name. A second build of the same config into the same
 * output stops at once (exit 5) without touching the first. The full fault benchmark (20+ random
 * interruptions, unreachable mirror, corrupt cache, changing repository) is bench/faults.sh.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { run, type RunResult } from '../../src/core/exec.js';
import { KILN, REPO } from './lib/images.js';
import { leftovers, safeRead, type Leftovers } from './lib/leftovers.js';
import { e2eWorkDir } from './lib/workdir.js';

const FIXTURES = join(REPO, 'test/fixtures/imager');

function expectNothingLeft(left: Leftovers, imageDir: string, artifact: string): void {
  expect(left).toEqual({ loops: [], mounts: [], workDirs: [], scopeRecords: [], processes: [], partials: [] });
  expect(existsSync(join(imageDir, artifact))).toBe(false);
  expect(existsSync(join(imageDir, 'manifest.json'))).toBe(false);
  expect(existsSync(imageDir) ? readdirSync(imageDir).filter((f) => f.startsWith('.')) : []).toEqual([]);
}

function outDir(name: string): string {
  const dir = join(e2eWorkDir(), 'faults', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function kilnBuild(config: string, out: string, ...extra: string[]): Promise<RunResult> {
  return await run(KILN, ['build', join(FIXTURES, config), '--out', out, ...extra], { allowFailure: true, captureStdout: false });
}

// Tests that stop a build while dpkg runs need the install to happen: a base tree cached by any
// earlier build of the same package set (another test file, an earlier run on this machine) would
// skip it, so these builds bypass the tree cache.
function buildInstalling(out: string): Promise<RunResult> {
  return kilnBuild('interrupt.json', out, '--no-cache');
}

async function waitFor(what: string, ok: () => boolean, timeoutMs = 600_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; Date.now() < end && !ok(); ) await sleep(100);
  expect(ok(), `waited for ${what}`).toBe(true);
}

// Stops waiting as soon as the build ends, so a build that never installs fails the test at once.
async function waitForInstall(log: string, build: Promise<RunResult>): Promise<void> {
  let ended = false;
  void build.finally(() => (ended = true));
  for (let i = 0; i < 2400 && !ended && !safeRead(log).includes('Setting up '); i++) await sleep(250);
  expect(safeRead(log), ended ? 'the build ended before dpkg set up a package' : 'waited for dpkg').toContain('Setting up ');
}

function buildPid(out: string): number | undefined {
  for (const p of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const cmd = safeRead(`/proc/${p}/cmdline`).split('\0');
    if (cmd.some((a) => a.endsWith('dist/cli/kiln.js')) && cmd.includes(out)) return Number(p);
  }
  return undefined;
}

describe('failed builds release everything', () => {
  it('a PostInstallScript that exits 1 fails the build (exit 3) naming the script', async () => {
    const out = outDir('fail-postinstall');
    const r = await kilnBuild('fail-postinstall.json', out);
    expect(r.code).toBe(3);
    expect(r.stderrTail).toMatch(/fail\.sh/);
    expect(readFileSync(join(out, 'logs/fail-postinstall.log'), 'utf8')).toMatch(/fail\.sh: failing on purpose \(--because test\)/);
    expectNothingLeft(await leftovers(out), join(out, 'images/fail-postinstall'), 'fail-postinstall.vhdx');
  });

  it('a missing package fails the build naming the packages and the repositories searched', async () => {
    const out = outDir('missing-package');
    const r = await kilnBuild('missing-package.json', out);
    expect(r.code).toBe(3);
    expect(r.stderrTail).toMatch(/packages not found: kiln-no-such-package-1, kiln-no-such-package-2/);
    expect(r.stderrTail).toMatch(/searched \(bookworm\): deb \S+ bookworm main/);
    expectNothingLeft(await leftovers(out), join(out, 'images/missing-package'), 'missing-package.vhdx');
  });

  it('SIGINT while packages are being installed stops the build (exit 130) and releases everything', async () => {
    const out = outDir('interrupt');
    const log = join(out, 'logs/interrupt.log');
    const build = buildInstalling(out);
    // wait until dpkg is busy inside the image (mounted root, loop device attached)
    await waitForInstall(log, build);
    const before = await leftovers(out);
    expect(before.loops.length).toBe(1);
    expect(before.mounts.length).toBeGreaterThanOrEqual(2);
    const pid = buildPid(out);
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGINT');
    const r = await build;
    expect(r.code).toBe(130);
    expect(r.stderrTail).toMatch(/interrupted by SIGINT/);
    expectNothingLeft(await leftovers(out), join(out, 'images/interrupt'), 'interrupt.vhdx');
  });

  it('a SIGKILLed build leaves no process behind (its children die with it); `kiln clean` releases its mounts and loop device', async () => {
    const out = outDir('killed');
    const build = buildInstalling(out);
    await waitForInstall(join(out, 'logs/interrupt.log'), build);
    const running = await leftovers(out);
    expect(running.processes.some((p) => p.includes('mmdebstrap'))).toBe(true);
    const pid = buildPid(out);
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    expect((await build).code).toBe(137);
    // parent-death signals (setpriv --pdeathsig, bwrap --die-with-parent): the package install and
    // everything it started are gone within seconds, without `kiln clean`
    let left = await leftovers(out);
    for (let i = 0; i < 50 && left.processes.length; i++) {
      await sleep(100);
      left = await leftovers(out);
    }
    expect(left.processes).toEqual([]);
    expect(left.loops.length).toBe(1);
    expect(left.mounts.length).toBeGreaterThanOrEqual(2);
    const clean = await run(KILN, ['clean', '--under', out], { allowFailure: true });
    expect(clean.code, `${clean.stdout}\n${clean.stderrTail}`).toBe(0);
    expect(clean.stdout).toMatch(/released loop \/dev\/loop\d+/);
    expect(clean.stdout).toMatch(/released mount /);
    expect(clean.stdout).not.toMatch(/released process/);
    expectNothingLeft(await leftovers(out), join(out, 'images/interrupt'), 'interrupt.vhdx');
  });

  it('a second build of the same config stops at once (exit 5); SIGTERM while roasting leaves no partial artifact', async () => {
    const out = outDir('roast-term');
    const log = join(out, 'logs/interrupt.log');
    const imageDir = join(out, 'images/interrupt');
    const first = buildInstalling(out);
    await waitForInstall(log, first);
    // same config, same --out: refused while the first runs, which goes on undisturbed
    const second = await kilnBuild('interrupt.json', out);
    expect(second.code).toBe(5);
    expect(second.stderrTail).toMatch(/in use by another build \(process \d+\)/);
    expect(safeRead(log)).toContain('Setting up ');
    // SIGTERM once the roast has started writing (its temporary file is in the image directory)
    await waitFor('the roast to start writing', () => existsSync(imageDir) && readdirSync(imageDir).some((f) => f.startsWith('.')));
    const pid = buildPid(out);
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGTERM');
    const r = await first;
    expect(r.code).toBe(130);
    expect(r.stderrTail).toMatch(/interrupted by SIGTERM/);
    expectNothingLeft(await leftovers(out), imageDir, 'interrupt.vhdx');
  });

  it('a full output filesystem fails the build (exit 3, says so) and releases everything', async () => {
    const dir = outDir('enospc');
    const fs = join(dir, 'small-fs.img');
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt, { recursive: true });
    await run('truncate', ['-s', '400M', fs]);
    await run('mkfs.ext4', ['-q', '-F', fs]);
    await run('mount', ['-o', 'loop', fs, mnt]);
    try {
      const out = join(mnt, 'out');
      const r = await kilnBuild('interrupt.json', out);
      expect(r.code, r.stderrTail).toBe(3);
      // from dpkg inside the image ("No space left on device", then the free-space note), or from Kiln's own
      // write when the base tree comes from the cache (ENOSPC, HOST_ERROR: "… is full")
      expect(r.stderrTail).toMatch(/is full|no space left on device/i);
      expectNothingLeft(await leftovers(out), join(out, 'images/interrupt'), 'interrupt.vhdx');
    } finally {
      await run('umount', [mnt], { allowFailure: true });
    }
  });
});

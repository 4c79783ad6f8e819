/**
 * A build that fails — a PostInstallScript exiting 1, a package that does not exist, SIGINT while
 * packages are being installed — releases everything it acquired (no loop device, no mount, no
 * work directory, no scope record) and leaves no file under the final artifact name.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { output, run, type RunResult } from '../../src/core/exec.js';
import { KILN, REPO } from './lib/images.js';
import { e2eWorkDir } from './lib/workdir.js';

const FIXTURES = join(REPO, 'test/fixtures/imager');

interface Leftovers {
  loops: string[];
  mounts: string[];
  workDirs: string[];
  scopeRecords: string[];
  processes: string[];
}

async function leftovers(out: string): Promise<Leftovers> {
  const loops = (await output('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']))
    .split('\n')
    .filter((l) => l.includes(out));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(out));
  const workDirs = existsSync(out) ? readdirSync(out).filter((f) => f.startsWith('.work-')) : [];
  const stateDir = process.env.KILN_STATE_DIR ?? '/run/kiln';
  const scopeRecords = existsSync(stateDir)
    ? readdirSync(stateDir).filter((f) => f.endsWith('.json') && safeRead(join(stateDir, f)).includes(out))
    : [];
  const processes = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .map((p) => safeRead(`/proc/${p}/cmdline`).replace(/\0/g, ' '))
    .filter((c) => c.includes(out));
  return { loops, mounts, workDirs, scopeRecords, processes };
}

function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

function expectNothingLeft(left: Leftovers, imageDir: string, artifact: string): void {
  expect(left).toEqual({ loops: [], mounts: [], workDirs: [], scopeRecords: [], processes: [] });
  expect(existsSync(join(imageDir, artifact))).toBe(false);
  expect(existsSync(join(imageDir, 'manifest.json'))).toBe(false);
  expect(existsSync(imageDir) ? readdirSync(imageDir).filter((f) => f.startsWith('.')) : []).toEqual([]);
}

function outDir(name: string): string {
  const dir = join(e2eWorkDir(), 'faults', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function kilnBuild(config: string, out: string): Promise<RunResult> {
  return await run(KILN, ['build', join(FIXTURES, config), '--out', out], { allowFailure: true, captureStdout: false });
}

async function waitForInstall(log: string): Promise<void> {
  for (let i = 0; i < 2400 && !safeRead(log).includes('Setting up '); i++) await sleep(250);
  expect(safeRead(log)).toContain('Setting up ');
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
    const build = kilnBuild('interrupt.json', out);
    // wait until dpkg is busy inside the image (mounted root, loop device attached)
    await waitForInstall(log);
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
    const build = kilnBuild('interrupt.json', out);
    await waitForInstall(join(out, 'logs/interrupt.log'));
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
});

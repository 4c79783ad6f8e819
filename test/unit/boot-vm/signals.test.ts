/**
 * kiln boot never leaves its throwaway overlay behind: SIGTERM (headless `--check`, or the console on
 * stdio) stops qemu and removes the overlay and its record; after SIGKILL, qemu dies with Kiln
 * (parent-death signal) and `kiln clean` removes the overlay. A real qemu (TCG, SeaBIOS) on a blank
 * disk with nothing to boot: it idles, which is all these checks need, in a few seconds.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { leftovers, nothingLeft, type Leftovers } from '../../e2e/lib/leftovers.js';
import { run } from '../../../src/core/exec.js';

const KILN = resolve(import.meta.dirname, '../../../kiln');
const base = mkdtempSync(join(tmpdir(), 'kiln-boot-signals-'));
// records of this test's kiln processes only (and leftovers() reads the same variable)
const state = join(base, 'state');
mkdirSync(state, { mode: 0o700 });
process.env.KILN_STATE_DIR = state;
afterAll(() => rmSync(base, { recursive: true, force: true }));

const disk = join(base, 'blank.raw');
writeFileSync(disk, Buffer.alloc(4 * 1024 * 1024));
const qemuPresent = existsSync('/usr/bin/qemu-system-x86_64');

/** `kiln boot` with its directory under `dir`, until qemu runs on the overlay. */
async function bootUntilRunning(dir: string, extra: string[]): Promise<{ pid: number; exit: Promise<number | null>; overlayDir: string }> {
  const child = spawn(KILN, ['boot', '--firmware', 'bios', '--accel', 'tcg', ...extra, disk], {
    env: { ...process.env, KILN_BOOT_DIR: dir, KILN_STATE_DIR: state },
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  const exit = new Promise<number | null>((r) => child.on('exit', (code, signal) => r(code ?? (signal === 'SIGKILL' ? 137 : null))));
  for (let i = 0; i < 1200; i++) {
    const name = readdirSync(dir).find((f) => f.startsWith('kiln-boot-'));
    if (name && existsSync(join(dir, name, 'overlay.qcow2')) && (await leftovers(dir)).processes.some((p) => p.includes('qemu-system-x86_64'))) {
      return { pid: child.pid!, exit, overlayDir: join(dir, name) };
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`kiln boot ${extra.join(' ')}: no qemu on an overlay under ${dir} within 120 s`);
}

async function settled(dir: string): Promise<Leftovers> {
  let left = await leftovers(dir);
  for (let i = 0; i < 100 && !nothingLeft(left); i++) {
    await sleep(100);
    left = await leftovers(dir);
  }
  return left;
}

const NOTHING: Leftovers = { loops: [], mounts: [], workDirs: [], scopeRecords: [], processes: [], partials: [] };

describe.skipIf(!qemuPresent || process.getuid?.() !== 0)('kiln boot and signals', () => {
  it('SIGTERM, headless (--check) or with the console on stdio: qemu stopped, overlay and record removed, exit 130', async () => {
    const dir = mkdtempSync(join(base, 'term-'));
    for (const mode of [['--check', '--timeout', '300'], []]) {
      const vm = await bootUntilRunning(dir, mode);
      process.kill(vm.pid, 'SIGTERM');
      expect(await vm.exit, `kiln boot ${mode.join(' ')}`).toBe(130);
      expect(await settled(dir)).toEqual(NOTHING);
      expect(readdirSync(dir)).toEqual([]);
    }
  }, 300_000);

  it('SIGKILL: qemu dies with Kiln; `kiln clean` removes the overlay and its record', async () => {
    const dir = mkdtempSync(join(base, 'kill-'));
    const vm = await bootUntilRunning(dir, ['--check', '--timeout', '300']);
    process.kill(vm.pid, 'SIGKILL');
    expect(await vm.exit).toBe(137);
    const left = await settled(dir);
    expect(left.processes).toEqual([]);
    expect(left.scopeRecords.length).toBe(1);
    expect(existsSync(join(vm.overlayDir, 'overlay.qcow2'))).toBe(true);
    const clean = await run(KILN, ['clean', '--under', dir], { allowFailure: true, env: { ...process.env, KILN_STATE_DIR: state } });
    expect(clean.code, `${clean.stdout}\n${clean.stderrTail}`).toBe(0);
    expect(clean.stdout).toContain(`released path ${vm.overlayDir}`);
    expect(readdirSync(dir)).toEqual([]);
    expect(await leftovers(dir)).toEqual(NOTHING);
  }, 300_000);
});

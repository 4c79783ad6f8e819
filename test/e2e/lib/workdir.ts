/**
 * Where end-to-end tests keep their files: one directory per test run (a vitest invocation), so
 * images built by one test file are reused by the next one (files run in separate workers) and
 * never by a later run with different sources. A passing run removes its directory at the end
 * (global-setup.ts); a failing one keeps it for debugging, and the next run removes it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const E2E_ROOT = process.env.KILN_E2E_DIR ?? '/var/tmp/kiln-e2e';

/**
 * The test run's id: vitest's main process (the parent of a forks-pool worker) plus its start time,
 * so a recycled pid is not mistaken for the same run. KILN_E2E_RUN overrides it (e.g. to reuse
 * images across runs while iterating on a check: KILN_E2E_RUN=dev).
 */
export function runId(): string {
  if (process.env.KILN_E2E_RUN) return process.env.KILN_E2E_RUN;
  return runIdOf(process.ppid);
}

/** The run id of the vitest main process `pid` (what its workers compute as runId()). */
export function runIdOf(pid: number): string {
  return `run-${pid}-${startTime(pid)}`;
}

function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22 (starttime), counted after the ")" that ends the command name
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '0';
  } catch {
    return '0';
  }
}

let swept = false;
/** This run's directory (created); removes directories left by runs whose vitest is gone. */
export function e2eWorkDir(): string {
  const dir = join(E2E_ROOT, runId());
  if (!swept) {
    swept = true;
    sweepFinishedRuns();
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

function sweepFinishedRuns(): void {
  let names: string[] = [];
  try {
    names = readdirSync(E2E_ROOT);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^run-(\d+)-(\d+)$/.exec(n);
    if (!m) continue;
    if (startTime(Number(m[1])) === m[2]) continue; // that run is still going
    const dir = join(E2E_ROOT, n);
    try {
      // a killed run may have left a build's mounts and loop devices: Kiln releases them first
      execFileSync(resolve(import.meta.dirname, '../../../kiln'), ['clean', '--under', dir], { stdio: 'ignore' });
    } catch {
      // reported below if anything is still in the way
    }
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      // never fail this run for what another one left
      process.stderr.write(`e2e: could not remove ${dir}: ${(e as Error).message}\n`);
    }
  }
}

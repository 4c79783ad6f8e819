/**
 * What a build may have left behind under an output directory: loop devices backed by files there,
 * mounts there, Kiln work directories, scope records naming it, processes whose command line names
 * it, and partial artifacts (hidden temporary files in the image directories). Shared by the fault
 * tests (test/e2e/faults.test.ts) and the fault benchmark (bench/faults.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { output } from '../../../src/core/exec.js';

export interface Leftovers {
  loops: string[];
  mounts: string[];
  workDirs: string[];
  scopeRecords: string[];
  processes: string[];
  /** Hidden files in out/images/<config>/ (`.NAME.partial-PID`, `.roast-*`, `.iso-*`). */
  partials: string[];
}

export function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

export async function leftovers(out: string): Promise<Leftovers> {
  const under = (p: string) => p === out || p.startsWith(`${out}/`);
  const loops = (await output('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']))
    .split('\n')
    .filter((l) => l.trim() && under(l.trim().split(/\s+/).slice(1).join(' ')));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p && under(p));
  const workDirs = existsSync(out) ? readdirSync(out).filter((f) => f.startsWith('.work-')) : [];
  const stateDir = process.env.KILN_STATE_DIR ?? '/run/kiln';
  const scopeRecords = existsSync(stateDir)
    ? readdirSync(stateDir).filter((f) => f.endsWith('.json') && safeRead(join(stateDir, f)).includes(`${out}/`))
    : [];
  const processes = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .map((p) => safeRead(`/proc/${p}/cmdline`).replace(/\0/g, ' ').trim())
    .filter((c) => `${c} `.includes(`${out} `) || c.includes(`${out}/`));
  const images = join(out, 'images');
  const partials = existsSync(images)
    ? readdirSync(images, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .flatMap((d) => readdirSync(join(images, d.name)).filter((f) => f.startsWith('.')).map((f) => `images/${d.name}/${f}`))
    : [];
  return { loops, mounts, workDirs, scopeRecords, processes, partials };
}

export function nothingLeft(l: Leftovers): boolean {
  return Object.values(l).every((v) => v.length === 0);
}

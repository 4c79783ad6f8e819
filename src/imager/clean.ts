/**
 * `kiln clean`: release what killed builds left behind.
 * 1. Scope records under /run/kiln whose process is gone: their mounts, loop devices and temporary
 *    paths, newest first (a loop device is only detached if it still has the recorded backing file:
 *    the number may since have been reused by another build).
 * 2. Leftovers no record names (e.g. a record lost with a tmpfs /run, or a mount made by a
 *    newer Kiln): mounts under, and loop devices backed by files in, Kiln work directories
 *    (`.work-<config>-*`) that no running build owns.
 * All are released together: mounts (deepest first), then loop devices, then paths.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { output, run } from '../core/exec.js';
import { info, warn } from '../core/log.js';
import { STATE_DIR, orphanedScopes, type SweepRecord } from '../core/scope.js';
import { detach } from '../disk/loop.js';
import { unmount } from '../chroot/mounts.js';

export interface CleanReport {
  released: string[];
  failed: string[];
}

const WORK_DIR = /\/\.work-[^/]+-[A-Za-z0-9]{6}(\/|$)/;

/** Mount points currently mounted in this namespace (octal escapes decoded). */
export function mountPoints(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  return mountinfo
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** Records owned by builds that are still running (never touched). */
function liveRecords(): SweepRecord[] {
  const dead = new Set(orphanedScopes().map((s) => s.file));
  const out: SweepRecord[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(STATE_DIR).filter((n) => n.startsWith('scope-') && n.endsWith('.json'));
  } catch {
    return out;
  }
  for (const n of names) {
    const file = join(STATE_DIR, n);
    if (dead.has(file)) continue;
    try {
      out.push(...(JSON.parse(readFileSync(file, 'utf8')) as { records: SweepRecord[] }).records);
    } catch {
      // being written: its owner is alive
    }
  }
  return out;
}

async function loopBacking(device: string): Promise<string | undefined> {
  const r = await run('losetup', ['--noheadings', '--output', 'BACK-FILE', device], { allowFailure: true });
  return r.code === 0 ? r.stdout.trim().replace(/ \(deleted\)$/, '') : undefined;
}

async function release(record: SweepRecord, report: CleanReport): Promise<boolean> {
  try {
    if (record.kind === 'mount') {
      if (mountPoints().includes(record.path)) {
        await unmount(record.path);
        report.released.push(`mount ${record.path}`);
      }
    } else if (record.kind === 'loop') {
      const backing = await loopBacking(record.device);
      if (backing && (!record.backingFile || backing === record.backingFile)) {
        await detach(record.device);
        report.released.push(`loop ${record.device} (${backing})`);
      }
    } else if (existsSync(record.path)) {
      await run('rm', ['-rf', '--one-file-system', record.path]);
      report.released.push(`path ${record.path}`);
    }
    return true;
  } catch (e) {
    report.failed.push(`${record.kind} ${'path' in record ? record.path : record.device}: ${(e as Error).message}`);
    return false;
  }
}

/**
 * Processes still working in a dead build's work directory (a SIGKILLed build's mmdebstrap, dpkg,
 * chroot scripts run on as orphans): stopped before their mounts are released.
 */
async function stopOrphans(workDirs: readonly string[], report: CleanReport): Promise<void> {
  if (!workDirs.length) return;
  const victims: number[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    const pid = Number(p);
    if (pid === process.pid) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (workDirs.some((w) => cmd.includes(w))) victims.push(pid);
  }
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    for (const pid of victims) {
      try {
        process.kill(pid, sig);
        if (sig === 'SIGTERM') report.released.push(`process ${pid}`);
      } catch {
        // gone
      }
    }
    if (victims.length) await new Promise((r) => setTimeout(r, 1000));
  }
}

/** `under`: only consider work directories below this directory (and records naming paths there). */
export async function cleanLeftovers(under?: string): Promise<CleanReport> {
  const inScope = (p: string) => !under || p === under || p.startsWith(`${under.replace(/\/+$/, '')}/`);
  const report: CleanReport = { released: [], failed: [] };
  // a build keeps several scopes (work directory, loop devices, mounts): release the records of
  // all dead builds together, mounts (deepest first) before loop devices before paths
  const dead = orphanedScopes().filter((scope) => !under || scope.records.some((r) => inScope(r.kind === 'loop' ? (r.backingFile ?? '') : r.path)));
  for (const scope of dead) info(`releasing what process ${scope.pid} (${scope.name}) left behind`);
  const records = dead.flatMap((scope) => scope.records);
  // leftovers no record names; found before anything is released, so that a work directory is
  // never removed while a mount under it (recorded or not) is still there
  const live = liveRecords();
  const liveMounts = new Set(live.flatMap((r) => (r.kind === 'mount' ? [r.path] : [])));
  const liveWork = live.flatMap((r) => (r.kind === 'path' ? [r.path] : []));
  const owned = (p: string) => liveMounts.has(p) || liveWork.some((w) => p === w || p.startsWith(`${w}/`));
  const recorded = new Set(records.flatMap((r) => (r.kind === 'loop' ? [r.device] : [r.path])));
  for (const p of mountPoints()) {
    if (WORK_DIR.test(p) && inScope(p) && !owned(p) && !recorded.has(p)) records.push({ kind: 'mount', path: p });
  }
  const loops = await output('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { allowFailure: true });
  for (const line of loops.split('\n')) {
    const [device, ...rest] = line.trim().split(/\s+/);
    const backing = rest.join(' ').replace(/ \(deleted\)$/, '');
    if (device && !recorded.has(device) && WORK_DIR.test(backing) && inScope(backing) && !owned(backing)) {
      records.push({ kind: 'loop', device, backingFile: backing });
    }
  }
  await stopOrphans(records.flatMap((r) => (r.kind === 'path' && WORK_DIR.test(r.path + '/') ? [r.path] : [])), report);
  const order = (r: SweepRecord) => (r.kind === 'mount' ? 0 : r.kind === 'loop' ? 1 : 2);
  const depth = (r: SweepRecord) => (r.kind === 'mount' ? -r.path.length : 0);
  records.sort((a, b) => order(a) - order(b) || depth(a) - depth(b));
  let ok = true;
  for (const r of records) ok = (await release(r, report)) && ok;
  if (ok) for (const scope of dead) rmSync(scope.file, { force: true });
  if (report.failed.length) warn(`could not release: ${report.failed.join('; ')}`);
  return report;
}

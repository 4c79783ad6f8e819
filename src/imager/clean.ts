/**
 * `kiln clean`: release what killed builds left behind, and nothing else.
 * 1. Scope records under /run/kiln whose owner is provably gone (its pid is not running, or runs
 *    a process with another start time: the pid was reused): their mounts, loop devices and
 *    temporary paths, mounts (deepest first) before loop devices before paths.
 * 2. A scan for leftovers no record names (e.g. a record lost with a tmpfs /run, or a mount a
 *    newer Kiln made): mounts under, and loop devices backed by files in, Kiln work directories
 *    (`.work-<config>-XXXXXX`) that no running build owns. Found before anything is released and
 *    released with the records, so a work directory is never removed with a mount still under it.
 *
 * A record is a list of things to unmount and delete, so it is checked before anything is done:
 * the record file must be root's and writable by nobody else (core/scope `untrustedRecord`), and
 * every entry must stay inside Kiln's own directories (`confined`): mounts only inside a work
 * directory, loop devices only /dev/loopN whose backing file is inside a work directory, paths only
 * a work directory (or inside one) or one of Kiln's temporary names (`.roast-*`, `.iso-staging-PID`,
 * `.NAME.partial-PID` ...), with no symbolic link on the way. Anything else is refused and reported.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { output, run } from '../core/exec.js';
import { info, warn } from '../core/log.js';
import { readScopeFiles, type SweepRecord } from '../core/scope.js';
import { detach } from '../disk/loop.js';
import { unmount } from '../chroot/mounts.js';

export interface CleanReport {
  released: string[];
  failed: string[];
  /** Records (or record files) not acted on because they point outside Kiln's directories. */
  refused: string[];
}

/** A build's work directory: mkdtemp(`<out>/.work-<config>-`). */
const WORK_DIR_NAME = /^\.work-.+-[A-Za-z0-9]{6}$/;
const WORK_DIR = /\/\.work-[^/]+-[A-Za-z0-9]{6}(\/|$)/;
/** Temporary names Kiln gives things next to its outputs and caches (atomic.ts, roast, iso). */
const TEMP_NAMES = [WORK_DIR_NAME, /^\.roast-[A-Za-z0-9]{6}$/, /^\.iso-(staging|payload)-\d+$/, /^\.iso-efi-\d+\.img$/, /^\..+\.partial-\d+$/];

/** `path` is absolute, normalised, and every existing part of it is what it says (no symlink). */
function canonical(path: string): boolean {
  if (!isAbsolute(path) || resolve(path) !== path || path === '/') return false;
  let p = path;
  while (!existsSync(p) && p !== '/') p = dirname(p);
  try {
    return realpathSync(p) === p;
  } catch {
    return false;
  }
}

/** Inside (or being) a Kiln work directory. */
export function insideWorkDir(path: string): boolean {
  return canonical(path) && path.split('/').some((part) => WORK_DIR_NAME.test(part));
}

/** Why `record` may not be acted on, or undefined when it stays inside Kiln's own directories. */
export function confined(record: SweepRecord): string | undefined {
  switch (record.kind) {
    case 'mount':
      return insideWorkDir(record.path) ? undefined : `mount ${record.path} is not inside a Kiln work directory`;
    case 'loop':
      if (!/^\/dev\/loop\d+$/.test(record.device)) return `${record.device} is not a loop device`;
      if (record.backingFile !== undefined && !insideWorkDir(record.backingFile)) return `loop ${record.device}: its recorded file ${record.backingFile} is not inside a Kiln work directory`;
      return undefined;
    case 'path':
      if (!canonical(record.path)) return `path ${record.path} is not a canonical absolute path`;
      if (insideWorkDir(record.path) || TEMP_NAMES.some((re) => re.test(basename(record.path)))) return undefined;
      return `path ${record.path} is neither a Kiln work directory nor one of its temporary files`;
    default:
      return `unknown record ${JSON.stringify(record)}`;
  }
}

/** Mount points currently mounted in this namespace (octal escapes decoded). */
export function mountPoints(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  return mountinfo
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
}

async function loopBacking(device: string): Promise<string | undefined> {
  const r = await run('losetup', ['--noheadings', '--output', 'BACK-FILE', device], { allowFailure: true });
  return r.code === 0 ? r.stdout.trim().replace(/ \(deleted\)$/, '') : undefined;
}

function describe(record: SweepRecord): string {
  return `${record.kind} ${'path' in record ? record.path : record.device}`;
}

async function release(record: SweepRecord, report: CleanReport): Promise<boolean> {
  const refusal = confined(record);
  if (refusal) {
    report.refused.push(refusal);
    return false;
  }
  try {
    if (record.kind === 'mount') {
      if (mountPoints().includes(record.path)) {
        await unmount(record.path);
        report.released.push(`mount ${record.path}`);
      }
    } else if (record.kind === 'loop') {
      const backing = await loopBacking(record.device);
      // the number may since have been reused: only the device still backed by a work-directory
      // file (the recorded one, when recorded) is ours
      if (backing && insideWorkDir(backing) && (!record.backingFile || backing === record.backingFile)) {
        await detach(record.device);
        report.released.push(`loop ${record.device} (${backing})`);
      }
    } else if (existsSync(record.path)) {
      await run('rm', ['-rf', '--one-file-system', record.path]);
      report.released.push(`path ${record.path}`);
    }
    return true;
  } catch (e) {
    report.failed.push(`${describe(record)}: ${(e as Error).message}`);
    return false;
  }
}

/**
 * Processes still working in a dead build's work directory (a SIGKILLed build's mmdebstrap, apt,
 * dpkg, chroot scripts run on as orphans, some in mount namespaces of their own that keep the
 * image mounted): those whose command line, root or working directory is inside one, and every
 * process of their process groups (Kiln starts each command as a group of its own), are stopped
 * before their mounts are released.
 */
async function stopOrphans(workDirs: readonly string[], report: CleanReport): Promise<void> {
  if (!workDirs.length) return;
  const inside = (p: string) => workDirs.some((w) => p === w || p.startsWith(`${w}/`));
  const procs = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => pid !== process.pid && pid !== 1);
  const groups = new Set<number>();
  const victims = new Set<number>();
  for (const pid of procs) {
    let cmd = '';
    let links: string[] = [];
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      links = ['root', 'cwd'].map((l) => readlinkOr(`/proc/${pid}/${l}`));
    } catch {
      continue;
    }
    if (workDirs.some((w) => cmd.includes(w)) || links.some(inside)) {
      victims.add(pid);
      const pgid = processGroup(pid);
      if (pgid && pgid !== processGroup(process.pid)) groups.add(pgid);
    }
  }
  for (const pid of procs) if (groups.has(processGroup(pid) ?? -1)) victims.add(pid);
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    for (const pid of victims) {
      try {
        process.kill(pid, sig);
        if (sig === 'SIGTERM') report.released.push(`process ${pid}`);
      } catch {
        // gone
      }
    }
    if (victims.size) await new Promise((r) => setTimeout(r, 1000));
  }
}

function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** Field 5 of /proc/PID/stat. */
function processGroup(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/**
 * `under`: only what builds with their output below this directory left. `scan: false` skips the
 * host-wide scan for unrecorded leftovers (tests with a state directory of their own).
 */
export async function cleanLeftovers(under?: string, opts: { scan?: boolean } = {}): Promise<CleanReport> {
  const inScope = (p: string) => !under || p === under || p.startsWith(`${under.replace(/\/+$/, '')}/`);
  const report: CleanReport = { released: [], failed: [], refused: [] };
  const files = readScopeFiles();
  if (!under) for (const r of files.refused) report.refused.push(`record ${r.file}: ${r.why}`);
  // a build keeps several scopes (work directory, loop devices, mounts): release the records of
  // all dead builds together
  const dead = files.dead.filter((scope) => !under || scope.records.some((r) => inScope(r.kind === 'loop' ? (r.backingFile ?? '') : r.path)));
  for (const scope of dead) info(`releasing what process ${scope.pid} (${scope.name}) left behind`);
  const records: { record: SweepRecord; file?: string }[] = dead.flatMap((scope) => scope.records.map((record) => ({ record, file: scope.file })));
  if (opts.scan !== false) {
    // leftovers no record names
    const live = files.live.flatMap((s) => s.records);
    const liveMounts = new Set(live.flatMap((r) => (r.kind === 'mount' ? [r.path] : [])));
    const liveWork = live.flatMap((r) => (r.kind === 'path' ? [r.path] : []));
    const owned = (p: string) => liveMounts.has(p) || liveWork.some((w) => p === w || p.startsWith(`${w}/`));
    const recorded = new Set(records.map(({ record: r }) => (r.kind === 'loop' ? r.device : r.path)));
    for (const p of mountPoints()) {
      if (WORK_DIR.test(p) && inScope(p) && !owned(p) && !recorded.has(p)) records.push({ record: { kind: 'mount', path: p } });
    }
    const loops = await output('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { allowFailure: true });
    for (const line of loops.split('\n')) {
      const [device, ...rest] = line.trim().split(/\s+/);
      const backing = rest.join(' ').replace(/ \(deleted\)$/, '');
      if (device && !recorded.has(device) && WORK_DIR.test(backing) && inScope(backing) && !owned(backing)) {
        records.push({ record: { kind: 'loop', device, backingFile: backing } });
      }
    }
  }
  const workDirs = records.flatMap(({ record: r }) => (r.kind === 'path' && WORK_DIR_NAME.test(basename(r.path)) && !confined(r) ? [r.path] : []));
  await stopOrphans(workDirs, report);
  // all dead builds' records together (a build's work directory, loop devices and mounts are in
  // separate scopes), with the unrecorded leftovers: mounts (deepest first), then loop devices,
  // then paths
  const order = (r: SweepRecord) => (r.kind === 'mount' ? 0 : r.kind === 'loop' ? 1 : 2);
  const depth = (r: SweepRecord) => (r.kind === 'mount' ? -r.path.length : 0);
  records.sort((a, b) => order(a.record) - order(b.record) || depth(a.record) - depth(b.record));
  const unfinished = new Set<string>();
  for (const { record, file } of records) if (!(await release(record, report)) && file) unfinished.add(file);
  // a record file is dropped only when everything it names was released (refused entries keep it)
  for (const scope of dead) if (!unfinished.has(scope.file)) rmSync(scope.file, { force: true });
  if (report.failed.length) warn(`could not release: ${report.failed.join('; ')}`);
  return report;
}

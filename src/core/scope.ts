import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { abortedSignal, markAborted, whileReleasing } from './abort.js';
import { InterruptedError, KilnError } from './errors.js';
import { signalChildren } from './exec.js';
import { logToFile, warn } from './log.js';

/**
 * Host resources (loop devices, mounts, temporary files) are acquired through a Scope, which
 * releases them in reverse order on success, on error and on SIGINT/SIGTERM. Each scope also keeps
 * a record under /run/kiln so that `kiln clean` can release what a killed (SIGKILL) build left.
 */
export type SweepRecord =
  | { kind: 'mount'; path: string }
  | { kind: 'loop'; device: string; backingFile?: string }
  | { kind: 'path'; path: string }; // a temporary file or directory to delete

interface Entry {
  label: string;
  record?: SweepRecord;
  release: () => Promise<void> | void;
}

export const STATE_DIR = process.env.KILN_STATE_DIR ?? '/run/kiln';
let counter = 0;

/**
 * A process's start time (field 22 of /proc/PID/stat, clock ticks since boot): with the pid it
 * names one process for good, so a record whose pid was reused by another process is still
 * recognised as dead. Undefined when the process does not exist.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
const myStart = processStartTime(process.pid);

export class Scope {
  private readonly entries: Entry[] = [];
  private readonly statePath: string;
  private closed = false;

  constructor(readonly name: string) {
    this.statePath = join(STATE_DIR, `scope-${process.pid}-${++counter}.json`);
  }

  /** Register something already acquired, with how to release it. Returns a handle to release early. */
  add(label: string, release: () => Promise<void> | void, record?: SweepRecord): () => Promise<void> {
    const entry: Entry = { label, release, ...(record ? { record } : {}) };
    this.entries.push(entry);
    this.persist();
    return () => this.releaseOne(entry);
  }

  /** Acquire with `acquire`, register `release(value)`; if acquire throws nothing is registered. */
  async acquire<T>(
    label: string,
    acquire: () => Promise<T>,
    release: (value: T) => Promise<void> | void,
    record?: (value: T) => SweepRecord,
  ): Promise<T> {
    const value = await acquire();
    this.add(label, () => release(value), record?.(value));
    return value;
  }

  private async releaseOne(entry: Entry): Promise<void> {
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.entries.splice(i, 1);
    await whileReleasing(async () => entry.release());
    this.persist();
  }

  /** Release everything, newest first. Keeps going past failures and reports them all. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const failures: string[] = [];
    await whileReleasing(async () => {
      while (this.entries.length) {
        const entry = this.entries.pop()!;
        try {
          logToFile(`release: ${entry.label}`);
          await entry.release();
        } catch (e) {
          failures.push(`${entry.label}: ${(e as Error).message}`);
          // keep the record so `kiln clean` can retry it
          if (entry.record) this.leftovers.push(entry.record);
        }
      }
    });
    if (this.leftovers.length) this.persist();
    else rmSync(this.statePath, { force: true });
    if (failures.length) {
      throw new KilnError(`could not release ${failures.length} resource(s); run \`kiln clean\``, undefined, failures);
    }
  }
  private readonly leftovers: SweepRecord[] = [];

  private persist(): void {
    const records = [...this.leftovers, ...this.entries.flatMap((e) => (e.record ? [e.record] : []))];
    try {
      // root-only: `kiln clean` trusts only records nobody else could have written
      mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
      const tmp = `${this.statePath}.tmp`;
      writeFileSync(tmp, JSON.stringify({ pid: process.pid, start: myStart, name: this.name, records }, null, 1), { mode: 0o600 });
      renameSync(tmp, this.statePath);
    } catch (e) {
      warn(`cannot write scope record ${this.statePath}: ${(e as Error).message}`);
    }
  }
}

export interface ScopeFile {
  file: string;
  pid: number;
  /** processStartTime(pid) when the record was written (absent in records of older versions). */
  start?: string;
  name: string;
  records: SweepRecord[];
}

/**
 * Why a record file cannot be trusted, or undefined when it can: it must be a regular file owned
 * by root (or by whoever runs Kiln, for tests with KILN_STATE_DIR) that nobody else can write, in
 * a state directory of the same kind. A record tells `kiln clean` what to unmount and delete.
 */
export function untrustedRecord(file: string): string | undefined {
  const uid = process.getuid?.() ?? 0;
  for (const [what, path, type] of [['state directory', STATE_DIR, 'dir'], ['record', file, 'file']] as const) {
    let st;
    try {
      st = lstatSync(path);
    } catch (e) {
      return `${what} ${path}: ${(e as Error).message}`;
    }
    if (type === 'dir' ? !st.isDirectory() : !st.isFile()) return `${what} ${path} is not a ${type === 'dir' ? 'directory' : 'regular file'}`;
    if (st.uid !== 0 && st.uid !== uid) return `${what} ${path} is owned by uid ${st.uid}`;
    if (st.mode & 0o022) return `${what} ${path} is writable by others (mode ${(st.mode & 0o777).toString(8)})`;
  }
  return undefined;
}

/** Is the process that wrote a record still running? Same pid and, when recorded, same start time. */
export function ownerAlive(pid: number, start?: string): boolean {
  const now = processStartTime(pid);
  if (now === undefined) return false;
  return start === undefined || now === start;
}

export interface ScopeFiles {
  /** Records whose owner is provably gone (what `kiln clean` releases). */
  dead: ScopeFile[];
  /** Records of running builds (never touched). */
  live: ScopeFile[];
  /** Record files that are not trusted, with why (never acted on). */
  refused: { file: string; why: string }[];
}

export function readScopeFiles(): ScopeFiles {
  const out: ScopeFiles = { dead: [], live: [], refused: [] };
  let names: string[] = [];
  try {
    names = readdirSync(STATE_DIR).filter((n) => n.startsWith('scope-') && n.endsWith('.json'));
  } catch {
    return out;
  }
  for (const n of names) {
    const file = join(STATE_DIR, n);
    const why = untrustedRecord(file);
    if (why) {
      out.refused.push({ file, why });
      continue;
    }
    let data: Omit<ScopeFile, 'file'>;
    try {
      data = JSON.parse(readFileSync(file, 'utf8')) as Omit<ScopeFile, 'file'>;
    } catch {
      continue; // half-written (renamed into place only when complete) or foreign: ignore
    }
    if (!Number.isInteger(data.pid) || data.pid <= 0 || !Array.isArray(data.records)) {
      out.refused.push({ file, why: 'not a Kiln scope record' });
      continue;
    }
    (ownerAlive(data.pid, data.start) ? out.live : out.dead).push({ file, ...data });
  }
  return out;
}

/** Scope records whose owning process is gone (what `kiln clean` releases). */
export function orphanedScopes(): ScopeFile[] {
  return readScopeFiles().dead;
}

/**
 * Run `fn` with a scope that is always closed; SIGINT/SIGTERM stop running children, then the scope
 * releases everything and the error becomes InterruptedError (exit 130).
 */
export async function withScope<T>(name: string, fn: (scope: Scope) => Promise<T>): Promise<T> {
  const scope = new Scope(name);
  const onSignal = (signal: NodeJS.Signals) => {
    if (abortedSignal()) {
      process.stderr.write(`\n${signal} again: still releasing resources, please wait\n`);
      return;
    }
    process.stderr.write(`\n${signal}: stopping and releasing resources\n`);
    markAborted(signal);
    signalChildren('SIGTERM');
  };
  // nested scopes (an ISO build runs the imager inside its own scope) share the outermost handler
  const outermost = signalDepth++ === 0;
  if (outermost) {
    // SIGHUP: the terminal was closed; release like SIGINT/SIGTERM instead of dying with mounts held
    for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  }
  try {
    const result = await fn(scope);
    await scope.close();
    const sig = abortedSignal();
    if (sig) throw new InterruptedError(sig);
    return result;
  } catch (e) {
    try {
      await scope.close();
    } catch (closeError) {
      warn((closeError as Error).message);
    }
    const sig = abortedSignal();
    if (sig && !(e instanceof InterruptedError)) throw new InterruptedError(sig);
    throw e;
  } finally {
    signalDepth--;
    if (outermost) {
      for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
    }
  }
}
let signalDepth = 0;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

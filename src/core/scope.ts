import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
      mkdirSync(STATE_DIR, { recursive: true });
      const tmp = `${this.statePath}.tmp`;
      writeFileSync(tmp, JSON.stringify({ pid: process.pid, name: this.name, records }, null, 1));
      renameSync(tmp, this.statePath);
    } catch (e) {
      warn(`cannot write scope record ${this.statePath}: ${(e as Error).message}`);
    }
  }
}

export interface ScopeFile {
  file: string;
  pid: number;
  name: string;
  records: SweepRecord[];
}

/** Scope records whose owning process is gone (what `kiln clean` releases). */
export function orphanedScopes(): ScopeFile[] {
  let names: string[] = [];
  try {
    names = readdirSync(STATE_DIR).filter((n) => n.startsWith('scope-') && n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: ScopeFile[] = [];
  for (const n of names) {
    const file = join(STATE_DIR, n);
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as Omit<ScopeFile, 'file'>;
      if (!isAlive(data.pid)) out.push({ file, ...data });
    } catch {
      // half-written or foreign file: ignore
    }
  }
  return out;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
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
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

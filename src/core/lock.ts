/**
 * Kernel locks (flock(2)) for builds running side by side: shared and exclusive locks on cache
 * entries, and exclusive locks on output directories (two builds of the same config name into the
 * same --out must never delete each other's artifacts or mix their manifests and logs).
 *
 * A lock is held by a small helper process, `flock [-s|-x] FILE sh -c 'echo locked; exec cat'`,
 * whose stdin is a pipe from Kiln: when Kiln ends in any way (even SIGKILL) the pipe closes, `cat`
 * ends and the kernel drops the lock at once. There is no stale lock to time out and no pid file to
 * trust. The helper runs in its own process group (a Ctrl-C at the terminal must not drop a lock
 * while Kiln is still copying or releasing under it) and outside core/exec's list of children for
 * the same reason.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ExitCode, KilnError } from './errors.js';
import { logToFile } from './log.js';
import { privateDir } from './private.js';

export interface HeldLock {
  release(): Promise<void>;
}

export interface LockOptions {
  /** Readers (a build restoring a cache entry) share; writers (storing, evicting) are exclusive. */
  shared?: boolean;
  /** Wait for the lock (default) or give up at once, returning undefined, when another process holds it. */
  wait?: boolean;
}

const BUSY = 75;

/** Lock `path` (created 0600, its directory 0700, if missing). */
export async function lockFile(path: string, opts: LockOptions = {}): Promise<HeldLock | undefined> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, '', { flag: 'a', mode: 0o600 });
  const args = [opts.shared ? '--shared' : '--exclusive', ...(opts.wait === false ? ['--nonblock', '--conflict-exit-code', String(BUSY)] : []), path, 'sh', '-c', 'echo locked; exec cat >/dev/null'];
  const holder = spawn('flock', args, { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
  const outcome = await new Promise<'locked' | number>((resolve) => {
    let text = '';
    holder.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('locked')) resolve('locked');
    });
    holder.on('error', () => resolve(-1));
    holder.on('exit', (code) => resolve(code ?? -1));
  });
  if (outcome === BUSY) return undefined;
  if (outcome !== 'locked') throw new KilnError(`cannot lock ${path} (flock exited ${outcome})`, ExitCode.BuildFailed, ['flock comes with the Debian package util-linux']);
  holder.stdout!.destroy();
  holder.unref();
  (holder.stdin as unknown as { unref?: () => void }).unref?.();
  logToFile(`${opts.shared ? 'shared' : 'exclusive'} lock on ${path}`);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      const exited = holder.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => holder.once('exit', () => resolve()));
      // referenced again while we wait: an unreferenced child alone would let Node exit (with code 0!)
      // before the release finished and before the caller could report its result
      holder.ref();
      holder.stdin!.end();
      await exited;
    },
  };
}

/** out/images/<name> → out/images/.<name>.lock (beside the directory, never inside it). */
export function lockFileFor(dir: string): string {
  return join(dirname(dir), `.${basename(dir)}.lock`);
}

interface Held {
  count: number;
  lock: HeldLock;
}
const held = new Map<string, Held>();

/**
 * Lock `dir` (created 0700 if missing) for this process, or fail at once with exit code 5 naming
 * the process that holds it. Re-entrant within a process (an ISO build runs the imager under its
 * own lock). Returns the release function.
 */
export async function lockDirectory(dir: string, what = dir): Promise<() => Promise<void>> {
  const path = lockFileFor(dir);
  const mine = held.get(path);
  if (mine) {
    mine.count++;
    return once(() => release(path));
  }
  privateDir(dirname(path));
  const lock = await lockFile(path, { wait: false });
  if (!lock) {
    const owner = safeRead(path).trim();
    throw new KilnError(`${what} is in use by another build${/^\d+$/.test(owner) ? ` (process ${owner})` : ''}`, ExitCode.OutputLocked, [
      'two builds of the same config name into the same --out would delete each other\'s artifacts; wait for it to finish, or build into another --out directory',
    ]);
  }
  writeFileSync(path, `${process.pid}\n`);
  logToFile(`locked ${dir} (${path})`);
  held.set(path, { count: 1, lock });
  return once(() => release(path));
}

async function release(path: string): Promise<void> {
  const h = held.get(path);
  if (!h) return;
  if (--h.count > 0) return;
  held.delete(path);
  // the file stays: removing it would let a waiter lock the old inode and a newcomer a new one
  try {
    writeFileSync(path, '');
  } catch {
    // best effort: the content is only a hint for the error message
  }
  await h.lock.release();
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await fn();
  };
}

function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

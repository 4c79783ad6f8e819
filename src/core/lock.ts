/**
 * Exclusive locks on output directories: two builds of the same config name (same --out) must
 * never delete each other's artifacts or mix their manifests and logs.
 *
 * The lock is a kernel lock (flock(2)) held by a small helper process, `flock LOCKFILE cat`, whose
 * stdin is a pipe from Kiln: when Kiln ends in any way (even SIGKILL) the pipe closes, `cat` ends
 * and the kernel drops the lock at once. There is no stale lock to time out and no pid file to
 * trust. The helper runs in its own process group (a Ctrl-C at the terminal does not end it while
 * Kiln is still releasing its resources) and outside core/exec's list of children for the same
 * reason. Locks are re-entrant within a process (an ISO build runs the imager under its own lock).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ExitCode, KilnError } from './errors.js';
import { logToFile } from './log.js';
import { privateDir } from './private.js';

interface Held {
  count: number;
  holder: ChildProcess;
}
const held = new Map<string, Held>();

/** out/images/<name> → out/images/.<name>.lock (beside the directory, never inside it). */
export function lockFileFor(dir: string): string {
  return join(dirname(dir), `.${basename(dir)}.lock`);
}

const CONFLICT = 75;

/**
 * Lock `dir` (created 0700 if missing) for this process, or fail at once with exit code 5 naming
 * the process that holds it. Returns the release function.
 */
export async function lockDirectory(dir: string, what = dir): Promise<() => Promise<void>> {
  const lockFile = lockFileFor(dir);
  const mine = held.get(lockFile);
  if (mine) {
    mine.count++;
    return once(() => release(lockFile));
  }
  privateDir(dirname(lockFile));
  writeFileSync(lockFile, '', { flag: 'a', mode: 0o600 });
  const holder = spawn('flock', ['--nonblock', '--conflict-exit-code', String(CONFLICT), lockFile, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'ignore'],
    detached: true,
  });
  const outcome = await new Promise<'locked' | number>((resolve) => {
    let text = '';
    holder.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('locked')) resolve('locked');
    });
    holder.on('error', () => resolve(-1));
    holder.on('exit', (code) => resolve(code ?? -1));
  });
  if (outcome !== 'locked') {
    if (outcome === CONFLICT) {
      const owner = safeRead(lockFile).trim();
      throw new KilnError(
        `${what} is in use by another build${/^\d+$/.test(owner) ? ` (process ${owner})` : ''}`,
        ExitCode.OutputLocked,
        ['two builds of the same config name into the same --out would delete each other\'s artifacts; wait for it to finish, or build into another --out directory'],
      );
    }
    throw new KilnError(`cannot lock ${lockFile} (flock exited ${outcome})`, ExitCode.BuildFailed, ['flock comes with the Debian package util-linux']);
  }
  holder.stdout!.destroy();
  holder.unref();
  (holder.stdin as unknown as { unref?: () => void }).unref?.();
  writeFileSync(lockFile, `${process.pid}\n`);
  logToFile(`locked ${dir} (${lockFile})`);
  held.set(lockFile, { count: 1, holder });
  return once(() => release(lockFile));
}

async function release(lockFile: string): Promise<void> {
  const h = held.get(lockFile);
  if (!h) return;
  if (--h.count > 0) return;
  held.delete(lockFile);
  // the file stays: removing it would let a waiter lock the old inode and a newcomer a new one
  try {
    writeFileSync(lockFile, '');
  } catch {
    // best effort: the content is only a hint for the error message
  }
  const exited = h.holder.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => h.holder.once('exit', () => resolve()));
  // referenced again while we wait: an unreferenced child alone would let Node exit (with code 0!)
  // before the release finished and before the caller could report its result
  h.holder.ref();
  h.holder.stdin!.end();
  await exited;
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

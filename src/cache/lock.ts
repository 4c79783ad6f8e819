/**
 * Shared and exclusive locks on cache entries, for builds running side by side.
 *
 * A lock is a kernel lock (flock(2)) held by a small helper process, `flock [-s|-x] FILE sh -c
 * 'echo locked; exec cat'`, whose stdin is a pipe from Kiln: when Kiln ends in any way (even
 * SIGKILL) the pipe closes, `cat` ends and the kernel drops the lock. No stale lock can survive a
 * crashed build, and there is no pid file to trust. The helper runs in its own process group (a
 * Ctrl-C at the terminal must not drop a lock while Kiln is still copying under it).
 *
 * Readers (a build restoring an entry) take the lock shared; writers (storing, evicting) take it
 * exclusive. `wait: false` returns undefined at once when the lock is taken.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { logToFile } from '../core/log.js';

export interface HeldLock {
  release(): Promise<void>;
}

export interface LockOptions {
  shared?: boolean;
  /** Wait for the lock (default) or give up at once when another process holds it. */
  wait?: boolean;
}

const BUSY = 75;

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
  if (outcome !== 'locked') throw new Error(`cannot lock ${path} (flock exited ${outcome}; flock comes with util-linux)`);
  holder.stdout!.destroy();
  holder.unref();
  (holder.stdin as unknown as { unref?: () => void }).unref?.();
  logToFile(`cache: ${opts.shared ? 'shared' : 'exclusive'} lock on ${path}`);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      const exited = holder.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => holder.once('exit', () => resolve()));
      holder.ref(); // keep the event loop alive until the lock is really gone
      holder.stdin!.end();
      await exited;
    },
  };
}

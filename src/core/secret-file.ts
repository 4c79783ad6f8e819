/**
 * A secret handed to a program that only reads it from a file (cryptsetup's --volume-key-file):
 * written to a private directory on a tmpfs (never a disk), mode 0600, and removed as soon as the
 * program returns, whether it succeeded or not. The directory is recorded in the scope, so a
 * killed build's leftover is swept by `kiln clean`.
 */
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from './errors.js';
import type { Scope } from './scope.js';

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
/** Candidates, in order: Kiln's state directory (/run/kiln), then /dev/shm. */
const CANDIDATES = [process.env.KILN_STATE_DIR ?? '/run/kiln', '/dev/shm'];

function isRamBacked(dir: string): boolean {
  try {
    const t = statfsSync(dir).type;
    return t === TMPFS_MAGIC || t === RAMFS_MAGIC;
  } catch {
    return false;
  }
}

export function secretDirBase(): string {
  for (const dir of CANDIDATES) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch {
      continue;
    }
    if (isRamBacked(dir)) return dir;
  }
  throw new KilnError('no tmpfs to hold a key file for the moment cryptsetup reads it', undefined, [`tried ${CANDIDATES.join(', ')}: none is a tmpfs`, 'mount a tmpfs on /run (or /dev/shm)']);
}

export async function withSecretFile<T>(scope: Scope, secret: Buffer, fn: (path: string) => Promise<T>): Promise<T> {
  return withSecretDir(scope, async (dir) => {
    const file = join(dir, 'key');
    writeFileSync(file, secret, { mode: 0o600 });
    try {
      return await fn(file);
    } finally {
      // overwrite before unlinking: tmpfs pages are freed, not kept, but leave nothing to chance
      writeFileSync(file, Buffer.alloc(secret.length));
    }
  });
}

/** A private (0700) directory on a tmpfs for a program to write a secret into; removed when `fn` returns. */
export async function withSecretDir<T>(scope: Scope, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(secretDirBase(), 'key-'));
  const release = scope.add(`key directory ${dir}`, () => rmSync(dir, { recursive: true, force: true }), { kind: 'path', path: dir });
  try {
    return await fn(dir);
  } finally {
    await release();
  }
}

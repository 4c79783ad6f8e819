/**
 * The downloaded-package cache shared between builds. A build never works in the shared directory
 * itself: it gets a private archives directory filled with hard links to the cached .debs (copies
 * across filesystems), and afterwards the packages it downloaded are linked back. The shared
 * directory is locked only for those two quick steps, so concurrent builds run side by side
 * instead of queueing for a whole install, and can never see each other's partial downloads.
 * Cached files are immutable (apt names them by package, version and architecture).
 */
import { copyFile, link, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { logToFile } from '../../core/log.js';

async function withLock<T>(cacheDir: string, fn: () => Promise<T>): Promise<T> {
  const release = await lockfile.lock(cacheDir, {
    lockfilePath: join(cacheDir, '.kiln-cache.lock'),
    stale: 30_000,
    retries: { retries: 600, minTimeout: 200, maxTimeout: 1000 },
    onCompromised: () => {}, // the steps under the lock are idempotent
  }).catch((e: Error) => {
    throw new Error(`cannot lock the package cache ${cacheDir}: ${e.message}`);
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'EXDEV' && code !== 'EPERM') throw e;
    // another filesystem: copy under a temporary name, then rename (never a half-written .deb)
    const tmp = `${to}.partial-${process.pid}`;
    await copyFile(from, tmp);
    await rename(tmp, to);
  }
}

async function debs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.deb'));
  } catch {
    return [];
  }
}

/** Fill `archives` from the cache; returns how many packages were already cached. */
export async function syncIn(cacheDir: string, archives: string): Promise<number> {
  await mkdir(cacheDir, { recursive: true });
  await mkdir(join(archives, 'partial'), { recursive: true });
  return await withLock(cacheDir, async () => {
    const files = await debs(cacheDir);
    for (const f of files) await linkOrCopy(join(cacheDir, f), join(archives, f));
    return files.length;
  });
}

/** Put what this build downloaded into the cache; returns how many packages were added. */
export async function syncOut(cacheDir: string, archives: string): Promise<number> {
  const mine = await debs(archives);
  return await withLock(cacheDir, async () => {
    const cached = new Set(await debs(cacheDir));
    let added = 0;
    for (const f of mine) {
      if (cached.has(f)) continue;
      await linkOrCopy(join(archives, f), join(cacheDir, f));
      added++;
    }
    logToFile(`package cache ${cacheDir}: ${added} package(s) added`);
    return added;
  });
}

export async function dropArchives(archives: string): Promise<void> {
  await rm(archives, { recursive: true, force: true });
}

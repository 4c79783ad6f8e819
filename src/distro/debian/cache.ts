/**
 * The downloaded-package cache shared between builds. A build never works in the shared directory
 * itself: it gets a private archives directory filled with hard links to the cached .debs (copies
 * across filesystems), and afterwards the packages it downloaded are linked back. The shared
 * directory is locked only for those two quick steps, so concurrent builds run side by side
 * instead of queueing for a whole install, and can never see each other's partial downloads.
 * Cached files are immutable (apt names them by package, version and architecture).
 */
import { copyFile, link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
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

/**
 * Did apt fetch this file again instead of using the cached one? apt verifies every package it
 * uses and replaces (renames over) one that does not match its index: a hard link to the cache
 * that is now another inode, or a copy of another size, means the cached file is damaged.
 */
async function refetched(mine: string, cached: string): Promise<boolean> {
  const [a, c] = await Promise.all([stat(mine), stat(cached)]);
  return a.dev === c.dev ? a.ino !== c.ino : a.size !== c.size;
}

/** Put what this build downloaded into the cache; returns how many packages were added. */
export async function syncOut(cacheDir: string, archives: string): Promise<number> {
  const mine = await debs(archives);
  return await withLock(cacheDir, async () => {
    const cached = new Set(await debs(cacheDir));
    let added = 0;
    let repaired = 0;
    for (const f of mine) {
      if (cached.has(f)) {
        if (!(await refetched(join(archives, f), join(cacheDir, f)).catch(() => false))) continue;
        // a damaged cached package (truncated, corrupted): replaced by the good copy, atomically
        const tmp = join(cacheDir, `.${f}.partial-${process.pid}`);
        await rm(tmp, { force: true });
        await linkOrCopy(join(archives, f), tmp);
        await rename(tmp, join(cacheDir, f));
        repaired++;
        continue;
      }
      await linkOrCopy(join(archives, f), join(cacheDir, f));
      added++;
    }
    logToFile(`package cache ${cacheDir}: ${added} package(s) added${repaired ? `, ${repaired} damaged one(s) replaced` : ''}`);
    return added;
  });
}

export async function dropArchives(archives: string): Promise<void> {
  await rm(archives, { recursive: true, force: true });
}

/**
 * apt's package lists, cached per set of sources: seeding them lets `apt-get update` answer
 * "Hit" (If-Modified-Since) instead of downloading and unpacking the indexes again. apt replaces a
 * list by renaming a new file over it, so hard links shared with the cache are never modified.
 */
function listsDir(cacheDir: string, sourcesKey: string): string {
  return join(cacheDir, 'lists', sourcesKey);
}

async function files(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && e.name !== 'lock').map((e) => e.name);
  } catch {
    return [];
  }
}

export async function syncListsIn(cacheDir: string, sourcesKey: string, lists: string): Promise<number> {
  await mkdir(join(lists, 'partial'), { recursive: true });
  const from = listsDir(cacheDir, sourcesKey);
  await mkdir(from, { recursive: true });
  return await withLock(cacheDir, async () => {
    const names = await files(from);
    for (const f of names) await linkOrCopy(join(from, f), join(lists, f));
    return names.length;
  });
}

/** Replace the cached lists with this build's (a fresh set; stale indexes are dropped). */
export async function syncListsOut(cacheDir: string, sourcesKey: string, lists: string): Promise<void> {
  const names = await files(lists);
  if (!names.some((n) => n.endsWith('_InRelease') || n.endsWith('_Release'))) return; // update did not finish
  const target = listsDir(cacheDir, sourcesKey);
  await withLock(cacheDir, async () => {
    const fresh = `${target}.new-${process.pid}`;
    await rm(fresh, { recursive: true, force: true });
    await mkdir(fresh, { recursive: true });
    for (const f of names) await linkOrCopy(join(lists, f), join(fresh, f));
    const old = `${target}.old-${process.pid}`;
    await rename(target, old).catch(() => undefined);
    await rename(fresh, target);
    await rm(old, { recursive: true, force: true });
  });
}

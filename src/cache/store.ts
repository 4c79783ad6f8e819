/**
 * The tree cache on disk: one directory per entry, named by its key, published by an atomic rename
 * once complete, so a half-written entry never exists under a key.
 *
 *   <root>/entries/<key>/entry.json     what the entry holds: key inputs, payloads and their SHA-256
 *   <root>/entries/<key>/<payload>      filesystem images (sparse) and tar archives
 *   <root>/entries/<key>/last-used      its mtime is the entry's last use (least recently used goes first)
 *   <root>/initramfs/<id>/...           generated initramfs files and the inputs they were made from
 *   <root>/locks/<key>.lock             flock: shared while a build copies from the entry, exclusive to write or evict
 *   <root>/tmp/                         entries being written (same filesystem: rename publishes them);
 *                                       each is recorded under /run/kiln while it exists, so `kiln clean`
 *                                       removes what a killed build was writing (clean.ts: cacheTemp)
 *
 * Everything under <root> is root's alone (0700): the payloads are whole system trees.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { logToFile } from '../core/log.js';
import { Scope } from '../core/scope.js';
import { lockFile, type HeldLock } from '../core/lock.js';

export const ENTRY_FORMAT = 1;
/** KILN_TREE_CACHE overrides it (e.g. a CI runner's cache volume). */
export const DEFAULT_TREE_CACHE = process.env.KILN_TREE_CACHE || '/var/cache/kiln/trees';
/** Default bound of the whole cache (entries and initramfs variants). */
export const DEFAULT_MAX_BYTES = 16 * 1024 ** 3;

export type Payload =
  | { kind: 'fs-image'; file: string; partition: string; fsType: string; sizeBytes: number; dataBytes: number; sha256: string }
  | { kind: 'tar'; file: string; /** '/' for a rootfs tree, else the FAT partition id whose staging directory it fills */ target: string; sha256: string };

export interface EntryMeta {
  format: number;
  key: string;
  created: string;
  /** Config name of the build that stored it (for `kiln cache list`). */
  label: string;
  distro: string;
  packages: number;
  /** The key's inputs, credentials removed: what the entry was made from. */
  inputs: unknown;
  payloads: Payload[];
}

export interface ListedEntry {
  key: string;
  meta?: EntryMeta;
  /** Why the entry cannot be used, when it cannot. */
  broken?: string;
  bytes: number;
  lastUsed: Date;
  kind: 'tree' | 'initramfs';
}

export class TreeStore {
  constructor(readonly root: string) {}

  private dir(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  entryDir(key: string): string {
    return this.dir('entries', key);
  }

  lockPath(key: string): string {
    return this.dir('locks', `${key}.lock`);
  }

  ensure(): void {
    for (const d of ['', 'entries', 'initramfs', 'locks', 'tmp']) mkdirSync(this.dir(d), { recursive: true, mode: 0o700 });
  }

  lock(key: string, shared: boolean, wait: boolean): Promise<HeldLock | undefined> {
    return lockFile(this.lockPath(key), { shared, wait });
  }

  /** The entry's description, or why it cannot be read (a corrupt or foreign directory). */
  read(key: string): { meta?: EntryMeta; broken?: string } {
    const file = join(this.entryDir(key), 'entry.json');
    if (!existsSync(this.entryDir(key))) return {};
    try {
      const meta = JSON.parse(readFileSync(file, 'utf8')) as EntryMeta;
      if (meta.format !== ENTRY_FORMAT) return { broken: `entry format ${String(meta.format)}, this Kiln writes ${ENTRY_FORMAT}` };
      if (meta.key !== key) return { broken: `entry.json names key ${String(meta.key)}` };
      for (const p of meta.payloads ?? []) {
        if (!existsSync(join(this.entryDir(key), p.file))) return { broken: `payload ${p.file} is missing` };
      }
      return { meta };
    } catch (e) {
      return { broken: `entry.json unreadable (${(e as Error).message})` };
    }
  }

  /** Mark the entry used now (LRU order). */
  touch(key: string): void {
    const f = join(this.entryDir(key), 'last-used');
    const now = new Date();
    try {
      utimesSync(f, now, now);
    } catch {
      // created with the entry; a missing one is re-created
      void writeFile(f, '').catch(() => undefined);
    }
  }

  /**
   * A private directory to write a new entry into (same filesystem as the entries), recorded for
   * `kiln clean` until `done()`, which removes whatever is still there (nothing, once published).
   */
  async staging(key: string): Promise<StagedDir> {
    this.ensure();
    return await recorded(await mkdtemp(this.dir('tmp', `${key}.${process.pid}.`)));
  }

  /**
   * Publish a staged entry under its key. The caller holds the key's exclusive lock. Returns false
   * (and drops the staged copy) when an entry of that key appeared meanwhile.
   */
  async publish(staged: string, meta: EntryMeta): Promise<boolean> {
    await writeFile(join(staged, 'entry.json'), JSON.stringify(meta, null, 1) + '\n', { mode: 0o600 });
    await writeFile(join(staged, 'last-used'), '');
    const target = this.entryDir(meta.key);
    if (existsSync(target)) {
      await rm(staged, { recursive: true, force: true });
      return false;
    }
    await rename(staged, target);
    return true;
  }

  /** Remove an entry (the caller holds its exclusive lock): renamed away first, so it vanishes at once. */
  async remove(key: string): Promise<void> {
    const target = this.entryDir(key);
    if (!existsSync(target)) return;
    this.ensure();
    const trash = await recorded(this.dir('tmp', `${key}.removed.${process.pid}.${Date.now()}`));
    try {
      await rename(target, trash.path);
    } finally {
      await trash.done();
    }
    logToFile(`cache: removed entry ${key}`);
  }

  /** Every entry and initramfs variant, least recently used first. */
  list(): ListedEntry[] {
    const out: ListedEntry[] = [];
    for (const key of safeReaddir(this.dir('entries'))) {
      const dir = this.entryDir(key);
      const { meta, broken } = this.read(key);
      out.push({ key, ...(meta ? { meta } : {}), ...(broken ? { broken } : {}), bytes: allocatedBytes(dir), lastUsed: lastUsed(dir), kind: 'tree' });
    }
    for (const id of safeReaddir(this.dir('initramfs'))) {
      const dir = this.dir('initramfs', id);
      out.push({ key: id, bytes: allocatedBytes(dir), lastUsed: lastUsed(dir), kind: 'initramfs' });
    }
    return out.sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
  }

  /**
   * Evict least recently used entries until the cache holds at most `maxBytes`; entries in use
   * (locked by a running build) and `keep` are skipped. Leftovers of interrupted writes go first.
   */
  async prune(maxBytes: number, keep: readonly string[] = []): Promise<{ removed: ListedEntry[]; bytes: number }> {
    await this.sweepStaging();
    const entries = this.list();
    let total = entries.reduce((n, e) => n + e.bytes, 0);
    const removed: ListedEntry[] = [];
    for (const e of entries) {
      if (total <= maxBytes) break;
      if (keep.includes(e.key)) continue;
      const lock = await this.lock(e.key, false, false);
      if (!lock) continue; // in use
      try {
        if (e.kind === 'tree') await this.remove(e.key);
        else await rm(this.dir('initramfs', e.key), { recursive: true, force: true });
      } finally {
        await lock.release();
      }
      total -= e.bytes;
      removed.push(e);
    }
    return { removed, bytes: total };
  }

  /** Staged entries of builds that are gone (killed mid-write). */
  private async sweepStaging(): Promise<void> {
    for (const name of safeReaddir(this.dir('tmp'))) {
      const pid = Number(/\.(\d+)\./.exec(name)?.[1]);
      if (pid && pid !== process.pid && existsSync(`/proc/${pid}`)) continue;
      if (pid === process.pid) continue;
      await rm(this.dir('tmp', name), { recursive: true, force: true });
    }
  }

  totalBytes(): number {
    return this.list().reduce((n, e) => n + e.bytes, 0);
  }

  initramfsDir(id: string): string {
    return this.dir('initramfs', id);
  }

  async initramfsStaging(id: string): Promise<StagedDir> {
    this.ensure();
    return await recorded(await mkdtemp(this.dir('tmp', `initramfs-${id}.${process.pid}.`)));
  }

  initramfsIds(): string[] {
    return safeReaddir(this.dir('initramfs'));
  }

  async entryBytes(key: string): Promise<number> {
    try {
      await stat(this.entryDir(key));
      return allocatedBytes(this.entryDir(key));
    } catch {
      return 0;
    }
  }
}

/** A directory under <root>/tmp that `kiln clean` removes if the build is killed before `done()`. */
export interface StagedDir {
  path: string;
  /** Remove what is left of it (nothing after a rename) and drop its record. */
  done: () => Promise<void>;
}

async function recorded(path: string): Promise<StagedDir> {
  const scope = new Scope(`tree cache ${path}`);
  scope.add(`cache staging ${path}`, () => rm(path, { recursive: true, force: true }), { kind: 'path', path });
  return { path, done: () => scope.close() };
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}

/** Bytes allocated on disk (sparse images count for their data only). */
export function allocatedBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    try {
      n += statSync(join(e.parentPath, e.name)).blocks * 512;
    } catch {
      // vanished meanwhile
    }
  }
  return n;
}

function lastUsed(dir: string): Date {
  for (const f of [join(dir, 'last-used'), dir]) {
    try {
      return statSync(f).mtime;
    } catch {
      // try the next
    }
  }
  return new Date(0);
}

/** "16G", "500M", "1.5T", "0" → bytes (binary units; a bare number is bytes). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$/i.exec(text);
  if (!m) throw new Error(`not a size: "${text}" (examples: 16G, 500M, 0)`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  return Math.floor(Number(m[1]) * unit);
}

export function formatBytes(n: number): string {
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(0)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(0)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

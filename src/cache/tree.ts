/**
 * One build's use of the base-tree cache: look the key up; on a hit, copy the cached filesystem
 * images into the new disk before it is attached (prefill) and unpack the cached directories
 * (FAT staging, a rootfs tree); on a miss, after the install, capture the tree and publish it.
 *
 * Concurrency: a build restoring an entry holds the key's lock shared, so it cannot be evicted
 * under it. The first build that misses a key holds the lock exclusive from the lookup until the
 * entry is published: a second build of the same base tree waits for it and then restores instead
 * of installing the same packages again (each build logs which one it is). A build that finds a
 * damaged entry (checksum mismatch, missing or unreadable description) removes it and installs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../core/exec.js';
import { info, logToFile, warn } from '../core/log.js';
import type { TreeKey, TreeKeyRequest, TreePartitionShape } from './key.js';
import { treeKey } from './key.js';
import type { HeldLock } from '../core/lock.js';
import { copyRange, fileSha256, imageDigest, PayloadMismatch, restoreImage, sparseFile, tarDirectory, untarInto } from './payload.js';
import { ENTRY_FORMAT, formatBytes, TreeStore, type EntryMeta, type Payload, type StagedDir } from './store.js';
import { whileReleasing } from '../core/abort.js';
import { fsckExt } from '../disk/fsck.js';

export interface CacheSettings {
  /** Root of the cache (default /var/cache/kiln/trees). */
  dir: string;
  /** Bound of the whole cache; least recently used entries are evicted past it. */
  maxBytes: number;
}

/** A partition of the disk being built, located in the raw file. */
export interface DiskRegion extends TreePartitionShape {
  startBytes: number;
}

export type CacheState = 'off' | 'hit' | 'miss';

export class BaseTreeCache {
  state: CacheState = 'off';
  meta?: EntryMeta;
  /** Why the cache is off for this build. */
  reason?: string;
  private readLock?: HeldLock;
  private writeLock?: HeldLock;

  private constructor(
    readonly store: TreeStore,
    readonly settings: CacheSettings,
    readonly label: string,
    readonly key?: TreeKey,
  ) {}

  /** Compute the key and look it up (may wait for another build installing the same tree). */
  static async open(settings: CacheSettings, label: string, req: TreeKeyRequest): Promise<BaseTreeCache> {
    const store = new TreeStore(settings.dir);
    const key = await treeKey(req);
    if ('reason' in key) {
      const off = new BaseTreeCache(store, settings, label);
      off.reason = key.reason;
      warn(`tree cache not used: ${key.reason}`);
      return off;
    }
    const cache = new BaseTreeCache(store, settings, label, key);
    await cache.lookup();
    return cache;
  }

  static disabled(settings: CacheSettings, label: string, reason: string): BaseTreeCache {
    const off = new BaseTreeCache(new TreeStore(settings.dir), settings, label);
    off.reason = reason;
    return off;
  }

  get shortKey(): string {
    return this.key?.key.slice(0, 12) ?? '';
  }

  private async lookup(): Promise<void> {
    const key = this.key!.key;
    this.store.ensure();
    let waited = false;
    for (;;) {
      const shared = (await this.store.lock(key, true, true))!;
      const found = this.store.read(key);
      if (found.meta) {
        this.readLock = shared;
        this.meta = found.meta;
        this.state = 'hit';
        this.store.touch(key);
        info(`tree cache: hit ${key} (base tree of "${found.meta.label}", ${found.meta.created}): restoring instead of installing ${found.meta.packages} packages`);
        return;
      }
      await shared.release();
      if (found.broken) await this.discard(`entry ${key} is damaged (${found.broken})`);
      const exclusive = await this.store.lock(key, false, false);
      if (exclusive) {
        if (this.store.read(key).meta) {
          await exclusive.release(); // published between our two looks: restore it
          continue;
        }
        this.writeLock = exclusive;
        this.state = 'miss';
        info(`tree cache: miss ${key}: installing, the tree will be stored under this key`);
        return;
      }
      if (waited) {
        this.state = 'miss';
        info(`tree cache: miss ${key}: another build is writing this entry; installing without storing`);
        return;
      }
      info(`tree cache: another build is installing the same base tree (key ${key}); waiting for it`);
      waited = true; // the shared lock above blocks until that build publishes (or gives up)
    }
  }

  /** Remove a damaged entry (when nobody is using it) and go on as a miss. */
  private async discard(why: string): Promise<void> {
    warn(`tree cache: ${why}: removed; the base tree is installed afresh`);
    const lock = await this.store.lock(this.key!.key, false, false);
    if (!lock) return;
    try {
      await this.store.remove(this.key!.key);
    } finally {
      await lock.release();
    }
  }

  /** After a failed restore: drop the entry and become a miss (the caller installs). */
  private async fallBack(why: string): Promise<void> {
    await this.readLock?.release();
    this.readLock = undefined;
    this.meta = undefined;
    await this.discard(why);
    this.state = 'miss';
    this.writeLock = await this.store.lock(this.key!.key, false, false);
  }

  /**
   * prepareDisk's prefill: copy the entry's filesystem images into the raw disk (still detached).
   * Returns the partitions filled; on a damaged payload the written ranges are emptied again,
   * the entry is removed, and nothing is filled (the build installs).
   */
  async prefill(raw: string, regions: readonly DiskRegion[]): Promise<ReadonlySet<string>> {
    const filled = new Set<string>();
    if (this.state !== 'hit' || !this.meta) return filled;
    const images = this.meta.payloads.filter((p): p is Extract<Payload, { kind: 'fs-image' }> => p.kind === 'fs-image');
    try {
      // archives first (cheap), so a damaged one is found before any disk range is written
      for (const p of this.meta.payloads) if (p.kind === 'tar') await verifyTar(join(this.store.entryDir(this.meta.key), p.file), p.sha256);
      for (const p of images) {
        const region = regions.find((r) => r.id === p.partition);
        if (!region || region.sizeBytes !== p.sizeBytes || region.fsType !== p.fsType) throw new PayloadMismatch(`partition ${p.partition} does not match the entry`);
        filled.add(p.partition);
        await restoreImage(join(this.store.entryDir(this.meta.key), p.file), p.sizeBytes, raw, region.startBytes, p.sha256);
      }
      logToFile(`tree cache: ${images.length} filesystem image(s) copied`);
      return filled;
    } catch (e) {
      for (const id of filled) {
        const r = regions.find((x) => x.id === id)!;
        await run('fallocate', ['--punch-hole', '--offset', String(r.startBytes), '--length', String(r.sizeBytes), raw]);
      }
      if (!(e instanceof PayloadMismatch)) throw e;
      await this.fallBack(`entry ${this.meta.key} is damaged (${(e as Error).message})`);
      return new Set();
    }
  }

  /** Unpack the entry's directory archives: FAT staging directories (by partition id) or the rootfs tree ('/'). */
  async restoreDirectories(dirs: ReadonlyMap<string, string>): Promise<void> {
    if (this.state !== 'hit' || !this.meta) return;
    for (const p of this.meta.payloads) {
      if (p.kind !== 'tar') continue;
      const dir = dirs.get(p.target);
      if (!dir) throw new Error(`tree cache: no directory for ${p.target} in this build`);
      await untarInto(join(this.store.entryDir(this.meta.key), p.file), dir, p.sha256);
    }
  }

  /** A rootfs build's hit: unpack the tree; a damaged archive turns the build into a miss. */
  async restoreTree(dir: string): Promise<boolean> {
    if (this.state !== 'hit' || !this.meta) return false;
    try {
      await this.restoreDirectories(new Map([['/', dir]]));
      return true;
    } catch (e) {
      if (!(e instanceof PayloadMismatch)) throw e;
      await run('find', [dir, '-mindepth', '1', '-delete']);
      await this.fallBack(`entry ${this.meta.key} is damaged (${e.message})`);
      return false;
    }
  }

  /** The entry's restore is complete: it may be evicted again. */
  async restored(): Promise<void> {
    await this.readLock?.release();
    this.readLock = undefined;
  }

  /** True when this build should store what it installs. */
  get storing(): boolean {
    return this.state === 'miss' && !!this.writeLock;
  }

  /**
   * Capture the freshly installed tree and publish it: each mounted partition's bytes (fstrim
   * first, frozen while copied, then checked with e2fsck so a later tune2fs -U accepts it), each
   * FAT staging directory and a rootfs tree as archives.
   */
  async capture(src: { raw?: string; root: string; regions?: readonly DiskRegion[]; staging?: ReadonlyMap<string, string>; packages: number; snapshotNow: () => Promise<string | undefined> }): Promise<void> {
    if (!this.storing || !this.key) return;
    const t0 = Date.now();
    const key = this.key.key;
    let stagedDir: StagedDir | undefined;
    try {
      const now = await src.snapshotNow();
      if (now !== this.key.snapshot) {
        warn('tree cache: the repositories changed during the install; this tree is not stored');
        return;
      }
      stagedDir = await this.store.staging(key);
      const staged = stagedDir.path;
      const payloads: Payload[] = [];
      for (const r of src.regions ?? []) {
        if (r.staged) {
          const dir = src.staging?.get(r.id);
          if (!dir) continue;
          const file = `fat-${r.id}.tar`;
          payloads.push({ kind: 'tar', file, target: r.id, sha256: await tarDirectory(dir, join(staged, file)) });
          continue;
        }
        const mountPoint = join(src.root, r.mountPoint);
        const file = `fs-${r.id}.img`;
        await sparseFile(join(staged, file), r.sizeBytes);
        await run('fstrim', [mountPoint], { allowFailure: true });
        await run('fsfreeze', ['--freeze', mountPoint]);
        try {
          await copyRange(src.raw!, r.startBytes, r.sizeBytes, join(staged, file), 0);
        } finally {
          // also after Ctrl-C: a filesystem left frozen would hang its unmount
          await whileReleasing(() => run('fsfreeze', ['--unfreeze', mountPoint]));
        }
        if (r.fsType.startsWith('ext')) {
          // marks the copy clean and checked (a frozen filesystem is still "mounted" on disk)
          // the real clock: tune2fs -U later wants "last checked" after "last mounted"
          await fsckExt(join(staged, file), { env: withoutFakeTime(), what: `the captured ${r.id} filesystem` });
        }
        const digest = await imageDigest(join(staged, file), 0, r.sizeBytes);
        payloads.push({ kind: 'fs-image', file, partition: r.id, fsType: r.fsType, sizeBytes: r.sizeBytes, dataBytes: digest.dataBytes, sha256: digest.sha256 });
      }
      if (!src.regions) payloads.push({ kind: 'tar', file: 'tree.tar', target: '/', sha256: await tarDirectory(src.root, join(staged, 'tree.tar')) });
      const meta: EntryMeta = {
        format: ENTRY_FORMAT,
        key,
        created: new Date().toISOString(),
        label: this.label,
        distro: `${String((this.key.inputs.distro as { name: string }).name)} ${String((this.key.inputs.distro as { release: string }).release)}`,
        packages: src.packages,
        inputs: this.key.inputs,
        payloads,
      };
      if (await this.store.publish(staged, meta)) {
        info(`tree cache: stored ${key} (${formatBytes(await this.store.entryBytes(key))}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }
    } catch (e) {
      warn(`tree cache: the tree was not stored: ${(e as Error).message}`);
    } finally {
      // removes the staged copy unless it was published (renamed away)
      await stagedDir?.done();
      await this.writeLock?.release();
      this.writeLock = undefined;
    }
    await this.prune([key]);
  }

  /** Keep the cache within its bound (least recently used first; entries in use are skipped). */
  async prune(keep: string[] = []): Promise<void> {
    const { removed, bytes } = await this.store.prune(this.settings.maxBytes, keep);
    if (removed.length) info(`tree cache: evicted ${removed.length} least recently used entr${removed.length > 1 ? 'ies' : 'y'}; ${formatBytes(bytes)} in use`);
  }

  /** Release whatever this build still holds (success, failure, interrupt). */
  async close(): Promise<void> {
    await this.readLock?.release();
    await this.writeLock?.release();
    this.readLock = this.writeLock = undefined;
  }
}

function withoutFakeTime(): NodeJS.ProcessEnv {
  const { E2FSPROGS_FAKE_TIME: _fake, ...env } = process.env;
  return env;
}

async function verifyTar(file: string, sha256: string): Promise<void> {
  if (!existsSync(file)) throw new PayloadMismatch(`${file} is missing`);
  const actual = await fileSha256(file);
  if (actual !== sha256) throw new PayloadMismatch(`archive hash ${actual.slice(0, 16)}… instead of ${sha256.slice(0, 16)}…`);
}

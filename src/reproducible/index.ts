/**
 * Reproducible builds: with SOURCE_DATE_EPOCH set (or --reproducible, or --seed), two builds of
 * the same config against the same package snapshot give the same bytes.
 *
 *  - identifiers (disk and partition GUIDs, filesystem UUIDs, the ext directory-hash seed, FAT
 *    volume ids, container GUIDs) are derived from a digest of the config and the seed (disk/ids.ts);
 *  - every tool gets SOURCE_DATE_EPOCH (mmdebstrap, maintainer scripts, useradd, mkinitramfs,
 *    dosfstools, mtools, mksquashfs), E2FSPROGS_FAKE_TIME (mke2fs, debugfs), TZ=UTC (FAT stores
 *    local time) and LC_ALL=C (orders of sorted listings);
 *  - file modification times newer than SOURCE_DATE_EPOCH are clamped to it before the tree is
 *    unmounted, and each ext filesystem is then rebuilt in user space from the finished tree
 *    (mke2fs -d: sorted directory order, no kernel allocator or clock), its access, change and
 *    creation times set to SOURCE_DATE_EPOCH (debugfs);
 *  - containers: vhdx GUIDs and sequence numbers, the VHD footer's id and time, the VMDK CID;
 *    tarballs sorted, times clamped, no atime/ctime; gzip without name and time.
 * What never ships at all: machine-id (machine-id step), SSH host keys (ssh-host-keys step).
 */
import { createHash } from 'node:crypto';
import type { LoadedConfig } from '../config/model.js';
import { UsageError } from '../core/errors.js';
import { derivedIds, type IdSource } from '../disk/ids.js';
import { canonicalJson } from '../cache/key.js';

/** 2024-01-01T00:00:00Z: --reproducible without SOURCE_DATE_EPOCH. */
export const DEFAULT_SOURCE_DATE_EPOCH = 1704067200;

export interface Reproducible {
  sourceDateEpoch: number;
  seed: string;
}

/** Reproducible settings from the options and the environment (undefined: an ordinary build). */
export function reproducibleSettings(opts: { reproducible?: boolean; seed?: string }, env: NodeJS.ProcessEnv = process.env): Reproducible | undefined {
  const sde = env.SOURCE_DATE_EPOCH?.trim();
  if (sde) {
    if (!/^\d+$/.test(sde)) throw new UsageError(`SOURCE_DATE_EPOCH=${sde}: not a number of seconds since 1970`);
    return { sourceDateEpoch: Number(sde), seed: opts.seed ?? '' };
  }
  if (opts.reproducible || opts.seed !== undefined) return { sourceDateEpoch: DEFAULT_SOURCE_DATE_EPOCH, seed: opts.seed ?? '' };
  return undefined;
}

/**
 * The config's identity for derived identifiers: its content with paths relative to its own
 * directory (the same config in another checkout gives the same disk), and the SystemConfig built.
 */
export function configDigest(loaded: LoadedConfig, systemConfig: string): string {
  const base = loaded.baseDir.replace(/\/+$/, '') + '/';
  const relative = JSON.parse(JSON.stringify(loaded.config, (_k, v: unknown) => (typeof v === 'string' && v.startsWith(base) ? v.slice(base.length) : v))) as unknown;
  return createHash('sha256').update(canonicalJson({ name: loaded.name, systemConfig, config: relative })).digest('hex');
}

export function reproducibleIds(r: Reproducible, loaded: LoadedConfig, systemConfig: string): IdSource {
  return derivedIds(r.seed, configDigest(loaded, systemConfig));
}

/** The environment every host tool of a reproducible build runs with. */
export function hostEnv(r: Reproducible): Record<string, string> {
  return { SOURCE_DATE_EPOCH: String(r.sourceDateEpoch), E2FSPROGS_FAKE_TIME: String(r.sourceDateEpoch), TZ: 'UTC', LC_ALL: 'C' };
}

/** What programs run inside the image get on top of their clean environment. */
export function chrootEnv(r: Reproducible | undefined): Record<string, string> {
  return r ? { SOURCE_DATE_EPOCH: String(r.sourceDateEpoch), TZ: 'UTC' } : {};
}

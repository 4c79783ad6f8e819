/**
 * The base-tree cache key: a SHA-256 over everything that decides the tree a fresh install would
 * produce, and nothing that acts only after it (users, hostname, files, scripts, network, …):
 *
 *  - Kiln's install procedure version (TREE_FORMAT) and the host architecture;
 *  - the distribution, release and backend family;
 *  - the backend's installInputs(): package set with implicit packages, repositories, what is
 *    written into the root before the package manager runs (dpkg path filters / rpm macros for
 *    DisableRpmDocs and OverrideRpmLocales, initramfs settings), its command line, host tool versions;
 *  - the backend's repoSnapshot(): the repositories' metadata as published now;
 *  - the fstab written before the install, without its identifiers (mount points, types, options);
 *  - disk builds: the partitions that hold the tree (mount point, filesystem, size, build-time mount
 *    options) and the mkfs tools' versions, because the cache keeps filesystem images;
 *  - SOURCE_DATE_EPOCH of a reproducible build (maintainer scripts write it into files).
 */
import { createHash } from 'node:crypto';
import { arch } from 'node:os';
import type { DistroBackend, InstallKeyRequest } from '../distro/backend.js';
import { withoutCredentials } from '../distro/fetch.js';
import { hostPackageVersions } from '../host/versions.js';

/** Bump when Kiln changes how it installs in a way the inputs below do not show. */
export const TREE_FORMAT = 1;

export interface TreePartitionShape {
  id: string;
  mountPoint: string;
  fsType: string;
  sizeBytes: number;
  /** Mount options used while building (they decide on-disk details). */
  buildOptions: string[];
  /** FAT: staged in a directory and cached as an archive. */
  staged: boolean;
}

export interface TreeKeyRequest {
  backend: DistroBackend;
  install: InstallKeyRequest;
  /** Disk builds: the mounted partitions (rootfs builds: undefined). */
  partitions?: TreePartitionShape[];
  sourceDateEpoch?: number;
}

export interface TreeKey {
  key: string;
  snapshot: string;
  /** The key's inputs, credentials removed (stored with the entry, shown by `kiln cache list --json`). */
  inputs: Record<string, unknown>;
}

/** The fstab's lines without their first field (identifiers differ on every build). */
export function fstabShape(fstab: string | undefined): string[] {
  return (fstab ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/).slice(1).join(' '));
}

/** JSON with object keys sorted, so equal inputs always hash the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

export async function treeKey(req: TreeKeyRequest): Promise<TreeKey | { reason: string }> {
  const [install, snapshot, mkfs] = await Promise.all([
    req.backend.installInputs(req.install),
    req.backend.repoSnapshot(req.install),
    req.partitions ? hostPackageVersions(['e2fsprogs', 'xfsprogs', 'dosfstools', 'mtools']) : Promise.resolve([]),
  ]);
  if (!snapshot) return { reason: 'the repositories\' metadata could not be read, so the packages a fresh install would get are unknown' };
  const inputs: Record<string, unknown> = {
    format: TREE_FORMAT,
    arch: arch(),
    distro: { name: req.backend.name, release: req.backend.release, family: req.backend.family },
    install,
    snapshot,
    fstab: fstabShape(req.install.fstab),
    partitions: req.partitions ?? null,
    mkfs,
    sourceDateEpoch: req.sourceDateEpoch ?? null,
  };
  const key = createHash('sha256').update(canonicalJson(inputs)).digest('hex').slice(0, 32);
  return { key, snapshot, inputs: JSON.parse(withoutCredentials(JSON.stringify(inputs))) as Record<string, unknown> };
}

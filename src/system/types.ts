/**
 * Contract between the build pipeline (build/, owner of disks, mounts and chroots) and the system
 * configuration steps (system/, each applies one SystemConfig key to the installed root).
 */
import type { RunResult } from '../core/exec.js';
import type { LoadedConfig, MountIdentifier, PartitionTableType, SystemConfig } from '../config/model.js';
import type { DistroDecl } from '../distro/catalog/index.js';
import type { LayerBoot } from '../disk/layers/types.js';

/** A partition of the disk being built, with the identifiers the filesystem/table got. */
export interface BuiltPartition {
  id: string;
  /**
   * While attached: the device its filesystem is built and mounted on (/dev/loopNpM, or the top
   * of its device stack, e.g. a LUKS plaintext loop device). Undefined for rootfs builds.
   */
  device?: string;
  /**
   * Device layers under the filesystem, bottom-up, as the booted system opens them (absent: the
   * filesystem is on the partition). A verity root hash is not known yet while the image is built.
   */
  layers?: LayerBoot[];
  /** /dev/mapper/<name> the booted system opens the stack as (when it has layers). */
  mapperName?: string;
  /** Holds a layer's metadata (a verity hash tree): no filesystem, never mounted. */
  metadataOf?: 'verity';
  partuuid?: string;
  /** Filesystem UUID (FAT volume id formatted XXXX-XXXX). */
  fsuuid?: string;
  partlabel?: string;
  fsType: string;
  mountPoint?: string;
  mountOptions?: string;
  mountIdentifier: MountIdentifier;
}

export interface BuiltDisk {
  tableType: PartitionTableType;
  /** GPT disk GUID or MBR disk id (0xXXXXXXXX). */
  diskId: string;
  partitions: BuiltPartition[];
}

export interface ChrootOptions {
  input?: string;
  env?: Record<string, string>;
  /** Do not throw on non-zero exit. */
  allowFailure?: boolean;
  /** Share the build host's network (default: none; see docs/security.md). */
  network?: boolean;
}

export interface SystemContext {
  /** Absolute path of the image root (mounted). */
  root: string;
  loaded: LoadedConfig;
  sc: SystemConfig;
  /** The distribution's catalog entry: steps ask it instead of testing names. */
  distro: DistroDecl;
  /** Undefined for rootfs (directory tree) builds. */
  disk?: BuiltDisk;
  /** Run argv inside the image root, in the sandbox (own namespaces, /proc, minimal /dev; no host /run or /sys). */
  chroot(argv: string[], opts?: ChrootOptions): Promise<RunResult>;
}

/** One small, declared configuration step (osbuild-style): a name, when it applies, what it does. */
export interface SystemStep {
  name: string;
  applies(ctx: SystemContext): boolean;
  run(ctx: SystemContext): Promise<void>;
}

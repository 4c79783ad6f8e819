/**
 * Device layers: what stands between a partition and its filesystem (osbuild's device stack:
 * loop partition → LUKS → filesystem, or loop partition → verity → filesystem). The build host has
 * no device-mapper, so a layer cannot be opened on the host the way the booted system opens it.
 * Each layer therefore has three moments:
 *
 *   open   before mkfs: lay down what can be made now (a LUKS header) and give the device the
 *          filesystem is built and mounted on while the image is assembled (a plaintext file for
 *          LUKS; the partition itself for verity);
 *   seal   after the filesystem is unmounted for the last time: turn what was built into what lies
 *          on the disk (encrypt it into the LUKS data area; compute the verity hash tree);
 *   boot   what the booted system needs to open the layer again (mapper name, identifiers, the
 *          root hash), rendered by the initramfs and boot-loader code.
 *
 * The pipeline only sees `DeviceStack` (index.ts): it never asks which layers a partition has.
 */
import type { FsType } from '../../config/model.js';
import type { Scope } from '../../core/scope.js';

export type LayerKind = 'luks' | 'verity';

/** A layer as planned from the config (pure). */
export type LayerSpec =
  | {
      kind: 'luks';
      /** Device-mapper name at boot (/dev/mapper/<name>). */
      name: string;
      /** Kept in memory only; handed to cryptsetup on stdin. */
      passphrase: string;
    }
  | {
      kind: 'verity';
      name: string;
      /** Partition id of the hash device. */
      hashPartition: string;
      corruption: 'error' | 'restart' | 'panic';
    };

/** What the booted system needs to open a layer. */
export type LayerBoot =
  | { kind: 'luks'; name: string; /** LUKS header UUID */ uuid: string }
  | {
      kind: 'verity';
      name: string;
      /** Filesystem UUID of the data (what the initramfs finds the data partition by). */
      dataUuid: string;
      /** UUID in the verity superblock of the hash partition. */
      hashUuid: string;
      /** Known once sealed. */
      rootHash?: string;
      corruption: 'error' | 'restart' | 'panic';
    };

export interface LayerContext {
  scope: Scope;
  /** Build's private directory (plaintext staging files live here and die with it). */
  workDir: string;
  partitionId: string;
  /** Block device of the partition (or of the layer below). */
  lower: string;
  lowerBytes: number;
  /** Other partitions' devices by id (verity: the hash partition). */
  deviceOf(partitionId: string): string;
}

/** An opened layer: where the next layer (or the filesystem) goes, how to seal, what boot needs. */
export interface OpenLayer {
  kind: LayerKind;
  /** Device the filesystem is made on and mounted from while the image is assembled. */
  upper: string;
  upperBytes: number;
  /**
   * How mkfs must behave on `upper`: "garbage" when the blocks the build never writes will not
   * read as zeros on the booted system (encrypted holes), so mkfs must not discard and then trust
   * the zeros; "zeros" otherwise.
   */
  unwritten: 'zeros' | 'garbage';
  /**
   * After the last unmount: write the final on-disk form. Idempotent. `fsType`: the filesystem
   * on top of the stack (verity shrinks it to its content first, so only that is hashed).
   */
  seal(fsType: FsType): Promise<void>;
  /** `fsUuid`: the filesystem made on top of the stack. */
  boot(fsUuid: string): LayerBoot;
}

export interface DeviceLayer {
  kind: LayerKind;
  open(ctx: LayerContext): Promise<OpenLayer>;
}

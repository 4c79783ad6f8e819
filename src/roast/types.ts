/**
 * The contract between `roast()` and its converters: one converter per output format, each saying
 * what it reads (a whole disk, one partition's bytes, or a root directory tree) and what it writes.
 */
import type { Scope } from '../core/scope.js';
import type { IdSource } from '../disk/ids.js';

/** A reproducible build's clock and identifiers: converters put no random or time-based value in their output. */
export interface ReproducibleRoast {
  sourceDateEpoch: number;
  ids: IdSource;
}

/** What a converter reads. A partition is handed over already extracted to its own sparse file. */
export type InputKind = 'disk' | 'partition' | 'tree';

/** A partition of a raw disk, located by byte range (the imager knows the layout; so does sfdisk). */
export interface DiskPartition {
  id: string;
  startBytes: number;
  sizeBytes: number;
  fsType: string;
}

export type RoastInput =
  /** A (sparse) raw disk image. `partitions` is needed only for partition artifacts. */
  | { kind: 'disk'; path: string; partitions?: DiskPartition[] }
  /** A root filesystem: a directory, or a tar archive of one (extracted to a temporary directory). */
  | { kind: 'tree'; path: string };

/** One requested artifact, in the config's own words (Disks[].Artifacts or Partitions[].Artifacts). */
export interface ArtifactRequest {
  Name: string;
  Type?: string;
  Compression?: string;
  /** Set for Disks[].Partitions[].Artifacts: the partition (by ID) the artifact is made from. */
  partitionId?: string;
}

/** PartitionSettings' base images, by partition ID (for `diff` and `rdiff` artifacts). */
export interface BaseImages {
  [partitionId: string]: { RdiffBaseImage?: string; OverlayBaseImage?: string };
}

export interface RoastRequest {
  input: RoastInput;
  artifacts: ArtifactRequest[];
  /** Created if missing. Artifacts are written as `<outDir>/<Name>.<ext>`. */
  outDir: string;
  /** Temporary files are registered here, so a failure or Ctrl-C leaves nothing half-written. */
  scope: Scope;
  baseImages?: BaseImages;
  /**
   * The raw disk is a throwaway (kiln build without --keep-raw): one raw or vhd artifact may take it
   * over by rename instead of copying it (a fixed VHD is then the raw plus a footer: no data copied).
   * That artifact is made last; the input path is gone afterwards.
   */
  consumeInput?: boolean;
  /** Same input, same bytes: identifiers derived, timestamps clamped (a reproducible build). */
  reproducible?: ReproducibleRoast;
}

/** What a converter is given: a source of its input kind and a (temporary) output path to create. */
export interface ConvertJob {
  /** A raw file (disk, partition) or a directory (tree). */
  source: string;
  /** Where to write. It is a temporary name; roast() renames it once complete. */
  output: string;
  scope: Scope;
  /** Scratch directory on the output's filesystem, removed by the scope. */
  workDir: string;
  /** Artifact name (used inside formats that record one, e.g. the OVF descriptor). */
  name: string;
  /** Compression asked for a format that compresses internally (initrd: gz | xz | zst). */
  compression?: string;
  /** Base image for diff formats (from PartitionSettings). */
  baseImage?: string;
  /** The source may be moved into the output instead of copied (see RoastRequest.consumeInput). */
  consumeSource?: boolean;
  reproducible?: ReproducibleRoast;
}

export interface Converter {
  /** The `Type` value that selects it (e.g. "vhd"). */
  name: string;
  /** File extension, without the dot (e.g. "vhd", "tar.gz"). */
  extension: string;
  /** Input kinds it can read. */
  accepts: InputKind[];
  /** One line for `kiln roast --list` and the docs: what it writes and with which tool. */
  description: string;
  /** Host programs it runs (checked, and installed when possible, before any work starts). */
  tools: string[];
  convert(job: ConvertJob): Promise<void>;
}

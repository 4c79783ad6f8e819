/**
 * What every semantic rule gets: the schema-valid config (paths still as written), a way to
 * report a finding at a JSON path, path resolution against the base directory, and the packages
 * each SystemConfig installs (package lists read once, their own problems reported in their file).
 */
import type { Config, SystemConfig } from '../model.js';
import type { Segment, Severity } from '../findings.js';
import type { PackageRules } from '../../distro/catalog/index.js';

export interface ScPackages {
  /** Package names (version constraints stripped) with where each was listed, in order. */
  entries: { name: string; where: string }[];
  names: Set<string>;
}

export type FileKind = 'file' | 'directory' | 'other' | 'missing';

export interface RuleContext {
  config: Config;
  file: string;
  baseDir: string;
  /**
   * A finding. `error` (the default): upstream's validator rejects this too, or a Kiln extension
   * is used wrongly, or a deliberate difference (docs/config.md). `warning`: advice only.
   */
  report(at: readonly Segment[], message: string, hint?: string, severity?: Severity): void;
  /**
   * A rule of Kiln's own that upstream's validator does not have: a warning (upstream accepts the
   * config) that `kiln build` refuses, because Kiln cannot build what it asks for or would
   * misbuild it (e.g. a layout that will not boot). `--strict` makes it an error.
   */
  kiln(at: readonly Segment[], message: string, hint?: string): void;
  /** Absolute path of a config-relative path. */
  resolve(path: string): string;
  exists(path: string): boolean;
  /** What a config-relative path is on disk (following symbolic links). */
  kind(path: string): FileKind;
  /** --allow-outside-config-dir was given: referenced files may lie anywhere. */
  allowOutsideConfigDir: boolean;
  /** The real path of a referenced file when it lies outside the base directory (and that is not allowed), else undefined. */
  outside(path: string): string | undefined;
  packages(scIndex: number): ScPackages;
  rules(sc: SystemConfig): PackageRules;
}

export type Rule = (ctx: RuleContext) => void;

/** True when the config describes a partitioned disk image (not a rootfs). */
export function hasPartitions(config: Config): boolean {
  return (config.Disks ?? []).some((d) => (d.Partitions ?? []).length > 0);
}

/** Every partition of every disk with its location in the document. */
export function allPartitions(config: Config) {
  return (config.Disks ?? []).flatMap((d, di) =>
    (d.Partitions ?? []).map((p, pi) => ({ disk: d, p, at: ['Disks', di, 'Partitions', pi] as Segment[] })),
  );
}

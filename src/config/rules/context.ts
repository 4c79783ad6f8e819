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

export interface RuleContext {
  config: Config;
  file: string;
  baseDir: string;
  report(at: readonly Segment[], message: string, hint?: string, severity?: Severity): void;
  /** Absolute path of a config-relative path. */
  resolve(path: string): string;
  exists(path: string): boolean;
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

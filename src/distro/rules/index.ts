/**
 * The distributions a SystemConfig can name in its `Distro` extension, with their releases and
 * the package rules of their family. Absent `Distro` = Azure Linux 3.0, as upstream.
 */
import { debianRules } from './debian.js';
import { rpmRules } from './rpm.js';
import type { DistroFamily, PackageRules } from './types.js';

export type { DistroFamily, PackageRules } from './types.js';
export { packageName } from './types.js';

export interface DistroInfo {
  name: string;
  family: DistroFamily;
  /** Accepted release spellings; the first is the default. Aliases map to the same release. */
  releases: readonly string[];
  rules: PackageRules;
}

export const DISTROS: readonly DistroInfo[] = [
  { name: 'debian', family: 'debian', releases: ['bookworm', '12', 'trixie', '13'], rules: debianRules },
  { name: 'azurelinux', family: 'rpm', releases: ['3.0'], rules: rpmRules },
];

export const DEFAULT_DISTRO = 'azurelinux';

export function findDistro(name: string | undefined): DistroInfo | undefined {
  return DISTROS.find((d) => d.name === (name ?? DEFAULT_DISTRO));
}

/** Package rules for a distro name; unknown names fall back to the default so other rules still run. */
export function packageRulesFor(name: string | undefined): PackageRules {
  return (findDistro(name) ?? findDistro(DEFAULT_DISTRO)!).rules;
}

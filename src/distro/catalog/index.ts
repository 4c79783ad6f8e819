/**
 * The distribution catalog: every distribution Kiln knows, declared once. The schema's `Distro`
 * enum, the validator's package rules and unsupported-key errors, the backend registry, the system
 * steps, the bootloader and the ISO read it. Absent `Distro` = Azure Linux 3.0, as upstream.
 */
import type { SystemConfig } from '../../config/model.js';
import { azurelinux } from './azurelinux.js';
import { debian } from './debian.js';
import type { DistroDecl, PackageRules } from './types.js';

export type * from './types.js';

export const DISTROS: readonly DistroDecl[] = [azurelinux, debian];
export const DEFAULT_DISTRO = 'azurelinux';

/** Every spelling `Distro.Name` accepts (canonical names and aliases): the schema's enum. */
export const DISTRO_NAMES: readonly string[] = DISTROS.flatMap((d) => [d.name, ...d.aliases]);

export function findDistro(name: string | undefined): DistroDecl | undefined {
  const n = (name ?? DEFAULT_DISTRO).toLowerCase();
  return DISTROS.find((d) => d.name === n || d.aliases.includes(n));
}

/** Canonical release name for a spelling (undefined when the distro has no such release). */
export function findRelease(decl: DistroDecl, release: string | undefined): string | undefined {
  if (release === undefined || release === '') return decl.releases[0]!.name;
  return decl.releases.find((r) => r.name === release || r.aliases.includes(release))?.name;
}

/** Every release spelling of a distro, canonical names first (for messages). */
export function releaseSpellings(decl: DistroDecl): string[] {
  return decl.releases.flatMap((r) => [r.name, ...r.aliases]);
}

/** The distribution a SystemConfig builds; unknown names fall back to the default so other rules still run. */
export function distroFor(sc: Pick<SystemConfig, 'Distro'>): DistroDecl {
  return findDistro(sc.Distro?.Name) ?? findDistro(DEFAULT_DISTRO)!;
}

export function packageRulesFor(name: string | undefined): PackageRules {
  return (findDistro(name) ?? findDistro(DEFAULT_DISTRO)!).rules;
}

/** Package-list entries may carry a version constraint ("pkg=1.2", "pkg>=1.2"); rules compare names. */
export function packageName(entry: string): string {
  return entry.trim().split(/[\s=<>]/, 1)[0] ?? '';
}

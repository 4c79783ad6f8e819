/**
 * Which backend builds a SystemConfig: the catalog names the distribution and its family, the
 * family names the implementation. Absent `Distro` = Azure Linux 3.0, as upstream.
 */
import type { SystemConfig } from '../config/model.js';
import { ExitCode, KilnError } from '../core/errors.js';
import type { DistroBackend } from './backend.js';
import { findDistro, findRelease, DEFAULT_DISTRO, releaseSpellings, type DistroDecl, type DistroFamily } from './catalog/index.js';
import { DebianBackend } from './debian/index.js';
import { RpmBackend } from './rpm/index.js';

const FAMILIES: Record<DistroFamily, new (decl: DistroDecl, release: string) => DistroBackend> = {
  debian: DebianBackend,
  rpm: RpmBackend,
};

export function backendFor(sc: SystemConfig): DistroBackend {
  const name = sc.Distro?.Name ?? DEFAULT_DISTRO;
  const decl = findDistro(name);
  if (!decl) throw new KilnError(`SystemConfig "${sc.Name}": unknown distribution "${name}"`, ExitCode.InvalidConfig);
  const release = findRelease(decl, sc.Distro?.Release);
  if (!release) {
    throw new KilnError(`SystemConfig "${sc.Name}": "${sc.Distro?.Release}" is not a ${decl.prettyName} release`, ExitCode.InvalidConfig, [
      `supported: ${releaseSpellings(decl).join(', ')}`,
    ]);
  }
  return new FAMILIES[decl.family](decl, release);
}

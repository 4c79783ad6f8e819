/**
 * Software bills of materials written beside manifest.json by every build: CycloneDX 1.6
 * (sbom.cdx.json) and SPDX 2.3 (sbom.spdx.json). The package list is the backend's manifest()
 * (the same data as manifest.json); the artifacts are hashed here.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '../core/atomic.js';
import { redactEvent } from '../core/log.js';
import type { Scope } from '../core/scope.js';
import { cycloneDxJson } from './cyclonedx.js';
import { digestFile, type FileDigest } from './hash.js';
import { spdxJson } from './spdx.js';
import type { SbomInput } from './types.js';

export { cycloneDxJson } from './cyclonedx.js';
export { spdxJson } from './spdx.js';
export { digestFile, type FileDigest } from './hash.js';
export { licenseInfo, isSpdxExpression } from './license.js';
export { packageUrl } from './purl.js';
export type { SbomInput } from './types.js';

export const SBOM_FILES = { cyclonedx: 'sbom.cdx.json', spdx: 'sbom.spdx.json' } as const;

/** Hash the artifacts and write both SBOMs into `dir` (atomically); returns their paths and the digests. */
export async function writeSboms(
  scope: Scope,
  dir: string,
  input: Omit<SbomInput, 'artifacts'>,
  artifacts: string[],
): Promise<{ files: string[]; digests: FileDigest[] }> {
  const digests: FileDigest[] = [];
  for (const a of artifacts) digests.push(await digestFile(a));
  // names and paths may come from the config: no secret of the build reaches a file shipped with the image
  const full: SbomInput = redactEvent({ ...input, artifacts: digests });
  const cdx = join(dir, SBOM_FILES.cyclonedx);
  const spdx = join(dir, SBOM_FILES.spdx);
  await writeAtomically(scope, cdx, (tmp) => writeFile(tmp, cycloneDxJson(full)));
  await writeAtomically(scope, spdx, (tmp) => writeFile(tmp, spdxJson(full)));
  return { files: [cdx, spdx], digests };
}

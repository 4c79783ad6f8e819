/**
 * SPDX 2.3 JSON of a built image: one package for the image, one per installed package (with its
 * purl as a PACKAGE-MANAGER external reference and the licence the package database declares), one
 * file per artifact with SHA-1 and SHA-256. Licences that are not SPDX expressions are not guessed:
 * licenseDeclared is NOASSERTION and the database's names are kept in licenseComments.
 */
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { licenseInfo } from './license.js';
import { packageUrl } from './purl.js';
import type { SbomInput } from './types.js';

/** SPDX identifiers: letters, digits, "." and "-" only. */
export function spdxId(prefix: string, name: string, n: number): string {
  return `SPDXRef-${prefix}-${n}-${name.replace(/[^A-Za-z0-9.-]+/g, '-')}`;
}

export function spdxJson(input: SbomInput): string {
  const NOASSERTION = 'NOASSERTION';
  const imageId = 'SPDXRef-Image';
  const packages = input.packages.map((p, i) => {
    const lic = licenseInfo(p.license);
    return {
      SPDXID: spdxId('Package', p.name, i + 1),
      name: p.name,
      versionInfo: p.version,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: lic.expression ?? NOASSERTION,
      ...(lic.names.length ? { licenseComments: `declared by the package database, not an SPDX expression: ${lic.names.join('; ')}` } : {}),
      copyrightText: NOASSERTION,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: packageUrl(input.distro, p) }],
      annotations: undefined,
      comment: `architecture ${p.arch}`,
    };
  });
  const files = input.artifacts.map((a, i) => ({
    SPDXID: spdxId('File', basename(a.path), i + 1),
    fileName: `./${basename(a.path)}`,
    checksums: [
      { algorithm: 'SHA1', checksumValue: a.sha1 },
      { algorithm: 'SHA256', checksumValue: a.sha256 },
    ],
    fileTypes: ['BINARY'],
    licenseConcluded: NOASSERTION,
    copyrightText: NOASSERTION,
    comment: `${a.bytes} bytes`,
  }));
  const doc = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${input.name}-${input.systemConfig}`,
    documentNamespace: `https://kiln.invalid/spdx/${encodeURIComponent(input.name)}-${randomUUID()}`,
    creationInfo: {
      created: input.created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [`Tool: kiln-${input.toolVersion}`],
    },
    documentDescribes: [imageId],
    packages: [
      {
        SPDXID: imageId,
        name: input.name,
        versionInfo: `${input.distro.name}-${input.distro.release}`,
        downloadLocation: NOASSERTION,
        filesAnalyzed: false,
        licenseConcluded: NOASSERTION,
        licenseDeclared: NOASSERTION,
        copyrightText: NOASSERTION,
        primaryPackagePurpose: 'OPERATING-SYSTEM',
        comment: `${input.distro.prettyName} image built from ${basename(input.config)} (SystemConfig "${input.systemConfig}")${input.kernel ? `, kernel ${input.kernel}` : ''}`,
      },
      ...packages.map(({ annotations: _a, ...p }) => p),
    ],
    files,
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
      ...packages.map((p) => ({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
      ...files.map((f) => ({ spdxElementId: f.SPDXID, relationshipType: 'GENERATED_FROM', relatedSpdxElement: imageId })),
    ],
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

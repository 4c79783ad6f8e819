/** CycloneDX 1.6 JSON of a built image, made with the OWASP CycloneDX library. */
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import { licenseInfo } from './license.js';
import { packageUrl } from './purl.js';
import type { SbomInput } from './types.js';

export function cycloneDxJson(input: SbomInput): string {
  const image = new Models.Component(Enums.ComponentType.OperatingSystem, input.name, {
    bomRef: 'image',
    version: `${input.distro.name}-${input.distro.release}`,
    description: `${input.distro.prettyName} image built by Kiln from ${basename(input.config)} (SystemConfig "${input.systemConfig}")`,
  });
  const bom = new Models.Bom({
    serialNumber: `urn:uuid:${randomUUID()}`,
    metadata: new Models.Metadata({
      timestamp: input.created,
      component: image,
      tools: new Models.Tools({ components: new Models.ComponentRepository([new Models.Component(Enums.ComponentType.Application, 'kiln', { version: input.toolVersion })]) }),
    }),
  });
  const refs: Models.BomRef[] = [];
  input.packages.forEach((p, i) => {
    const c = new Models.Component(Enums.ComponentType.Library, p.name, {
      bomRef: `pkg-${i + 1}-${p.name}`,
      version: p.version,
      purl: packageUrl(input.distro, p),
      properties: new Models.PropertyRepository([new Models.Property('kiln:arch', p.arch)]),
    });
    const lic = licenseInfo(p.license);
    if (lic.expression) c.licenses.add(new Models.LicenseExpression(lic.expression));
    else for (const n of lic.names) c.licenses.add(new Models.NamedLicense(n));
    bom.components.add(c);
    refs.push(c.bomRef);
  });
  for (const a of input.artifacts) {
    const f = new Models.Component(Enums.ComponentType.File, basename(a.path), {
      bomRef: `artifact-${basename(a.path)}`,
      hashes: new Models.HashDictionary([
        [Enums.HashAlgorithm['SHA-256'], a.sha256],
        [Enums.HashAlgorithm['SHA-1'], a.sha1],
      ]),
      properties: new Models.PropertyRepository([new Models.Property('kiln:bytes', String(a.bytes))]),
      description: `artifact of ${input.name}`,
    });
    bom.components.add(f);
  }
  for (const r of refs) image.dependencies.add(r);
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return serializer.serialize(bom, { sortLists: false, space: 2 }) + '\n';
}

/** SBOMs: CycloneDX validated by the CycloneDX library's own validator, SPDX 2.3 by a JSON Schema; licences and purls. */
import { describe, expect, it } from 'vitest';
import { dep5License } from '../../../src/distro/debian/licenses.js';
import { debian } from '../../../src/distro/catalog/debian.js';
import { azurelinux } from '../../../src/distro/catalog/azurelinux.js';
import { cycloneDxJson, licenseInfo, packageUrl, spdxJson, type SbomInput } from '../../../src/sbom/index.js';
import { spdxReferencesResolve, spdxValidators, validateCycloneDx } from '../../lib/schemas.js';

const input = (over: Partial<SbomInput> = {}): SbomInput => ({
  name: 'core-efi',
  config: '/x/imageconfigs/core-efi.json',
  systemConfig: 'Standard',
  distro: { name: 'debian', family: 'debian', prettyName: 'Debian GNU/Linux', release: 'bookworm' },
  kernel: '6.1.0-57-amd64',
  packages: [
    { name: 'bash', version: '5.2.15-2+b7', arch: 'amd64', license: 'GPL-3+' },
    { name: 'base-files', version: '12.4+deb12u11', arch: 'amd64' },
    { name: 'libc6', version: '2.36-9+deb12u10', arch: 'amd64', license: 'LGPL-2.1+ AND GPL-2+ AND (public-domain or Unicode-DFS-2016)' },
    { name: 'systemd', version: '1:252.38-1~deb12u1', arch: 'amd64', license: 'LGPL-2.1+' },
  ],
  artifacts: [{ path: '/out/images/core-efi/core.vhdx', bytes: 123, sha256: 'a'.repeat(64), sha1: 'b'.repeat(40) }],
  created: new Date('2026-01-02T03:04:05.678Z'),
  toolVersion: '0.1.0',
  ...over,
});

describe('SBOM', () => {
  it('package URLs come from the catalog: pkg:deb/debian/... and pkg:rpm/azurelinux/... with the architecture', () => {
    expect(packageUrl(debian, { name: 'bash', version: '5.2.15-2+b7', arch: 'amd64' })).toBe('pkg:deb/debian/bash@5.2.15-2+b7?arch=amd64');
    expect(packageUrl(azurelinux, { name: 'bash', version: '5.2.15-1.azl3', arch: 'x86_64' })).toBe('pkg:rpm/azurelinux/bash@5.2.15-1.azl3?arch=x86_64');
  });

  it('uses a licence as an SPDX expression only when it is one (DEP-5 names mapped, the rest kept as names)', () => {
    expect(licenseInfo('GPL-2.0-or-later AND MIT')).toEqual({ expression: 'GPL-2.0-or-later AND MIT', names: [] });
    expect(licenseInfo('GPL-2+')).toEqual({ expression: 'GPL-2.0-or-later', names: [] });
    expect(licenseInfo('LGPL-2.1+ and BSD-3-clause')).toEqual({ expression: 'LGPL-2.1-or-later AND BSD-3-Clause', names: [] });
    expect(licenseInfo('GPLv2+')).toEqual({ names: ['GPLv2+'] });
    expect(licenseInfo('public-domain AND GPL-2+')).toEqual({ names: ['public-domain', 'GPL-2+'] });
    expect(licenseInfo(undefined)).toEqual({ names: [] });
  });

  it('reads licences from DEP-5 copyright files only', () => {
    const dep5 = [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      'Upstream-Name: bash',
      '',
      'Files: *',
      'Copyright: 1987-2022 Free Software Foundation, Inc.',
      'License: GPL-3+',
      '',
      'Files: lib/sh/*',
      'License: GPL-2+ or BSD-3-clause',
      '',
      'License: GPL-3+',
      ' On Debian systems, the complete text ...',
    ].join('\n');
    expect(dep5License(dep5)).toBe('GPL-3+ AND (GPL-2+ or BSD-3-clause)');
    expect(dep5License('This is the Debian prepackaged version of foo.\n\nCopyright: me\n\nLicense: GPL')).toBeUndefined();
    expect(licenseInfo(dep5License(dep5))).toEqual({ expression: 'GPL-3.0-or-later AND (GPL-2.0-or-later OR BSD-3-Clause)', names: [] });
  });

  it('CycloneDX 1.6: valid by the CycloneDX library\'s strict JSON validator; every package with version, purl and licence', async () => {
    const json = cycloneDxJson(input());
    expect(await validateCycloneDx(json)).toBeNull();
    const bom = JSON.parse(json) as { bomFormat: string; specVersion: string; metadata: { component: { type: string; name: string } }; components: { type: string; name: string; version?: string; purl?: string; licenses?: unknown[]; hashes?: { alg: string; content: string }[] }[] };
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6', metadata: { component: { type: 'operating-system', name: 'core-efi' } } });
    const bash = bom.components.find((c) => c.name === 'bash')!;
    expect(bash).toMatchObject({ type: 'library', version: '5.2.15-2+b7', purl: 'pkg:deb/debian/bash@5.2.15-2+b7?arch=amd64', licenses: [{ expression: 'GPL-3.0-or-later' }] });
    expect(bom.components.find((c) => c.name === 'base-files')!.licenses ?? []).toEqual([]);
    expect(bom.components.find((c) => c.name === 'libc6')!.licenses).toEqual([{ license: { name: 'LGPL-2.1+' } }, { license: { name: 'GPL-2+' } }, { license: { name: 'public-domain' } }, { license: { name: 'Unicode-DFS-2016' } }]);
    const file = bom.components.find((c) => c.type === 'file')!;
    expect(file.name).toBe('core.vhdx');
    expect(file.hashes).toContainEqual({ alg: 'SHA-256', content: 'a'.repeat(64) });
  });

  it('SPDX 2.3: valid against the schema; image, packages with purls, artifacts with SHA1 and SHA256, resolvable relationships', () => {
    type El = { SPDXID: string; [k: string]: unknown };
    const doc = JSON.parse(spdxJson(input())) as { packages: El[]; files: El[]; relationships: { spdxElementId: string; relatedSpdxElement: string }[]; documentDescribes: string[]; creationInfo: { created: string } };
    const validators = spdxValidators();
    expect(validators.length).toBeGreaterThan(0);
    for (const v of validators) expect(v.validate(doc), v.name).toBeUndefined();
    expect(spdxReferencesResolve(doc)).toEqual([]);
    expect(doc.creationInfo.created).toBe('2026-01-02T03:04:05Z');
    const systemd = doc.packages.find((p) => p.name === 'systemd')!;
    expect(systemd).toMatchObject({ versionInfo: '1:252.38-1~deb12u1', licenseDeclared: 'LGPL-2.1-or-later', externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:deb/debian/systemd@1:252.38-1~deb12u1?arch=amd64' }] });
    const libc = doc.packages.find((p) => p.name === 'libc6')!;
    expect(libc.licenseDeclared).toBe('NOASSERTION');
    expect(libc.licenseComments).toContain('public-domain');
    expect(doc.files[0]).toMatchObject({ fileName: './core.vhdx', checksums: [{ algorithm: 'SHA1', checksumValue: 'b'.repeat(40) }, { algorithm: 'SHA256', checksumValue: 'a'.repeat(64) }] });
  });

  it('the SPDX schema rejects what SPDX forbids (so a passing document means something)', () => {
    const [kiln] = spdxValidators();
    const doc = JSON.parse(spdxJson(input())) as { packages: { SPDXID: string }[]; files: { checksums: unknown[] }[] };
    doc.packages[1]!.SPDXID = 'SPDXRef-has space';
    expect(kiln!.validate(doc)).toMatch(/SPDXID/);
    const noSha1 = JSON.parse(spdxJson(input())) as { files: { checksums: { algorithm: string }[] }[] };
    noSha1.files[0]!.checksums = noSha1.files[0]!.checksums.filter((c) => c.algorithm !== 'SHA1');
    expect(kiln!.validate(noSha1)).toBeDefined();
  });

  it('RPM packages: rpm purls and the License tag', async () => {
    const rpm = input({
      name: 'azl',
      distro: { name: 'azurelinux', family: 'rpm', prettyName: 'Azure Linux', release: '3.0' },
      packages: [{ name: 'bash', version: '5.2.15-3.azl3', arch: 'x86_64', license: 'GPL-3.0-or-later' }, { name: 'zlib', version: '1.3.1-1.azl3', arch: 'x86_64', license: 'zlib and Boost' }],
    });
    expect(await validateCycloneDx(cycloneDxJson(rpm))).toBeNull();
    const doc = JSON.parse(spdxJson(rpm)) as { packages: { name: string; licenseDeclared: string; externalRefs?: { referenceLocator: string }[] }[] };
    for (const v of spdxValidators()) expect(v.validate(doc)).toBeUndefined();
    expect(doc.packages.find((p) => p.name === 'bash')).toMatchObject({ licenseDeclared: 'GPL-3.0-or-later', externalRefs: [{ referenceLocator: 'pkg:rpm/azurelinux/bash@5.2.15-3.azl3?arch=x86_64' }] });
  });
});

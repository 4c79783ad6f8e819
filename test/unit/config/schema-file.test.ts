/** The committed JSON Schema is exactly what the model's schema generates, and it works standalone. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { schemaDocument } from '../../../src/config/index.js';
import { baseConfig, REPO_ROOT } from './helpers.js';

const SCHEMA_FILE = join(REPO_ROOT, 'schema', 'kiln-imageconfig.schema.json');

describe('schema/kiln-imageconfig.schema.json', () => {
  const committed = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));

  it('is in sync with the model (regenerate with `./kiln schema -o schema/kiln-imageconfig.schema.json`)', () => {
    expect(committed).toEqual(schemaDocument());
  });

  it('checks configs on its own, as an editor would use it', () => {
    const validate = new Ajv({ strict: false }).compile(committed);
    expect(validate(baseConfig())).toBe(true);
    const broken = baseConfig();
    broken.SystemConfigs[0].BootType = 'bios';
    expect(validate(broken)).toBe(false);
  });

  it('describes the Kiln extensions and the fields beyond the upstream document', () => {
    const sc = committed.properties.SystemConfigs.items.properties;
    expect(Object.keys(sc.Distro.properties)).toEqual(['Name', 'Release', 'Mirror']);
    expect(Object.keys(sc.PackageRepos.items.properties)).toEqual(expect.arrayContaining(['Suite', 'Components', 'SignedBy']));
    expect(Object.keys(sc.Users.items.properties)).toContain('SSHPubKeys');
    expect(Object.keys(sc.Groups.items.properties)).toContain('GID');
    expect(Object.keys(sc.Encryption.properties)).toEqual(['Enable', 'Password']);
    const disk = committed.properties.Disks.items.properties;
    expect(Object.keys(disk.RawBinaries.items.properties)).toEqual(['BinPath', 'BlockSize', 'Seek']);
    expect(Object.keys(disk.Partitions.items.properties)).toEqual(expect.arrayContaining(['Artifacts', 'Grow', 'TypeUUID']));
  });
});

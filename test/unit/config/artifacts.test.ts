/**
 * Artifacts: the roast registry is the one list of Types and Compressions, and what `kiln
 * validate` accepts the build's planner accepts. Every (Type, Compression) combination the schema
 * admits is tried in every place an artifact can stand; the validator's verdict (no error and no
 * warning the build refuses) must equal the planner's, given the input the build gives it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocksBuild, schemaDocument } from '../../../src/config/index.js';
import type { Config } from '../../../src/config/model.js';
import { planLayout } from '../../../src/disk/layout.js';
import { ARTIFACT_COMPRESSIONS, ARTIFACT_TYPES } from '../../../src/roast/registry.js';
import { planArtifacts } from '../../../src/roast/roast.js';
import { artifactsFromConfig, baseImagesFromConfig } from '../../../src/roast/request.js';
import type { RoastInput } from '../../../src/roast/types.js';
import { KilnError } from '../../../src/core/errors.js';
import { baseConfig, REPO_ROOT, validateObject, type Json } from './helpers.js';

const committed = JSON.parse(readFileSync(join(REPO_ROOT, 'schema', 'kiln-imageconfig.schema.json'), 'utf8'));
const artifactSchema = committed.properties.Disks.items.properties.Artifacts.items.properties;
const SCHEMA_TYPES: string[] = artifactSchema.Type.enum;
const SCHEMA_COMPRESSIONS: string[] = artifactSchema.Compression.enum;

/** The input `kiln build` gives the planner (imager/pipeline.ts): the planned disk layout, or the root tree. */
function buildInput(config: Config): RoastInput {
  const disk = config.Disks?.[0];
  if (!disk?.Partitions?.length) return { kind: 'tree', path: 'rootfs' };
  return { kind: 'disk', path: 'disk.raw', partitions: planLayout(disk).partitions.map((p) => ({ id: p.id, startBytes: 0, sizeBytes: 0, fsType: p.partition.FsType })) };
}

function plannerAccepts(config: Config): boolean {
  try {
    planArtifacts({ input: buildInput(config), artifacts: artifactsFromConfig(config), baseImages: baseImagesFromConfig(config) });
    return true;
  } catch (e) {
    if (e instanceof KilnError) return false;
    throw e;
  }
}

type Place = 'disk' | 'root partition' | 'esp partition' | 'rootfs';
const PLACES: Place[] = ['disk', 'root partition', 'esp partition', 'rootfs'];

function configWith(place: Place, artifact: Json): Json {
  const c = baseConfig();
  const d = c.Disks[0];
  delete d.Artifacts;
  const ps = c.SystemConfigs[0].PartitionSettings;
  if (artifact.Type === 'rdiff') ps[1].RdiffBaseImage = ps[0].RdiffBaseImage = 'files/motd';
  if (artifact.Type === 'diff') ps[1].OverlayBaseImage = ps[0].OverlayBaseImage = 'files/motd';
  if (place === 'disk') d.Artifacts = [artifact];
  if (place === 'root partition') d.Partitions[1].Artifacts = [artifact];
  if (place === 'esp partition') d.Partitions[0].Artifacts = [artifact];
  if (place === 'rootfs') {
    delete d.Partitions;
    delete c.SystemConfigs[0].PartitionSettings;
    d.Artifacts = [artifact];
  }
  return c;
}

describe('artifact Types and Compressions', () => {
  it('the schema lists exactly the roast registry (plus "iso", made by the ISO maker)', () => {
    expect(SCHEMA_TYPES).toEqual([...ARTIFACT_TYPES]);
    expect(SCHEMA_COMPRESSIONS).toEqual([...ARTIFACT_COMPRESSIONS]);
    expect(schemaDocument()).toEqual(committed);
    expect(SCHEMA_TYPES).toContain('iso');
    expect(SCHEMA_TYPES).not.toContain('vhd-fixed');
    expect(SCHEMA_COMPRESSIONS).not.toContain('tar.bz2');
  });

  const combos = PLACES.flatMap((place) =>
    [undefined, ...SCHEMA_TYPES.filter((t) => t !== 'iso')].flatMap((Type) =>
      [undefined, ...SCHEMA_COMPRESSIONS].map((Compression) => ({ place, Type, Compression })),
    ),
  );

  it(`every combination the schema admits, in every place (${combos.length}): validate accepts it exactly when the planner does`, () => {
    const mismatches: string[] = [];
    let accepted = 0;
    for (const { place, Type, Compression } of combos) {
      const artifact = { Name: 'out', ...(Type ? { Type } : {}), ...(Compression ? { Compression } : {}) };
      const result = validateObject(configWith(place, artifact));
      const validateOk = result.valid && !result.findings.some(blocksBuild);
      const plannerOk = result.config ? plannerAccepts(result.config) : false;
      if (validateOk) accepted++;
      if (validateOk !== plannerOk) {
        mismatches.push(`${place} ${JSON.stringify(artifact)}: validate ${validateOk ? 'accepts' : `refuses (${result.findings.map((f) => f.message).join('; ')})`}, planner ${plannerOk ? 'accepts' : 'refuses'}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(accepted).toBeGreaterThan(40);
  });

  it.each([
    ['disk', { Type: 'vhdx' }],
    ['disk', { Type: 'vhd', Compression: 'xz' }],
    ['disk', {}],
    ['root partition', { Type: 'ext4', Compression: 'gz' }],
    ['root partition', { Type: 'rdiff' }],
    ['esp partition', { Type: 'raw' }],
    ['rootfs', { Compression: 'tar.gz' }],
    ['rootfs', { Type: 'initrd', Compression: 'zst' }],
  ] as [Place, Json][])('accepted and planned: %s %j', (place, a) => {
    const result = validateObject(configWith(place, { Name: 'out', ...a }));
    expect(result.findings).toEqual([]);
    expect(plannerAccepts(result.config!)).toBe(true);
  });

  it.each([
    ['disk', { Type: 'ext4' }, 'Type "ext4" is made from a partition, but the input is a disk'],
    ['esp partition', { Type: 'ext4' }, 'Type "ext4" but partition "esp" is fat32'],
    ['rootfs', { Type: 'vhdx' }, 'but the input is a tree'],
    ['rootfs', { Compression: 'gz' }, 'has no Type'],
    ['disk', { Compression: 'tar.gz' }, 'made from a tree, but the input is a disk'],
  ] as [Place, Json, string][])('refused by validate as by the planner: %s %j', (place, a, message) => {
    const result = validateObject(configWith(place, { Name: 'out', ...a }));
    const f = result.findings.find((x) => x.message.includes(message));
    expect(f, result.findings.map((x) => x.message).join('\n')).toMatchObject({ severity: 'warning' });
    expect(blocksBuild(f!)).toBe(true);
    expect(plannerAccepts(result.config!)).toBe(false);
  });

  it('two artifacts writing the same file: refused by validate as by the planner', () => {
    const c = configWith('disk', { Name: 'out', Type: 'vhdx' });
    c.Disks[0].Artifacts.push({ Name: 'out', Type: 'vhdx' });
    const result = validateObject(c);
    expect(result.findings).toContainEqual(expect.objectContaining({ path: 'Disks[0].Artifacts[1].Name', message: expect.stringContaining('writes out.vhdx') }));
    expect(plannerAccepts(result.config!)).toBe(false);
  });

  it('an ISO config makes the ISO only: any other artifact is a warning kiln build refuses', () => {
    const c = configWith('disk', { Name: 'installer', Type: 'iso' });
    expect(validateObject(c).findings).toEqual([]);
    c.Disks[0].Artifacts.push({ Name: 'extra', Type: 'vhdx' });
    const f = validateObject(c).findings;
    expect(f).toEqual([expect.objectContaining({ path: 'Disks[0].Artifacts[1]', message: expect.stringContaining('is not made: this config builds an installer ISO') })]);
  });
});

describe('Installer (Kiln extension of the "iso" artifact)', () => {
  it('"graphical" and "terminal" are accepted on an attended ISO', () => {
    for (const Installer of ['graphical', 'terminal']) expect(validateObject(configWith('disk', { Name: 'installer', Type: 'iso', Installer })).findings).toEqual([]);
  });

  it('an unknown value is a schema error naming the allowed ones', () => {
    const f = validateObject(configWith('disk', { Name: 'installer', Type: 'iso', Installer: 'gui' })).findings;
    expect(f).toContainEqual(expect.objectContaining({ path: 'Disks[0].Artifacts[0].Installer', severity: 'error', hint: 'allowed: "terminal", "graphical"' }));
  });

  it('on an artifact that is not an ISO: an error with a hint to move it', () => {
    const f = validateObject(configWith('root partition', { Name: 'root', Type: 'ext4', Installer: 'graphical' })).findings;
    expect(f).toContainEqual(expect.objectContaining({ path: 'Disks[0].Partitions[1].Artifacts[0].Installer', severity: 'error', hint: expect.stringContaining('"Type": "iso"') }));
  });

  it('"graphical" on an unattended ISO (TargetDisk, one SystemConfig): an error, the installer would ask nothing', () => {
    const c = configWith('disk', { Name: 'installer', Type: 'iso', Installer: 'graphical' });
    c.Disks[0].TargetDisk = { Type: 'path', Value: '/dev/vda' };
    const f = validateObject(c).findings;
    expect(f).toEqual([expect.objectContaining({ path: 'Disks[0].Artifacts[0].Installer', severity: 'error', hint: expect.stringContaining('remove Disks[0].TargetDisk') })]);
    c.Disks[0].Artifacts[0].Installer = 'terminal';
    expect(validateObject(c).findings).toEqual([]);
  });
});

describe('artifact names', () => {
  it.each(['', 'a/b', '/abs', '..', '.', '.hidden', 'a\u0000b'])('%j is rejected by validate (an error) and by the planner', (name) => {
    const result = validateObject(configWith('disk', { Name: name, Type: 'vhdx' }));
    expect(result.valid).toBe(false);
    expect(result.findings).toContainEqual(expect.objectContaining({ path: 'Disks[0].Artifacts[0].Name', severity: 'error' }));
    expect(() => planArtifacts({ input: { kind: 'disk', path: 'x' }, artifacts: [{ Name: name, Type: 'vhdx' }] })).toThrow(/plain file name/);
  });

  it.each(['core', 'core-1.0', 'a..b', 'name with spaces'])('%j is accepted', (name) => {
    expect(validateObject(configWith('disk', { Name: name, Type: 'vhdx' })).findings).toEqual([]);
  });
});

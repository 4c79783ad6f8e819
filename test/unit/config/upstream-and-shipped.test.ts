/**
 * Compatibility proof: every upstream sample config (copied with its package lists, scripts and
 * files into test/fixtures/upstream) is accepted, as upstream's imageconfigvalidator accepts all of
 * them; variants that upstream rejects are rejected; every config shipped in imageconfigs/ is valid.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfigFile, validateConfigText } from '../../../src/config/index.js';
import { REPO_ROOT, UPSTREAM_DIR, type Json } from './helpers.js';

const upstreamSamples = readdirSync(UPSTREAM_DIR).filter((f) => f.endsWith('.json')).sort();
const errorsOf = (file: string) =>
  validateConfigFile(file).findings.filter((f) => f.severity === 'error').map((f) => `${f.path}: ${f.message}`);

describe('upstream sample configs', () => {
  it('are all present (33 at the pinned upstream commit)', () => {
    expect(upstreamSamples).toHaveLength(33);
  });

  it.each(upstreamSamples)('%s is valid, as upstream decides', (name) => {
    expect(errorsOf(join(UPSTREAM_DIR, name))).toEqual([]);
  });
});

/** Variants of upstream samples that upstream's parser or imageconfigvalidator rejects. */
const load = (name: string): Json => JSON.parse(readFileSync(join(UPSTREAM_DIR, name), 'utf8'));
const REJECTED: { name: string; sample: string; mutate: (c: Json) => void; path: string }[] = [
  { name: 'kernel in Packages', sample: 'core-efi.json', mutate: (c) => { c.SystemConfigs[0].Packages = ['kernel']; }, path: 'SystemConfigs[0].Packages[0]' },
  { name: 'SELinux without selinux-policy', sample: 'core-efi-selinux.json', mutate: (c) => { c.SystemConfigs[0].PackageLists = c.SystemConfigs[0].PackageLists.filter((p: string) => !p.includes('selinux')); }, path: 'SystemConfigs[0].KernelCommandLine.SELinux' },
  { name: 'fips=1 without dracut-fips', sample: 'core-fips.json', mutate: (c) => { c.SystemConfigs[0].PackageLists = c.SystemConfigs[0].PackageLists.filter((p: string) => !p.includes('fips')); }, path: 'SystemConfigs[0].KernelCommandLine.ExtraCommandLine' },
  { name: 'two defaults', sample: 'core-efi.json', mutate: (c) => { c.SystemConfigs[0].IsDefault = true; c.SystemConfigs.push({ ...c.SystemConfigs[0], Name: 'B' }); }, path: 'SystemConfigs[1].IsDefault' },
  { name: 'host name with "_"', sample: 'core-efi.json', mutate: (c) => { c.SystemConfigs[0].Hostname = 'azure_linux'; }, path: 'SystemConfigs[0].Hostname' },
  { name: 'no default kernel', sample: 'core-legacy.json', mutate: (c) => { c.SystemConfigs[0].KernelOptions = {}; }, path: 'SystemConfigs[0].KernelOptions' },
  { name: 'overlapping partitions', sample: 'core-efi.json', mutate: (c) => { c.Disks[0].Partitions[1].Start = 5; }, path: 'Disks[0].Partitions[1].Start' },
  { name: 'MaxSize too small', sample: 'core-efi.json', mutate: (c) => { c.Disks[0].MaxSize = 8; }, path: 'Disks[0].Partitions[1].Start' },
  { name: 'kickstart with partitions', sample: 'core-efi.json', mutate: (c) => { c.SystemConfigs[0].IsKickStartBoot = true; }, path: 'SystemConfigs[0].PartitionSettings' },
  { name: 'backtick on the command line', sample: 'baremetal.json', mutate: (c) => { c.SystemConfigs[0].KernelCommandLine.ExtraCommandLine = '`reboot`'; }, path: 'SystemConfigs[0].KernelCommandLine.ExtraCommandLine' },
  { name: 'UID out of range', sample: 'core-ova.json', mutate: (c) => { c.SystemConfigs[0].Users[0].UID = '60001'; }, path: 'SystemConfigs[0].Users[0].UID' },
  { name: 'no packages', sample: 'core-efi.json', mutate: (c) => { delete c.SystemConfigs[0].PackageLists; }, path: 'SystemConfigs[0]' },
];

describe('upstream sample variants that upstream rejects', () => {
  it.each(REJECTED.map((r) => [r.name, r] as const))('%s', (_n, r) => {
    const c = load(r.sample);
    r.mutate(c);
    const result = validateConfigText(JSON.stringify(c, null, 2), join(UPSTREAM_DIR, r.sample));
    expect(result.valid).toBe(false);
    expect(result.findings.map((f) => f.path)).toContain(r.path);
  });
});

describe('configs shipped in imageconfigs/', () => {
  const dir = join(REPO_ROOT, 'imageconfigs');
  const shipped = readdirSync(dir).filter((f) => /\.(json|ya?ml)$/.test(f)).sort();

  it('are all valid (every file in the folder, picked up automatically)', () => {
    const problems = shipped.flatMap((f) => errorsOf(join(dir, f)).map((e) => `${f}: ${e}`));
    expect(problems).toEqual([]);
  });

  it.each(shipped.length ? shipped : ['(none yet)'])('%s is valid', (name) => {
    if (!shipped.length) return;
    expect(errorsOf(join(dir, name))).toEqual([]);
  });
});

/**
 * No silent no-ops: keys the schema accepts but the build does not apply are errors (rules/unsupported.ts).
 */
import { describe, expect, it } from 'vitest';
import { baseConfig, validateObject, type Json } from './helpers.js';

const sc = (c: Json) => c.SystemConfigs[0];
const disk = (c: Json) => c.Disks[0];

const CASES: { name: string; mutate: (c: Json) => void; path: string; message: string }[] = [
  { name: 'Encryption enabled', mutate: (c) => { sc(c).Encryption = { Enable: true, Password: 'correct horse battery' }; }, path: 'SystemConfigs[0].Encryption.Enable', message: 'disk encryption (LUKS) is not applied' },
  { name: 'dmroot flag', mutate: (c) => { disk(c).Partitions[1].Flags = ['dmroot']; }, path: 'Disks[0].Partitions[1].Flags[0]', message: '"dmroot" flag' },
  { name: 'a second disk', mutate: (c) => { c.Disks.push(structuredClone(disk(c))); }, path: 'Disks[1]', message: 'only Disks[0] is built' },
  { name: '4096-byte sectors', mutate: (c) => { disk(c).BlockSize = 4096; }, path: 'Disks[0].BlockSize', message: '4096-byte logical sectors are not built' },
  { name: 'RawBinaries', mutate: (c) => { disk(c).RawBinaries = [{ BinPath: 'files/motd', BlockSize: 512, Seek: 0 }]; }, path: 'Disks[0].RawBinaries', message: 'RawBinaries are not written' },
  { name: 'kickstart', mutate: (c) => { sc(c).IsKickStartBoot = true; }, path: 'SystemConfigs[0].IsKickStartBoot', message: 'kickstart installations are not built' },
  { name: 'IsIsoInstall', mutate: (c) => { sc(c).IsIsoInstall = true; }, path: 'SystemConfigs[0].IsIsoInstall', message: 'IsIsoInstall is not applied' },
  { name: 'PreInstallScripts', mutate: (c) => { sc(c).PreInstallScripts = [{ Path: 'scripts/post.sh' }]; }, path: 'SystemConfigs[0].PreInstallScripts', message: 'PreInstallScripts are never run' },
  { name: 'a second kernel', mutate: (c) => { sc(c).KernelOptions.hyperv = 'linux-image-cloud-amd64'; }, path: 'SystemConfigs[0].KernelOptions.hyperv', message: 'only KernelOptions.default is installed' },
];

describe('keys accepted but not applied are errors', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const config = baseConfig();
    c.mutate(config);
    const result = validateObject(config);
    expect(result.valid).toBe(false);
    const match = result.findings.find((f) => f.path === c.path && f.message.includes(c.message));
    expect(match, result.findings.map((f) => `${f.path}: ${f.message}`).join('\n')).toBeDefined();
    expect(match!.severity).toBe('error');
    expect(match!.hint).toBeTruthy();
  });

  it('never repeats the encryption passphrase', () => {
    const config = baseConfig();
    sc(config).Encryption = { Enable: true, Password: 'correct horse battery' };
    const text = JSON.stringify(validateObject(config).findings);
    expect(text).not.toContain('correct horse');
  });

  it('accepts the same keys when they ask for nothing', () => {
    const config = baseConfig();
    sc(config).Encryption = { Enable: false };
    disk(config).BlockSize = 512;
    sc(config).IsKickStartBoot = false;
    sc(config).IsIsoInstall = false;
    expect(validateObject(config).findings.filter((f) => f.severity === 'error')).toEqual([]);
  });
});

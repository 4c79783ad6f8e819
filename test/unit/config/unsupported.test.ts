/**
 * No silent no-ops: keys accepted (by upstream too) but not applied by the build are warnings that
 * `kiln build` refuses (rules/unsupported.ts and, for disks, RawBinaries and BlockSize, the disk
 * rules). Encryption and "dmroot" are built (rules/trusted-boot.ts refuses only the layouts Kiln
 * cannot boot with them: those rows stay here).
 */
import { describe, expect, it } from 'vitest';
import { blocksBuild, buildBlockers } from '../../../src/config/index.js';
import { baseConfig, validateObject, type Json } from './helpers.js';

const sc = (c: Json) => c.SystemConfigs[0];
const disk = (c: Json) => c.Disks[0];

const CASES: { name: string; mutate: (c: Json) => void; path: string; message: string }[] = [
  { name: 'Encryption with grub and /boot inside the encrypted root', mutate: (c) => { sc(c).Encryption = { Enable: true, Password: 'correct horse battery' }; disk(c).Partitions[1].Flags = ['dmroot']; }, path: 'SystemConfigs[0].Encryption.Enable', message: 'grub cannot read an encrypted root' },
  { name: 'dmroot flag on a root that is neither encrypted nor verity', mutate: (c) => { disk(c).Partitions[1].Flags = ['dmroot']; }, path: 'Disks[0].Partitions[1].Flags[0]', message: 'the "dmroot" flag marks the root partition of an encrypted' },
  { name: 'a second disk', mutate: (c) => { c.Disks.push(structuredClone(disk(c))); }, path: 'Disks[1]', message: 'Kiln builds one disk per config' },
  { name: '4096-byte sectors', mutate: (c) => { disk(c).BlockSize = 4096; }, path: 'Disks[0].BlockSize', message: '512-byte sectors only' },
  { name: 'RawBinaries', mutate: (c) => { disk(c).RawBinaries = [{ BinPath: 'files/motd', BlockSize: 512, Seek: 0 }]; }, path: 'Disks[0].RawBinaries', message: 'does not write RawBinaries' },
  { name: 'kickstart', mutate: (c) => { sc(c).IsKickStartBoot = true; }, path: 'SystemConfigs[0].IsKickStartBoot', message: 'kickstart installations are not built' },
  { name: 'IsIsoInstall', mutate: (c) => { sc(c).IsIsoInstall = true; }, path: 'SystemConfigs[0].IsIsoInstall', message: 'IsIsoInstall is not applied' },
  { name: 'PreInstallScripts', mutate: (c) => { sc(c).PreInstallScripts = [{ Path: 'scripts/post.sh' }]; }, path: 'SystemConfigs[0].PreInstallScripts', message: 'PreInstallScripts are never run' },
  { name: 'a second kernel', mutate: (c) => { sc(c).KernelOptions.hyperv = 'linux-image-cloud-amd64'; }, path: 'SystemConfigs[0].KernelOptions.hyperv', message: 'only KernelOptions.default is installed' },
];

describe('keys accepted but not applied are refused by kiln build', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const config = baseConfig();
    c.mutate(config);
    const result = validateObject(config);
    const match = result.findings.find((f) => f.path === c.path && f.message.includes(c.message));
    expect(match, result.findings.map((f) => `${f.severity} ${f.path}: ${f.message}`).join('\n')).toBeDefined();
    expect(blocksBuild(match!)).toBe(true);
    expect(buildBlockers(result).length + result.findings.filter((f) => f.severity === 'error').length).toBeGreaterThan(0);
    expect(match!.hint).toBeTruthy();
  });

  it('never repeats the encryption passphrase', () => {
    const config = baseConfig();
    sc(config).Encryption = { Enable: true, Password: 'correct horse battery' };
    expect(JSON.stringify(validateObject(config).findings)).not.toContain('correct horse');
  });

  it('accepts the same keys when they ask for nothing', () => {
    const config = baseConfig();
    sc(config).Encryption = { Enable: false };
    disk(config).BlockSize = 512;
    sc(config).IsKickStartBoot = false;
    sc(config).IsIsoInstall = false;
    expect(validateObject(config).findings.filter((f) => blocksBuild(f))).toEqual([]);
  });
});

/**
 * Upstream's own rules, one row each, named after the upstream function that has it
 * (toolkit/tools/imagegen/configuration/*.go IsValid, imageconfigvalidator.go): upstream rejects
 * the config, so Kiln reports an error at the JSON path. Rows marked `kiln` are where upstream
 * accepts something a Kiln rule used to reject: now a warning that `kiln build` refuses.
 * The full table (had / added / differs) is in docs/config.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blocksBuild, validateConfigText } from '../../../src/config/index.js';
import { asRpm, BASE_FILE, baseConfig, validateObject, type Json } from './helpers.js';

interface Row {
  source: string;
  name: string;
  mutate: (c: Json) => void;
  path: string;
  message: string;
  kind?: 'error' | 'kiln' | 'advice';
  file?: string;
}

const sc = (c: Json) => c.SystemConfigs[0];
const disk = (c: Json) => c.Disks[0];
const part = (c: Json, i: number) => c.Disks[0].Partitions[i];
const net = (c: Json) => c.SystemConfigs[0].Networks[0];
const repo = (c: Json) => c.SystemConfigs[0].PackageRepos[0];
const rpmRepo = (c: Json, r: Json) => {
  asRpm(c);
  sc(c).PackageRepos = [{ Name: 'custom', BaseUrl: 'https://example.com/repo', ...r }];
};

const dir = mkdtempSync(join(tmpdir(), 'kiln-upstream-rules-'));
const list = (name: string, body: unknown) => {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(body));
  return f;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROWS: Row[] = [
  // imageconfigvalidator.go validatePackages: every entry parses as "name[cond version]" (pkgjson.PackageStringToPackageVer)
  { source: 'validatePackages', name: 'inline package with a space in the name', mutate: (c) => { sc(c).Packages.push('open ssh'); }, path: 'SystemConfigs[0].Packages[1]', message: '"open ssh" is not a package name with an optional version constraint' },
  { source: 'validatePackages', name: 'inline package with two conditions', mutate: (c) => { sc(c).Packages.push('bash>=5<6'); }, path: 'SystemConfigs[0].Packages[1]', message: '"bash>=5<6" is not a package name' },
  { source: 'validatePackages', name: 'inline package with a condition and no version', mutate: (c) => { sc(c).Packages.push('bash >='); }, path: 'SystemConfigs[0].Packages[1]', message: 'is not a package name' },
  { source: 'validatePackages', name: 'package-list entry that is not a package', mutate: (c) => { sc(c).PackageLists.push(list('bad-entry.json', { packages: ['vim', 'emacs nox'] })); }, path: 'packages[1]', message: '"emacs nox" is not a package name', file: 'bad-entry.json' },
  { source: 'validatePackages', name: 'package-list entry of the wrong type', mutate: (c) => { sc(c).PackageLists.push(list('number-entry.json', { packages: ['vim', 5] })); }, path: 'packages[1]', message: 'a package name must be a string', file: 'number-entry.json' },
  { source: 'validatePackages', name: 'kernel in an RPM package list', mutate: (c) => { asRpm(c); sc(c).Packages.push('kernel=6.6'); }, path: 'SystemConfigs[0].Packages[1]', message: 'kernel package "kernel" must not be in a package list' },
  { source: 'validatePackages (Kiln knows more kernels)', name: 'kernel-hwe in an RPM package list', mutate: (c) => { asRpm(c); sc(c).Packages.push('kernel-hwe'); }, path: 'SystemConfigs[0].Packages[1]', message: 'kernel package "kernel-hwe" must not be in a package list', kind: 'kiln' },
  { source: 'validatePackages', name: '"fips=1" anywhere on an RPM command line', mutate: (c) => { asRpm(c); sc(c).KernelCommandLine.ExtraCommandLine = 'rd.fips=1'; }, path: 'SystemConfigs[0].KernelCommandLine.ExtraCommandLine', message: '"dracut-fips" is not in the package lists' },
  // SystemConfig.IsValid: govalidator.IsDNSName and no "_"
  { source: 'SystemConfig.IsValid', name: 'host name that is an IP address', mutate: (c) => { sc(c).Hostname = '10.0.0.1'; }, path: 'SystemConfigs[0].Hostname', message: '"10.0.0.1" is not a valid host name' },
  { source: 'SystemConfig.IsValid', name: 'host name starting with "-"', mutate: (c) => { sc(c).Hostname = '-kiln'; }, path: 'SystemConfigs[0].Hostname', message: '"-kiln" is not a valid host name' },
  { source: 'SystemConfig.IsValid', name: 'host name with an empty label', mutate: (c) => { sc(c).Hostname = 'a..b'; }, path: 'SystemConfigs[0].Hostname', message: '"a..b" is not a valid host name' },
  { source: 'SystemConfig.IsValid (Kiln: RFC 1123)', name: 'host name label ending with "-"', mutate: (c) => { sc(c).Hostname = 'kiln-'; }, path: 'SystemConfigs[0].Hostname', message: '"kiln-" is not an RFC 1123 host name', kind: 'kiln' },
  { source: 'SystemConfig.IsValid', name: 'kernel option without a package, on a rootfs', mutate: (c) => { delete c.Disks; delete sc(c).PartitionSettings; sc(c).KernelOptions.extra = ''; }, path: 'SystemConfigs[0].KernelOptions.extra', message: 'kernel option "extra" names no package' },
  { source: 'SystemConfig.IsValid', name: 'blank SystemConfig Name', mutate: (c) => { sc(c).Name = ' '; }, path: 'SystemConfigs[0].Name', message: 'must not be blank' },
  // Config.IsValid: checkDeviceMapperFlags, checkInvalidMountIdentifiers
  { source: 'checkDeviceMapperFlags', name: 'Encryption without the dmroot flag on the root partition', mutate: (c) => { sc(c).Encryption = { Enable: true, Password: 'x' }; }, path: 'SystemConfigs[0].Encryption.Enable', message: 'Encryption needs the "dmroot" flag on the root partition "rootfs"' },
  { source: 'checkDeviceMapperFlags', name: 'two dmroot partitions in one SystemConfig', mutate: (c) => { part(c, 0).Flags.push('dmroot'); part(c, 1).Flags = ['dmroot']; }, path: 'SystemConfigs[0].PartitionSettings', message: 'partitions "esp" and "rootfs" both have the "dmroot" flag' },
  { source: 'SystemConfig.IsValid', name: 'Encryption without a root mount', mutate: (c) => { sc(c).Encryption = { Enable: true }; sc(c).PartitionSettings[1].MountPoint = '/srv'; }, path: 'SystemConfigs[0].Encryption.Enable', message: 'Encryption needs a partition mounted at "/"' },
  { source: 'Kiln: encrypted root', name: 'Encryption with grub and /boot inside the encrypted root', mutate: (c) => { sc(c).Encryption = { Enable: true, Password: 'x' }; part(c, 1).Flags = ['dmroot']; }, path: 'SystemConfigs[0].Encryption.Enable', message: 'grub cannot read an encrypted root', kind: 'kiln' },
  { source: 'checkInvalidMountIdentifiers', name: 'partlabel on a disk without a table type', mutate: (c) => { delete disk(c).PartitionTableType; }, path: 'SystemConfigs[0].PartitionSettings[1].MountIdentifier', message: '"partlabel" needs a GPT disk' },
  // TargetDisk.IsValid
  { source: 'TargetDisk.IsValid', name: 'TargetDisk of type path without a Value', mutate: (c) => { disk(c).TargetDisk = { Type: 'path' }; }, path: 'Disks[0].TargetDisk.Value', message: 'a TargetDisk of Type "path" needs a Value' },
  { source: 'TargetDisk.IsValid', name: 'TargetDisk with a Value but no Type', mutate: (c) => { disk(c).TargetDisk = { Value: '/dev/sda' }; }, path: 'Disks[0].TargetDisk.Type', message: 'a TargetDisk with a Value needs "Type": "path"' },
  { source: 'TargetDiskType.IsValid', name: 'TargetDisk of an unknown type', mutate: (c) => { disk(c).TargetDisk = { Type: 'nvme', Value: '/dev/nvme0n1' }; }, path: 'Disks[0].TargetDisk.Type', message: '"nvme" is not a valid value' },
  { source: 'TargetDiskType.IsValid (Kiln: no RAID)', name: 'RAID target disk', mutate: (c) => { disk(c).TargetDisk = { Type: 'raid', Value: '/dev/md0' }; }, path: 'Disks[0].TargetDisk.Type', message: '"raid" is not a valid value', kind: 'kiln' },
  // Disk.IsValid
  { source: 'checkMaxSizeCorrectness', name: 'last partition starting beyond MaxSize', mutate: (c) => { part(c, 1).Start = 4000; }, path: 'Disks[0].Partitions[1].Start', message: "Start (4000) is beyond the disk's MaxSize (2048)" },
  { source: 'Disk.IsValid', name: 'BlockSize not 0, 512 or 4096', mutate: (c) => { disk(c).BlockSize = 2048; }, path: 'Disks[0].BlockSize', message: '2048 is not a valid value' },
  { source: 'Disk.IsValid (Kiln: 512-byte sectors)', name: 'BlockSize 4096', mutate: (c) => { disk(c).BlockSize = 4096; }, path: 'Disks[0].BlockSize', message: 'Kiln builds disks with 512-byte sectors only', kind: 'kiln' },
  { source: 'PartitionFlag.IsValid', name: 'unknown partition flag', mutate: (c) => { part(c, 0).Flags = ['esp', 'legacy_boot']; }, path: 'Disks[0].Partitions[0].Flags[1]', message: '"legacy_boot" is not a valid value' },
  // FileConfigList / FileConfig / FilePermissions
  { source: 'FileConfigList.IsValid', name: 'AdditionalFiles with an empty list of destinations', mutate: (c) => { sc(c).AdditionalFiles['files/motd'] = []; }, path: 'SystemConfigs[0].AdditionalFiles["files/motd"]', message: 'the list of destinations is empty' },
  { source: 'FileConfig.IsValid', name: 'AdditionalFiles destination ""', mutate: (c) => { sc(c).AdditionalFiles['files/motd'] = ''; }, path: 'SystemConfigs[0].AdditionalFiles["files/motd"]', message: 'the destination path is empty' },
  { source: 'FilePermissions.IsValid', name: 'Permissions with the sticky bit', mutate: (c) => { sc(c).AdditionalFiles['files/a.conf'][1].Permissions = '1777'; }, path: 'SystemConfigs[0].AdditionalFiles["files/a.conf"][1].Permissions', message: 'sets bits other than the permission bits' },
  // PackageRepo.IsValid
  { source: 'PackageRepo.IsValid', name: 'custom GPG keys on a repository that is not installed', mutate: (c) => rpmRepo(c, { GPGKeys: 'file:///etc/pki/rpm-gpg/my-key' }), path: 'SystemConfigs[0].PackageRepos[0].GPGKeys', message: 'custom GPG keys are only supported for repositories that are installed' },
  { source: 'PackageRepo.IsValid (a warning upstream)', name: 'custom GPG keys on an installed repository', mutate: (c) => rpmRepo(c, { GPGKeys: 'file:///etc/pki/rpm-gpg/my-key', Install: true }), path: 'SystemConfigs[0].PackageRepos[0].GPGKeys', message: 'the repository file is not usable in an ISO installer', kind: 'advice' },
  { source: 'PackageRepo.IsValid', name: 'blank repository name', mutate: (c) => { repo(c).Name = '  '; }, path: 'SystemConfigs[0].PackageRepos[0].Name', message: 'a repository Name must not be blank' },
  { source: 'PackageRepo.IsValid (url.ParseRequestURI)', name: 'BaseUrl with a space in the host', mutate: (c) => { repo(c).BaseUrl = 'http://deb debian.org/debian'; }, path: 'SystemConfigs[0].PackageRepos[0].BaseUrl', message: 'is not a repository URL' },
  { source: 'PackageRepo.IsValid (url.ParseRequestURI)', name: 'BaseUrl with a broken escape', mutate: (c) => { repo(c).BaseUrl = 'http://deb.debian.org/deb%zzian'; }, path: 'SystemConfigs[0].PackageRepos[0].BaseUrl', message: 'is not a repository URL' },
  { source: 'PackageRepo.IsValid (Kiln: http, ftp, file)', name: 'BaseUrl with a scheme Kiln does not fetch', mutate: (c) => { repo(c).BaseUrl = 's3://bucket/debian'; }, path: 'SystemConfigs[0].PackageRepos[0].BaseUrl', message: 'is not an http(s)://, ftp:// or file:// URL', kind: 'kiln' },
  // Network.IsValid
  { source: 'Network.IsValid', name: 'network without a Device', mutate: (c) => { delete net(c).Device; }, path: 'SystemConfigs[0].Networks[0]', message: 'a network needs a Device' },
  { source: 'Network.IsValid', name: 'static network without a NetMask', mutate: (c) => { delete net(c).NetMask; }, path: 'SystemConfigs[0].Networks[0].NetMask', message: 'a "static" network needs a NetMask' },
  { source: 'Network.IsValid', name: 'static network without a GateWay', mutate: (c) => { net(c).GateWay = ''; }, path: 'SystemConfigs[0].Networks[0].GateWay', message: 'a "static" network needs a GateWay' },
  { source: 'Network.IsValid', name: 'empty name server on a static network', mutate: (c) => { net(c).NameServers = ['']; }, path: 'SystemConfigs[0].Networks[0].NameServers[0]', message: '"" is not an IP address' },
  { source: 'Network.IsValid', name: 'netmask that is no address', mutate: (c) => { net(c).NetMask = '/24'; }, path: 'SystemConfigs[0].Networks[0].NetMask', message: '"/24" is not an IP address' },
  { source: 'Network.IsValid', name: 'IPv6 address with a zone', mutate: (c) => { net(c).Ip = 'fe80::1%eth0'; }, path: 'SystemConfigs[0].Networks[0].Ip', message: '"fe80::1%eth0" is not an IP address' },
  { source: 'Network.IsValid', name: 'unknown BootProto', mutate: (c) => { net(c).BootProto = 'dhcp6'; }, path: 'SystemConfigs[0].Networks[0].BootProto', message: '"dhcp6" is not a valid value' },
  // User.IsValid
  { source: 'User.IsValid', name: 'blank user name', mutate: (c) => { c.SystemConfigs[0].Users[0].Name = '   '; }, path: 'SystemConfigs[0].Users[0].Name', message: 'a user name must not be blank' },
  { source: 'User.IsValid', name: 'negative UID', mutate: (c) => { c.SystemConfigs[0].Users[0].UID = '-1'; }, path: 'SystemConfigs[0].Users[0].UID', message: 'UID -1 is out of range' },
  { source: 'User.IsValid (Kiln: no sign)', name: 'UID with a plus sign', mutate: (c) => { c.SystemConfigs[0].Users[0].UID = '+1001'; }, path: 'SystemConfigs[0].Users[0].UID', message: 'UID "+1001" has a sign', kind: 'kiln' },
];

describe("upstream's rules", () => {
  it('the table covers every upstream rule source at least once', () => {
    const sources = new Set(ROWS.map((r) => r.source.replace(/ \(.*\)$/, '')));
    for (const s of ['validatePackages', 'SystemConfig.IsValid', 'checkDeviceMapperFlags', 'checkInvalidMountIdentifiers', 'TargetDisk.IsValid', 'Disk.IsValid', 'FileConfigList.IsValid', 'FileConfig.IsValid', 'FilePermissions.IsValid', 'PackageRepo.IsValid', 'Network.IsValid', 'User.IsValid']) {
      expect(sources).toContain(s);
    }
  });

  it.each(ROWS.map((r) => [`${r.source}: ${r.name}`, r] as const))('%s', (_n, r) => {
    const c = baseConfig();
    r.mutate(c);
    // package lists written by `list` lie in a scratch directory, outside the config's
    const result = validateObject(c, { allowOutsideConfigDir: true });
    const match = result.findings.find((f) => f.path === r.path && f.message.includes(r.message));
    expect(match, `findings were:\n${result.findings.map((f) => `${f.severity} ${f.path}: ${f.message}`).join('\n')}`).toBeDefined();
    const kind = r.kind ?? 'error';
    expect(match!.severity).toBe(kind === 'error' ? 'error' : 'warning');
    expect(blocksBuild(match!)).toBe(kind !== 'advice');
    expect(match!.file.endsWith(r.file ?? 'base.json')).toBe(true);
    expect(match!.line).toBeGreaterThan(0);
    if (kind !== 'error') expect(result.valid).toBe(true);
  });

  it('an RPM config that upstream accepts has no error (GPGCheck off with custom keys, bootp networks, "s3" scheme)', () => {
    const c = baseConfig();
    rpmRepo(c, { GPGKeys: 'file:///etc/pki/rpm-gpg/my-key', GPGCheck: false });
    const r = validateConfigText(JSON.stringify(c), BASE_FILE);
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });
});

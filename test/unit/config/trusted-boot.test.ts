/**
 * Encryption, Verity, BootLoader and SecureBoot: valid combinations pass, each impossible one is an
 * error (or a warning) at its JSON path with a hint. Configs start from the base fixture.
 */
import { describe, expect, it } from 'vitest';
import { baseConfig, validateObject, type Json } from './helpers.js';

const sc = (c: Json) => c.SystemConfigs[0];
const parts = (c: Json) => c.Disks[0].Partitions;

/** Base + separate /boot + LUKS root (grub). */
function encrypted(): Json {
  const c = baseConfig();
  c.Disks[0].Partitions = [
    { ID: 'esp', Flags: ['esp', 'boot'], Start: 1, End: 65, FsType: 'fat32' },
    { ID: 'boot', Start: 65, End: 321, FsType: 'ext4' },
    { ID: 'rootfs', Flags: ['dmroot'], Start: 321, End: 0, FsType: 'ext4' },
  ];
  sc(c).PartitionSettings = [
    { ID: 'esp', MountPoint: '/boot/efi', MountOptions: 'umask=0077' },
    { ID: 'boot', MountPoint: '/boot' },
    { ID: 'rootfs', MountPoint: '/' },
  ];
  sc(c).Encryption = { Enable: true, Password: 'correct horse' };
  return c;
}

/** Base + hash partition + verity root + signed systemd-boot UKI. */
function verity(): Json {
  const c = baseConfig();
  c.Disks[0].Partitions = [
    { ID: 'esp', Flags: ['esp', 'boot'], Start: 1, End: 129, FsType: 'fat32' },
    { ID: 'hash', Start: 129, End: 161, FsType: 'ext4' },
    { ID: 'rootfs', Flags: ['dmroot'], Start: 161, End: 0, FsType: 'ext4' },
  ];
  sc(c).PartitionSettings = [
    { ID: 'esp', MountPoint: '/boot/efi', MountOptions: 'umask=0077' },
    { ID: 'rootfs', MountPoint: '/' },
  ];
  sc(c).BootLoader = 'systemd-boot';
  sc(c).Verity = { Enable: true, HashPartition: 'hash' };
  sc(c).SecureBoot = { Enable: true, SigningKey: 'keys/test-db.key', SigningCertificate: 'keys/test-db.crt' };
  return c;
}

function findings(c: Json) {
  return validateObject(c).findings.map((f) => ({ path: f.path, message: f.message, hint: f.hint, severity: f.severity }));
}

describe('valid trusted-boot configs', () => {
  it('an encrypted root with grub and a /boot partition, with the distribution\'s Secure Boot chain', () => {
    const c = encrypted();
    sc(c).SecureBoot = { Enable: true };
    expect(findings(c).filter((f) => f.severity === 'error')).toEqual([]);
  });
  it('an encrypted root with a UKI needs no /boot partition', () => {
    const c = encrypted();
    c.Disks[0].Partitions = [parts(c)[0], { ...parts(c)[2], Start: 65 }];
    sc(c).PartitionSettings = [sc(c).PartitionSettings[0], sc(c).PartitionSettings[2]];
    sc(c).BootLoader = 'uki';
    expect(findings(c).filter((f) => f.severity === 'error')).toEqual([]);
  });
  it('a verity root on a signed systemd-boot UKI', () => {
    expect(findings(verity()).filter((f) => f.severity === 'error')).toEqual([]);
  });
});

interface Case {
  name: string;
  config: () => Json;
  path: string;
  message: RegExp;
  hint?: RegExp;
  severity?: 'error' | 'warning';
}

const CASES: Case[] = [
  { name: 'empty passphrase', config: () => { const c = encrypted(); sc(c).Encryption.Password = ''; return c; }, path: 'SystemConfigs[0].Encryption.Password', message: /needs a passphrase/ },
  { name: 'missing passphrase', config: () => { const c = encrypted(); delete sc(c).Encryption.Password; return c; }, path: 'SystemConfigs[0].Encryption.Password', message: /needs a passphrase/ },
  { name: 'blank passphrase', config: () => { const c = encrypted(); sc(c).Encryption.Password = '   '; return c; }, path: 'SystemConfigs[0].Encryption.Password', message: /needs a passphrase/ },
  {
    name: 'encrypted root with grub and /boot inside it',
    config: () => { const c = encrypted(); c.Disks[0].Partitions.splice(1, 1); parts(c)[1].Start = 65; sc(c).PartitionSettings.splice(1, 1); return c; },
    path: 'SystemConfigs[0].Encryption.Enable', message: /\/boot .* must be a partition of its own/, hint: /"BootLoader": "uki"/, severity: 'warning',
  },
  { name: 'encrypted root without dmroot (upstream\'s rule)', config: () => { const c = encrypted(); parts(c)[2].Flags = []; return c; }, path: 'SystemConfigs[0].Encryption.Enable', message: /needs the "dmroot" flag/ },
  { name: 'verity root without dmroot', config: () => { const c = verity(); parts(c)[2].Flags = []; return c; }, path: 'Disks[0].Partitions[2].Flags', message: /needs the "dmroot" flag/ },
  { name: 'dmroot without encryption or verity', config: () => { const c = encrypted(); delete sc(c).Encryption; return c; }, path: 'Disks[0].Partitions[2].Flags[0]', message: /does nothing/, severity: 'warning' },
  { name: 'dmroot on a partition that is not the root', config: () => { const c = encrypted(); parts(c)[1].Flags = ['dmroot']; return c; }, path: 'Disks[0].Partitions[1].Flags[0]', message: /marks the root partition/, severity: 'warning' },
  { name: 'encryption and verity together', config: () => { const c = verity(); sc(c).Encryption = { Enable: true, Password: 'x' }; return c; }, path: 'SystemConfigs[0].Verity.Enable', message: /not supported/ },
  {
    name: 'encrypted root, ISO, fstab by PARTUUID',
    config: () => { const c = encrypted(); c.Disks[0].TargetDisk = { Type: 'path', Value: '/dev/sda' }; sc(c).PartitionSettings[1].MountIdentifier = 'partuuid'; return c; },
    path: 'SystemConfigs[0].PartitionSettings[1].MountIdentifier', message: /cannot rewrite \/etc\/fstab/, severity: 'warning',
  },
  { name: 'verity with a writable root', config: () => { const c = verity(); sc(c).PartitionSettings[1].MountOptions = 'rw,noatime'; return c; }, path: 'SystemConfigs[0].PartitionSettings[1].MountOptions', message: /read-only.*"rw"/ },
  { name: 'verity with grub', config: () => { const c = verity(); delete sc(c).BootLoader; delete sc(c).SecureBoot; return c; }, path: 'SystemConfigs[0].Verity', message: /needs "BootLoader": "uki" or "systemd-boot"/ },
  { name: 'verity without HashPartition', config: () => { const c = verity(); delete sc(c).Verity.HashPartition; return c; }, path: 'SystemConfigs[0].Verity', message: /needs HashPartition/ },
  { name: 'verity hash partition misspelt', config: () => { const c = verity(); sc(c).Verity.HashPartition = 'hsh'; return c; }, path: 'SystemConfigs[0].Verity.HashPartition', message: /no partition has ID "hsh"/, hint: /did you mean "hash"/ },
  { name: 'verity hash partition is the root', config: () => { const c = verity(); sc(c).Verity.HashPartition = 'rootfs'; return c; }, path: 'SystemConfigs[0].Verity.HashPartition', message: /cannot live on the root/ },
  { name: 'verity hash partition mounted', config: () => { const c = verity(); sc(c).PartitionSettings.push({ ID: 'hash', MountPoint: '/hash' }); return c; }, path: 'SystemConfigs[0].PartitionSettings[2].MountPoint', message: /cannot be mounted/ },
  { name: 'verity hash partition too small', config: () => { const c = verity(); parts(c)[1].End = 130; parts(c)[2].Start = 130; return c; }, path: 'Disks[0].Partitions[1].End', message: /needs 16 MiB; partition "hash" has 1 MiB/ },
  { name: 'verity root on FAT', config: () => { const c = verity(); parts(c)[2].FsType = 'vfat'; return c; }, path: 'Disks[0].Partitions[2].FsType', message: /needs a Linux filesystem/ },
  { name: 'UKI with legacy boot', config: () => { const c = verity(); sc(c).BootType = 'legacy'; delete sc(c).SecureBoot; parts(c)[0].Flags = ['bios_grub']; sc(c).PartitionSettings[0].MountPoint = ''; return c; }, path: 'SystemConfigs[0].BootLoader', message: /needs "BootType": "efi"/ },
  { name: 'UKI on an 8 MiB ESP', config: () => { const c = verity(); parts(c)[0].End = 9; parts(c)[1].Start = 9; return c; }, path: 'Disks[0].Partitions[0].End', message: /too small for a unified kernel image/ },
  { name: 'grub-mkconfig with a UKI', config: () => { const c = verity(); sc(c).EnableGrubMkconfig = true; return c; }, path: 'SystemConfigs[0].EnableGrubMkconfig', message: /no effect/, severity: 'warning' },
  { name: 'Secure Boot without EFI', config: () => { const c = encrypted(); sc(c).SecureBoot = { Enable: true }; sc(c).BootType = 'legacy'; parts(c)[0].Flags = ['bios_grub']; sc(c).PartitionSettings[0].MountPoint = ''; return c; }, path: 'SystemConfigs[0].SecureBoot.Enable', message: /UEFI feature/, hint: /"BootType": "efi"/ },
  { name: 'Secure Boot UKI without keys', config: () => { const c = verity(); sc(c).SecureBoot = { Enable: true }; return c; }, path: 'SystemConfigs[0].SecureBoot', message: /needs your signing key/ },
  { name: 'Secure Boot keys with grub', config: () => { const c = encrypted(); sc(c).SecureBoot = { Enable: true, SigningKey: 'keys/test-db.key', SigningCertificate: 'keys/test-db.crt' }; return c; }, path: 'SystemConfigs[0].SecureBoot.SigningKey', message: /Kiln signs only what it builds/ },
  { name: 'signing key without certificate', config: () => { const c = verity(); delete sc(c).SecureBoot.SigningCertificate; return c; }, path: 'SystemConfigs[0].SecureBoot.SigningCertificate', message: /missing/ },
  { name: 'signing key that does not exist', config: () => { const c = verity(); sc(c).SecureBoot.SigningKey = 'keys/nope.key'; return c; }, path: 'SystemConfigs[0].SecureBoot.SigningKey', message: /does not exist/ },
  { name: 'certificate that is a key', config: () => { const c = verity(); sc(c).SecureBoot.SigningCertificate = 'keys/test-db.key'; return c; }, path: 'SystemConfigs[0].SecureBoot.SigningCertificate', message: /not a PEM certificate/ },
  { name: 'keys while Secure Boot is off', config: () => { const c = verity(); sc(c).SecureBoot.Enable = false; return c; }, path: 'SystemConfigs[0].SecureBoot.Enable', message: /nothing would be signed/ },
  { name: 'unknown BootLoader', config: () => { const c = verity(); sc(c).BootLoader = 'systemd_boot'; return c; }, path: 'SystemConfigs[0].BootLoader', message: /not a valid value/, hint: /systemd-boot/ },
  { name: 'unknown CorruptionAction', config: () => { const c = verity(); sc(c).Verity.CorruptionAction = 'reboot'; return c; }, path: 'SystemConfigs[0].Verity.CorruptionAction', message: /not a valid value/ },
  { name: 'relative TmpfsOverlays entry', config: () => { const c = verity(); sc(c).Verity.TmpfsOverlays = ['var']; return c; }, path: 'SystemConfigs[0].Verity.TmpfsOverlays[0]', message: /.+/ },
];

describe('impossible combinations are reported at their JSON path', () => {
  for (const k of CASES) {
    it(k.name, () => {
      const all = findings(k.config());
      const hit = all.find((f) => f.path === k.path && k.message.test(f.message));
      expect(hit, `no finding at ${k.path} matching ${k.message}; got ${JSON.stringify(all, null, 1)}`).toBeDefined();
      expect(hit!.severity).toBe(k.severity ?? 'error');
      if (k.hint) expect(hit!.hint).toMatch(k.hint);
    });
  }

  it('never repeats the passphrase in a finding', () => {
    const c = encrypted();
    c.Disks[0].Partitions.splice(1, 1);
    parts(c)[1].Start = 65;
    sc(c).PartitionSettings.splice(1, 1);
    sc(c).Encryption.Password = 'secret-passphrase-42';
    const text = JSON.stringify(findings(c));
    expect(text).not.toContain('secret-passphrase-42');
  });
});

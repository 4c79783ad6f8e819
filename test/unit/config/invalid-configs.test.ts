/**
 * Table of invalid configs: each row breaks one rule of the base config (a valid Debian EFI image
 * using every feature) and names the JSON path and message the validator must report, and its
 * kind: an error (upstream rejects it too, or a Kiln extension / deliberate difference), a Kiln
 * warning that `kiln build` refuses (upstream accepts the config), or advice (a plain warning).
 */
import { describe, expect, it } from 'vitest';
import { blocksBuild, buildBlockers, validateConfigText } from '../../../src/config/index.js';
import { asRpm, BASE_FILE, baseConfig, validateObject, type Json } from './helpers.js';

interface Case {
  name: string;
  mutate: (c: Json) => void;
  path: string;
  message: string;
  hint?: string;
  /** error (default): invalid; kiln: a warning kiln build refuses; advice: a warning only. */
  kind?: 'error' | 'kiln' | 'advice';
  /** Finding reported in another file (a package list), named by its suffix. */
  file?: string;
}

const sc = (c: Json) => c.SystemConfigs[0];
const disk = (c: Json) => c.Disks[0];
const part = (c: Json, i: number) => c.Disks[0].Partitions[i];
const user = (c: Json) => c.SystemConfigs[0].Users[0];
const net = (c: Json) => c.SystemConfigs[0].Networks[0];
const repo = (c: Json) => c.SystemConfigs[0].PackageRepos[0];
const toLegacy = (c: Json) => {
  sc(c).BootType = 'legacy';
  part(c, 0).Flags = ['bios_grub'];
  part(c, 0).End = 9;
  part(c, 0).Type = undefined;
  part(c, 1).Start = 9;
  sc(c).PartitionSettings[0].MountPoint = '';
};

const SCHEMA_CASES: Case[] = [
  { name: 'unknown top-level key', mutate: (c) => { c.Disk = c.Disks; }, path: 'Disk', message: 'unknown field "Disk": did you mean "Disks"?', hint: 'upstream\'s parser ignores unknown fields', kind: 'kiln' },
  { name: 'misspelt SystemConfig key', mutate: (c) => { sc(c).Hostnme = 'x'; }, path: 'SystemConfigs[0].Hostnme', message: 'unknown field "Hostnme": did you mean "Hostname"?', hint: 'kiln build refuses', kind: 'kiln' },
  { name: 'misspelt Partition key', mutate: (c) => { part(c, 0).FsTyp = 'ext4'; }, path: 'Disks[0].Partitions[0].FsTyp', message: 'did you mean "FsType"?', kind: 'kiln' },
  { name: 'misspelt User key', mutate: (c) => { user(c).UIDD = '1'; }, path: 'SystemConfigs[0].Users[0].UIDD', message: 'did you mean "UID"?', kind: 'kiln' },
  { name: 'misspelt KernelCommandLine key', mutate: (c) => { sc(c).KernelCommandLine.SELinx = 'enforcing'; }, path: 'SystemConfigs[0].KernelCommandLine.SELinx', message: 'did you mean "SELinux"?', kind: 'kiln' },
  { name: 'unknown key without a near miss lists the fields', mutate: (c) => { repo(c).Mirror = 'x'; }, path: 'SystemConfigs[0].PackageRepos[0].Mirror', message: 'unknown field "Mirror"', hint: 'Fields here: Name, BaseUrl', kind: 'kiln' },
  { name: 'deprecated ReadOnlyVerityRoot, enabled', mutate: (c) => { sc(c).ReadOnlyVerityRoot = { Enable: true }; }, path: 'SystemConfigs[0].ReadOnlyVerityRoot', message: 'ReadOnlyVerityRoot is deprecated upstream', hint: 'Image Customizer', kind: 'kiln' },
  { name: 'deprecated ReadOnlyVerityRoot, disabled', mutate: (c) => { sc(c).ReadOnlyVerityRoot = { Enable: false }; }, path: 'SystemConfigs[0].ReadOnlyVerityRoot', message: 'ReadOnlyVerityRoot is deprecated upstream', hint: 'it has no effect', kind: 'advice' },
  { name: 'a field given twice in two spellings', mutate: (c) => { sc(c).hostname = 'other'; }, path: 'SystemConfigs[0].Hostname', message: '"Hostname" and "hostname" both set Hostname', hint: 'the last value wins', kind: 'kiln' },
  { name: 'SystemConfigs missing', mutate: (c) => { delete c.SystemConfigs; }, path: 'SystemConfigs', message: 'missing required field "SystemConfigs"' },
  { name: 'SystemConfigs empty', mutate: (c) => { c.SystemConfigs = []; }, path: 'SystemConfigs', message: 'must have at least 1 entry' },
  { name: 'SystemConfig without Name', mutate: (c) => { delete sc(c).Name; }, path: 'SystemConfigs[0].Name', message: 'missing required field "Name"' },
  { name: 'blank SystemConfig Name', mutate: (c) => { sc(c).Name = '   '; }, path: 'SystemConfigs[0].Name', message: 'must not be blank' },
  { name: 'unknown BootType', mutate: (c) => { sc(c).BootType = 'efl'; }, path: 'SystemConfigs[0].BootType', message: '"efl" is not a valid value', hint: 'did you mean "efi"?' },
  { name: 'unknown PartitionTableType', mutate: (c) => { disk(c).PartitionTableType = 'GPT'; }, path: 'Disks[0].PartitionTableType', message: '"GPT" is not a valid value', hint: 'did you mean "gpt"?' },
  { name: 'unknown FsType', mutate: (c) => { part(c, 1).FsType = 'ext44'; }, path: 'Disks[0].Partitions[1].FsType', message: '"ext44" is not a valid value', hint: 'did you mean "ext4"?', kind: 'kiln' },
  { name: 'partition without FsType', mutate: (c) => { delete part(c, 1).FsType; }, path: 'Disks[0].Partitions[1].FsType', message: '"" is not a valid value', hint: 'Kiln cannot build it', kind: 'kiln' },
  { name: 'unknown partition flag', mutate: (c) => { part(c, 0).Flags = ['esp', 'bot']; }, path: 'Disks[0].Partitions[0].Flags[1]', message: '"bot" is not a valid value', hint: '"boot"' },
  { name: 'unknown partition Type name', mutate: (c) => { part(c, 1).Type = 'linux-root'; }, path: 'Disks[0].Partitions[1].Type', message: '"linux-root" is not a valid value' },
  { name: 'malformed TypeUUID', mutate: (c) => { delete part(c, 1).Type; part(c, 1).TypeUUID = '4f68bce3'; }, path: 'Disks[0].Partitions[1].TypeUUID', message: 'is not a GUID' },
  { name: 'Start as a string', mutate: (c) => { part(c, 0).Start = '1'; }, path: 'Disks[0].Partitions[0].Start', message: 'must be a whole number, not a string' },
  { name: 'negative Start', mutate: (c) => { part(c, 0).Start = -1; }, path: 'Disks[0].Partitions[0].Start', message: '-1 is out of range' },
  { name: 'fractional MaxSize', mutate: (c) => { disk(c).MaxSize = 1.5; }, path: 'Disks[0].MaxSize', message: 'must be a whole number' },
  { name: 'UID as a number', mutate: (c) => { user(c).UID = 1001; }, path: 'SystemConfigs[0].Users[0].UID', message: 'must be a string, not a whole number', hint: '"UID": "1001"' },
  { name: 'UID not numeric', mutate: (c) => { user(c).UID = 'abc'; }, path: 'SystemConfigs[0].Users[0].UID', message: '"abc" is not a number' },
  { name: 'PasswordExpiresDays too large', mutate: (c) => { user(c).PasswordExpiresDays = 100000; }, path: 'SystemConfigs[0].Users[0].PasswordExpiresDays', message: '100000 is out of range', hint: '-1' },
  { name: 'PasswordExpiresDays below -1', mutate: (c) => { user(c).PasswordExpiresDays = -2; }, path: 'SystemConfigs[0].Users[0].PasswordExpiresDays', message: '-2 is out of range' },
  { name: 'GID not numeric', mutate: (c) => { sc(c).Groups[0].GID = 'devs'; }, path: 'SystemConfigs[0].Groups[0].GID', message: '"devs" is not a number', kind: 'kiln' },
  { name: 'Permissions not octal', mutate: (c) => { sc(c).AdditionalFiles['files/a.conf'][1].Permissions = '999'; }, path: 'SystemConfigs[0].AdditionalFiles["files/a.conf"][1].Permissions', message: 'not an octal permission string' },
  { name: 'Permissions empty', mutate: (c) => { sc(c).AdditionalFiles['files/a.conf'][1].Permissions = ''; }, path: 'SystemConfigs[0].AdditionalFiles["files/a.conf"][1].Permissions', message: '"" is not an octal permission string' },
  { name: 'Permissions with the setuid bit', mutate: (c) => { sc(c).AdditionalFiles['files/a.conf'][1].Permissions = '4755'; }, path: 'SystemConfigs[0].AdditionalFiles["files/a.conf"][1].Permissions', message: '"4755" sets bits other than the permission bits' },
  { name: 'AdditionalFiles destination of the wrong type', mutate: (c) => { sc(c).AdditionalFiles['files/motd'] = 5; }, path: 'SystemConfigs[0].AdditionalFiles["files/motd"]', message: 'has the wrong form', hint: 'FileConfig' },
  { name: 'misspelt FileConfig key', mutate: (c) => { sc(c).AdditionalFiles['files/a.conf'][1].Permission = '644'; }, path: 'SystemConfigs[0].AdditionalFiles["files/a.conf"][1].Permission', message: 'unknown field "Permission": did you mean "Permissions"?', kind: 'kiln' },
  { name: 'FileConfig without Path', mutate: (c) => { sc(c).AdditionalFiles['files/motd'] = { Permissions: '644' }; }, path: 'SystemConfigs[0].AdditionalFiles["files/motd"].Path', message: 'missing required field "Path"' },
  { name: 'kernel option not a string', mutate: (c) => { sc(c).KernelOptions.default = 5; }, path: 'SystemConfigs[0].KernelOptions.default', message: 'must be a string' },
  { name: 'unknown SELinux mode', mutate: (c) => { sc(c).KernelCommandLine.SELinux = 'enforced'; }, path: 'SystemConfigs[0].KernelCommandLine.SELinux', message: '"enforced" is not a valid value', hint: '"enforcing"' },
  { name: 'unknown CGroup version', mutate: (c) => { sc(c).KernelCommandLine.CGroup = 'v2'; }, path: 'SystemConfigs[0].KernelCommandLine.CGroup', message: '"v2" is not a valid value' },
  { name: 'unknown IMA policy', mutate: (c) => { sc(c).KernelCommandLine.ImaPolicy = ['tbc']; }, path: 'SystemConfigs[0].KernelCommandLine.ImaPolicy[0]', message: '"tbc" is not a valid value', hint: '"tcb"' },
  { name: 'EnableFIPS as a string', mutate: (c) => { sc(c).KernelCommandLine.EnableFIPS = 'true'; }, path: 'SystemConfigs[0].KernelCommandLine.EnableFIPS', message: 'must be a boolean, not a string' },
  { name: 'unknown MountIdentifier', mutate: (c) => { sc(c).PartitionSettings[1].MountIdentifier = 'label'; }, path: 'SystemConfigs[0].PartitionSettings[1].MountIdentifier', message: '"label" is not a valid value' },
  { name: 'unknown Distro name', mutate: (c) => { sc(c).Distro.Name = 'debain'; }, path: 'SystemConfigs[0].Distro.Name', message: '"debain" is not a valid value', hint: 'did you mean "debian"?' },
  { name: 'Distro without Name', mutate: (c) => { sc(c).Distro = { Release: '12' }; }, path: 'SystemConfigs[0].Distro.Name', message: 'missing required field "Name"' },
  { name: 'unknown artifact Type', mutate: (c) => { disk(c).Artifacts[0].Type = 'vhdxx'; }, path: 'Disks[0].Artifacts[0].Type', message: '"vhdxx" is not a valid value', hint: '"vhdx"', kind: 'kiln' },
  { name: 'artifact Type upstream makes but Kiln does not', mutate: (c) => { disk(c).Artifacts[0].Type = 'vhd-fixed'; }, path: 'Disks[0].Artifacts[0].Type', message: '"vhd-fixed" is not a valid value', hint: 'kiln build refuses', kind: 'kiln' },
  { name: 'unknown artifact Compression', mutate: (c) => { disk(c).Artifacts[0].Compression = 'zip'; }, path: 'Disks[0].Artifacts[0].Compression', message: '"zip" is not a valid value', kind: 'kiln' },
  { name: 'bzip2 tarball', mutate: (c) => { disk(c).Artifacts[0].Compression = 'tar.bz2'; }, path: 'Disks[0].Artifacts[0].Compression', message: '"tar.bz2" is not a valid value', kind: 'kiln' },
  { name: 'artifact name with a slash', mutate: (c) => { disk(c).Artifacts[0].Name = 'a/b'; }, path: 'Disks[0].Artifacts[0].Name', message: '"a/b" is not a plain file name' },
  { name: 'artifact name ".."', mutate: (c) => { disk(c).Artifacts[0].Name = '..'; }, path: 'Disks[0].Artifacts[0].Name', message: '".." is not a plain file name' },
  { name: 'artifact name empty', mutate: (c) => { disk(c).Artifacts[0].Name = ''; }, path: 'Disks[0].Artifacts[0].Name', message: 'must not be empty' },
  { name: 'unknown TargetDisk Type', mutate: (c) => { disk(c).TargetDisk = { Type: 'disk', Value: '/dev/sda' }; }, path: 'Disks[0].TargetDisk.Type', message: '"disk" is not a valid value' },
  { name: 'unsupported BlockSize', mutate: (c) => { disk(c).BlockSize = 1024; }, path: 'Disks[0].BlockSize', message: '1024 is not a valid value' },
  { name: 'unknown BootProto', mutate: (c) => { net(c).BootProto = 'dhcp4'; }, path: 'SystemConfigs[0].Networks[0].BootProto', message: '"dhcp4" is not a valid value', hint: '"dhcp"' },
  { name: 'PackageLists not an array', mutate: (c) => { sc(c).PackageLists = 'packagelists/base.json'; }, path: 'SystemConfigs[0].PackageLists', message: 'must be an array, not a string' },
  { name: 'empty package name', mutate: (c) => { sc(c).Packages = ['']; }, path: 'SystemConfigs[0].Packages[0]', message: 'must not be empty' },
  { name: 'empty user name', mutate: (c) => { user(c).Name = ''; }, path: 'SystemConfigs[0].Users[0].Name', message: 'must not be empty' },
  { name: 'RawBinary without BlockSize', mutate: (c) => { disk(c).RawBinaries = [{ BinPath: 'files/motd', Seek: 0 }]; }, path: 'Disks[0].RawBinaries[0].BlockSize', message: '0 is out of range', kind: 'kiln' },
  { name: 'RawBinaries, which Kiln does not write', mutate: (c) => { disk(c).RawBinaries = [{ BinPath: 'files/motd', BlockSize: 512, Seek: 0 }]; }, path: 'Disks[0].RawBinaries', message: 'Kiln does not write RawBinaries', kind: 'kiln' },
  { name: 'Network BootProto upstream knows but Kiln does not configure', mutate: (c) => { net(c).BootProto = 'bootp'; }, path: 'SystemConfigs[0].Networks[0].BootProto', message: '"bootp" is not a valid value', kind: 'kiln' },
  { name: 'Disks not an array', mutate: (c) => { c.Disks = c.Disks[0]; }, path: 'Disks', message: 'must be an array, not an object' },
];

const LAYOUT_CASES: Case[] = [
  { name: 'partitions without a table type', mutate: (c) => { delete disk(c).PartitionTableType; sc(c).PartitionSettings[1].MountIdentifier = 'partuuid'; }, path: 'Disks[0]', message: 'needs a PartitionTableType', kind: 'kiln' },
  { name: 'partitions without MaxSize', mutate: (c) => { delete disk(c).MaxSize; }, path: 'Disks[0].MaxSize', message: 'needs a non-zero MaxSize' },
  { name: 'End before Start', mutate: (c) => { part(c, 0).End = 1; }, path: 'Disks[0].Partitions[0].End', message: 'End (1) must be greater than Start (1)', kind: 'kiln' },
  { name: 'Start 0', mutate: (c) => { part(c, 0).Start = 0; }, path: 'Disks[0].Partitions[0].Start', message: 'Start 0 overlaps the partition table', kind: 'kiln' },
  { name: 'overlapping partitions', mutate: (c) => { part(c, 1).Start = 60; }, path: 'Disks[0].Partitions[1].Start', message: 'partition "rootfs" (Start 60) overlaps partition "esp" (1-65)' },
  { name: 'partitions out of order', mutate: (c) => { disk(c).Partitions.reverse(); }, path: 'Disks[0].Partitions[1].Start', message: 'partition "esp" (Start 1) is listed after "rootfs" (Start 65)', kind: 'kiln' },
  { name: 'End beyond MaxSize', mutate: (c) => { part(c, 1).End = 4096; }, path: 'Disks[0].Partitions[1].End', message: "End (4096) is beyond the disk's MaxSize (2048)" },
  { name: 'Start beyond MaxSize', mutate: (c) => { part(c, 1).Start = 3000; }, path: 'Disks[0].Partitions[1].Start', message: "Start (3000) is beyond the disk's MaxSize (2048)" },
  { name: 'two partitions starting together', mutate: (c) => { part(c, 0).Start = 65; part(c, 0).End = 0; }, path: 'Disks[0].Partitions[1].Start', message: 'both start at 65', kind: 'kiln' },
  { name: 'End 0 before a partition at the same Start gives an empty partition', mutate: (c) => { part(c, 0).End = 0; part(c, 0).Start = 65; }, path: 'Disks[0].Partitions[0].End', message: 'End 0 gives an empty partition', kind: 'kiln' },
  { name: 'more than 4 MBR partitions', mutate: (c) => { disk(c).PartitionTableType = 'mbr'; sc(c).PartitionSettings[1].MountIdentifier = 'partuuid'; for (let i = 0; i < 3; i++) disk(c).Partitions.push({ ID: `p${i}`, Start: 1000 + i * 10, End: 1005 + i * 10, FsType: 'ext4' }); part(c, 1).End = 1000; }, path: 'Disks[0].Partitions', message: 'an MBR disk holds at most 4 primary partitions (found 5)' },
  { name: 'two EFI system partitions', mutate: (c) => { part(c, 1).Flags = ['esp']; part(c, 1).FsType = 'fat32'; }, path: 'Disks[0].Partitions[1].Flags', message: 'more than one partition has the "esp" flag', kind: 'kiln' },
  { name: 'ESP not FAT', mutate: (c) => { part(c, 0).FsType = 'ext4'; }, path: 'Disks[0].Partitions[0].FsType', message: 'the EFI system partition ("esp" flag) must be FAT, not "ext4"', kind: 'kiln' },
  { name: 'bios_grub on MBR', mutate: (c) => { toLegacy(c); disk(c).PartitionTableType = 'mbr'; sc(c).PartitionSettings[1].MountIdentifier = 'uuid'; }, path: 'Disks[0].Partitions[0].Flags', message: 'the "bios_grub" flag exists only on GPT disks', kind: 'kiln' },
  { name: 'Type and TypeUUID together', mutate: (c) => { part(c, 1).TypeUUID = '4f68bce3-e8cd-4db1-96e7-fbcaf984b709'; }, path: 'Disks[0].Partitions[1].TypeUUID', message: 'set either Type or TypeUUID, not both' },
  { name: 'GPT name too long', mutate: (c) => { part(c, 1).Name = 'x'.repeat(36); }, path: 'Disks[0].Partitions[1].Name', message: 'a GPT name holds at most 35' },
  { name: 'non-ASCII partition name', mutate: (c) => { part(c, 1).Name = 'rööt'; }, path: 'Disks[0].Partitions[1].Name', message: 'contains a non-ASCII character' },
  { name: 'control character in a partition name', mutate: (c) => { part(c, 1).Name = 'ro\tot'; }, path: 'Disks[0].Partitions[1].Name', message: 'contains the control character U+0009 (tab)' },
  { name: 'disk artifact without partitions', mutate: (c) => { delete disk(c).Partitions; delete sc(c).PartitionSettings; }, path: 'Disks[0].Artifacts[0].Type', message: 'Type "qcow2" is made from a disk or partition, but the input is a tree', hint: 'add Partitions', kind: 'kiln' },
  { name: 'TargetDisk that is no device', mutate: (c) => { disk(c).TargetDisk = { Type: 'path', Value: 'sda' }; }, path: 'Disks[0].TargetDisk.Value', message: '"sda" is not a device path', kind: 'kiln' },
  { name: 'duplicate partition ID', mutate: (c) => { part(c, 1).ID = 'esp'; }, path: 'Disks[0].Partitions[1].ID', message: 'partition ID "esp" is used twice' },
];

const SYSTEM_CASES: Case[] = [
  { name: 'two default SystemConfigs', mutate: (c) => { sc(c).IsDefault = true; c.SystemConfigs.push({ ...structuredClone(sc(c)), Name: 'second' }); }, path: 'SystemConfigs[1].IsDefault', message: 'more than one SystemConfig has "IsDefault": true' },
  { name: 'two SystemConfigs with one name', mutate: (c) => { c.SystemConfigs.push(structuredClone(sc(c))); }, path: 'SystemConfigs[1].Name', message: 'SystemConfig name "base" is used twice', kind: 'kiln' },
  { name: 'host name with underscore', mutate: (c) => { sc(c).Hostname = 'kiln_test'; }, path: 'SystemConfigs[0].Hostname', message: '"kiln_test" is not a valid host name' },
  { name: 'no packages at all', mutate: (c) => { delete sc(c).PackageLists; delete sc(c).Packages; }, path: 'SystemConfigs[0]', message: 'no packages' },
  { name: 'disk image without default kernel', mutate: (c) => { sc(c).KernelOptions = { defualt: 'linux-image-amd64' }; }, path: 'SystemConfigs[0].KernelOptions', message: 'KernelOptions has no "default" key', hint: 'rename "defualt" to "default"' },
  { name: 'empty kernel option', mutate: (c) => { sc(c).KernelOptions.default = ' '; }, path: 'SystemConfigs[0].KernelOptions.default', message: 'kernel option "default" names no package' },
  { name: 'kernel option that is no kernel', mutate: (c) => { sc(c).KernelOptions.default = 'linux-headers-amd64'; }, path: 'SystemConfigs[0].KernelOptions.default', message: 'is not a known Debian kernel package', kind: 'advice' },
  { name: 'PartitionSetting for a missing partition', mutate: (c) => { sc(c).PartitionSettings[1].ID = 'rotfs'; }, path: 'SystemConfigs[0].PartitionSettings[1].ID', message: 'no partition has ID "rotfs"', hint: 'did you mean "rootfs"?' },
  { name: 'two PartitionSettings for one partition', mutate: (c) => { sc(c).PartitionSettings.push({ ID: 'rootfs', MountPoint: '/srv' }); }, path: 'SystemConfigs[0].PartitionSettings[2].ID', message: 'partition "rootfs" has two PartitionSettings', kind: 'kiln' },
  { name: 'relative mount point', mutate: (c) => { sc(c).PartitionSettings[0].MountPoint = 'boot/efi'; }, path: 'SystemConfigs[0].PartitionSettings[0].MountPoint', message: 'mount point "boot/efi" is not absolute', kind: 'kiln' },
  { name: 'duplicate mount point', mutate: (c) => { sc(c).PartitionSettings[0].MountPoint = '/'; }, path: 'SystemConfigs[0].PartitionSettings[1].MountPoint', message: 'mount point "/" is used twice' },
  { name: 'mounted swap', mutate: (c) => { disk(c).Partitions.push({ ID: 'swap', Start: 1500, End: 0, FsType: 'linux-swap' }); part(c, 1).End = 1500; sc(c).PartitionSettings.push({ ID: 'swap', MountPoint: '/swap' }); }, path: 'SystemConfigs[0].PartitionSettings[2].MountPoint', message: 'a swap partition is not mounted', kind: 'kiln' },
  { name: 'partlabel without a partition Name', mutate: (c) => { delete part(c, 1).Name; }, path: 'SystemConfigs[0].PartitionSettings[1].MountIdentifier', message: '"partlabel" needs a Name on partition "rootfs"' },
  { name: 'partlabel on MBR', mutate: (c) => { disk(c).PartitionTableType = 'mbr'; }, path: 'SystemConfigs[0].PartitionSettings[1].MountIdentifier', message: '"partlabel" needs a GPT disk' },
  { name: 'rdiff and overlay together', mutate: (c) => { Object.assign(sc(c).PartitionSettings[1], { RdiffBaseImage: 'a.ext4', OverlayBaseImage: 'b.ext4' }); }, path: 'SystemConfigs[0].PartitionSettings[1].OverlayBaseImage', message: 'RdiffBaseImage and OverlayBaseImage are alternatives', kind: 'kiln' },
  { name: 'disk image without PartitionSettings', mutate: (c) => { delete sc(c).PartitionSettings; }, path: 'SystemConfigs[0]', message: 'this SystemConfig has no PartitionSettings', kind: 'kiln' },
  { name: 'no root mount', mutate: (c) => { sc(c).PartitionSettings[1].MountPoint = '/data'; }, path: 'SystemConfigs[0].PartitionSettings', message: 'no partition is mounted at "/"', kind: 'kiln' },
  { name: 'ESP with legacy boot', mutate: (c) => { sc(c).BootType = 'legacy'; part(c, 0).Flags = ['esp', 'bios_grub']; }, path: 'Disks[0].Partitions[0].Flags', message: 'an "esp" partition needs "BootType": "efi"', kind: 'kiln' },
  { name: 'EFI boot without ESP', mutate: (c) => { part(c, 0).Flags = ['boot']; }, path: 'SystemConfigs[0].BootType', message: 'EFI boot needs an EFI system partition', kind: 'kiln' },
  { name: 'legacy boot on GPT without bios_grub', mutate: (c) => { toLegacy(c); part(c, 0).Flags = ['boot']; }, path: 'Disks[0].Partitions', message: 'needs a partition with the "bios_grub" (or "grub") flag', kind: 'kiln' },
  { name: 'backtick in ExtraCommandLine', mutate: (c) => { sc(c).KernelCommandLine.ExtraCommandLine = 'console=`id`'; }, path: 'SystemConfigs[0].KernelCommandLine.ExtraCommandLine', message: 'the "`" character is reserved' },
  { name: 'kickstart with partitions', mutate: (c) => { sc(c).IsKickStartBoot = true; }, path: 'SystemConfigs[0].PartitionSettings', message: 'must not define Disks or PartitionSettings' },
  { name: 'kickstart with Disks only', mutate: (c) => { sc(c).IsKickStartBoot = true; delete sc(c).PartitionSettings; delete disk(c).Partitions; }, path: 'Disks', message: 'must not define Disks or PartitionSettings' },
  { name: 'PreInstallScripts (never run)', mutate: (c) => { sc(c).PreInstallScripts = [{ Path: 'scripts/post.sh' }]; }, path: 'SystemConfigs[0].PreInstallScripts', message: 'PreInstallScripts are never run', kind: 'kiln' },
  { name: 'unsupported Debian release', mutate: (c) => { sc(c).Distro.Release = 'buster'; }, path: 'SystemConfigs[0].Distro.Release', message: '"buster" is not a supported debian release' },
];

const ACCOUNT_CASES: Case[] = [
  { name: 'invalid user name', mutate: (c) => { user(c).Name = 'Alice Smith'; }, path: 'SystemConfigs[0].Users[0].Name', message: '"Alice Smith" is not a valid user name', kind: 'kiln' },
  { name: 'duplicate user', mutate: (c) => { sc(c).Users.push({ Name: 'alice' }); }, path: 'SystemConfigs[0].Users[1].Name', message: 'user "alice" is defined twice', kind: 'kiln' },
  { name: 'UID out of range', mutate: (c) => { user(c).UID = '70000'; }, path: 'SystemConfigs[0].Users[0].UID', message: 'UID 70000 is out of range' },
  { name: 'root with non-zero UID', mutate: (c) => { sc(c).Users.push({ Name: 'root', UID: '5' }); }, path: 'SystemConfigs[0].Users[1].UID', message: 'root must have UID 0', kind: 'kiln' },
  { name: 'duplicate UID', mutate: (c) => { sc(c).Users.push({ Name: 'bob', UID: '1001' }); }, path: 'SystemConfigs[0].Users[1].UID', message: 'UID 1001 is already used by "alice"', kind: 'kiln' },
  { name: 'hashed password that is no hash', mutate: (c) => { user(c).PasswordHashed = true; }, path: 'SystemConfigs[0].Users[0].Password', message: 'Password is not a crypt(3) hash', kind: 'kiln' },
  { name: 'inline SSH key that is no key', mutate: (c) => { user(c).SSHPubKeys = ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake', 'AAAAC3NzaC1lZDI1NTE5AAAAIFake']; }, path: 'SystemConfigs[0].Users[0].SSHPubKeys[1]', message: 'is not an OpenSSH public key line', kind: 'kiln' },
  { name: 'relative home directory', mutate: (c) => { user(c).HomeDirectory = 'home/alice'; }, path: 'SystemConfigs[0].Users[0].HomeDirectory', message: 'home directory "home/alice" is not absolute', kind: 'kiln' },
  { name: 'duplicate group', mutate: (c) => { sc(c).Groups.push({ Name: 'devs' }); }, path: 'SystemConfigs[0].Groups[1].Name', message: 'group "devs" is defined twice', kind: 'kiln' },
  { name: 'GID out of range', mutate: (c) => { sc(c).Groups[0].GID = '60001'; }, path: 'SystemConfigs[0].Groups[0].GID', message: 'GID 60001 is out of range', kind: 'kiln' },
  { name: 'invalid group name', mutate: (c) => { sc(c).Groups[0].Name = '1devs'; }, path: 'SystemConfigs[0].Groups[0].Name', message: '"1devs" is not a valid group name', kind: 'kiln' },
];

const FILE_CASES: Case[] = [
  { name: 'missing script', mutate: (c) => { sc(c).PostInstallScripts[0].Path = 'scripts/nope.sh'; }, path: 'SystemConfigs[0].PostInstallScripts[0].Path', message: 'script "scripts/nope.sh" does not exist', kind: 'kiln' },
  { name: 'missing finalize script', mutate: (c) => { sc(c).FinalizeImageScripts[0].Path = 'nope.sh'; }, path: 'SystemConfigs[0].FinalizeImageScripts[0].Path', message: 'script "nope.sh" does not exist', hint: '--base-dir', kind: 'kiln' },
  { name: 'missing SSH key file', mutate: (c) => { user(c).SSHPubKeyPaths = ['keys/bob.pub']; }, path: 'SystemConfigs[0].Users[0].SSHPubKeyPaths[0]', message: 'SSH public key file "keys/bob.pub" does not exist', kind: 'kiln' },
  { name: 'missing repository keyring', mutate: (c) => { repo(c).SignedBy = 'keys/none.gpg'; }, path: 'SystemConfigs[0].PackageRepos[0].SignedBy', message: 'keyring "keys/none.gpg" does not exist' },
  { name: 'missing raw binary', mutate: (c) => { disk(c).RawBinaries = [{ BinPath: 'boot.bin', BlockSize: 512, Seek: 0 }]; }, path: 'Disks[0].RawBinaries[0].BinPath', message: 'raw binary "boot.bin" does not exist', kind: 'kiln' },
  { name: 'missing additional file', mutate: (c) => { sc(c).AdditionalFiles['files/none'] = '/etc/none'; }, path: 'SystemConfigs[0].AdditionalFiles["files/none"]', message: 'additional file "files/none" does not exist', kind: 'kiln' },
  { name: 'relative destination', mutate: (c) => { sc(c).AdditionalFiles['files/motd'] = 'etc/motd'; }, path: 'SystemConfigs[0].AdditionalFiles["files/motd"]', message: 'destination "etc/motd" is not an absolute path', hint: '"/etc/motd"', kind: 'kiln' },
  { name: 'destination escaping the root', mutate: (c) => { sc(c).AdditionalFiles['files/a.conf'][1].Path = '/etc/../../x'; }, path: 'SystemConfigs[0].AdditionalFiles["files/a.conf"][1].Path', message: 'contains ".." and could escape the image root' },
  { name: 'one destination from two sources', mutate: (c) => { sc(c).AdditionalFiles['files/motd'] = '/etc/a.conf'; }, path: 'SystemConfigs[0].AdditionalFiles["files/a.conf"][0]', message: 'destination "/etc/a.conf" is also written from "files/motd"', kind: 'kiln' },
  { name: 'missing package list', mutate: (c) => { sc(c).PackageLists.push('packagelists/none.json'); }, path: 'SystemConfigs[0].PackageLists[1]', message: 'package list "packagelists/none.json" does not exist' },
  { name: 'package list with a syntax error', mutate: (c) => { sc(c).PackageLists.push('packagelists/broken.json'); }, path: '', message: 'JSON syntax error', file: 'broken.json' },
  { name: 'package list with an unknown key', mutate: (c) => { sc(c).PackageLists.push('packagelists/unknown-key.json'); }, path: 'package', message: 'unknown field "package"', file: 'unknown-key.json', kind: 'kiln' },
];

const PACKAGE_CASES: Case[] = [
  { name: 'Debian kernel in Packages', mutate: (c) => { sc(c).Packages.push('linux-image-6.1.0-18-amd64'); }, path: 'SystemConfigs[0].Packages[1]', message: 'kernel package "linux-image-6.1.0-18-amd64" must not be in a package list', hint: 'KernelOptions' },
  { name: 'Debian kernel in a package list file', mutate: (c) => { sc(c).PackageLists.push('packagelists/with-kernel.json'); }, path: 'SystemConfigs[0].PackageLists[1]', message: 'kernel package "linux-image-amd64" must not be in a package list (PackageLists[1])' },
  { name: 'Debian SELinux without policy', mutate: (c) => { sc(c).KernelCommandLine.SELinux = 'enforcing'; }, path: 'SystemConfigs[0].KernelCommandLine.SELinux', message: 'the policy package "selinux-policy-default" is not in the package lists' },
  { name: 'SELinux with a custom policy not installed', mutate: (c) => { Object.assign(sc(c).KernelCommandLine, { SELinux: 'permissive', SELinuxPolicy: 'my-policy' }); sc(c).Packages.push('selinux-policy-default'); }, path: 'SystemConfigs[0].KernelCommandLine.SELinux', message: '"my-policy" is not in the package lists' },
  { name: 'FIPS on Debian', mutate: (c) => { sc(c).KernelCommandLine.EnableFIPS = true; }, path: 'SystemConfigs[0].KernelCommandLine.EnableFIPS', message: 'FIPS mode is not supported for Debian images' },
  { name: 'fips=1 on the Debian command line', mutate: (c) => { sc(c).KernelCommandLine.ExtraCommandLine = 'console=ttyS0 fips=1'; }, path: 'SystemConfigs[0].KernelCommandLine.ExtraCommandLine', message: 'FIPS mode is not supported for Debian images' },
  { name: 'RPM kernel in Packages', mutate: (c) => { asRpm(c); sc(c).Packages.push('kernel'); }, path: 'SystemConfigs[0].Packages[1]', message: 'kernel package "kernel" must not be in a package list' },
  { name: 'RPM FIPS without dracut-fips', mutate: (c) => { asRpm(c); sc(c).KernelCommandLine.ExtraCommandLine = 'fips=1'; }, path: 'SystemConfigs[0].KernelCommandLine.ExtraCommandLine', message: 'FIPS mode is requested but "dracut-fips" is not in the package lists' },
  { name: 'RPM EnableFIPS without dracut-fips', mutate: (c) => { asRpm(c); sc(c).KernelCommandLine.EnableFIPS = true; }, path: 'SystemConfigs[0].KernelCommandLine.EnableFIPS', message: '"dracut-fips" is not in the package lists' },
  { name: 'RPM SELinux without selinux-policy', mutate: (c) => { asRpm(c); sc(c).KernelCommandLine.SELinux = 'force_enforcing'; }, path: 'SystemConfigs[0].KernelCommandLine.SELinux', message: 'the policy package "selinux-policy" is not in the package lists' },
  { name: 'RPM users without shadow-utils', mutate: (c) => { asRpm(c); sc(c).PackageLists = []; }, path: 'SystemConfigs[0].Users', message: 'Users and Groups need "shadow-utils"' },
  { name: 'RPM groups without shadow-utils', mutate: (c) => { asRpm(c); sc(c).PackageLists = []; delete sc(c).Users; }, path: 'SystemConfigs[0].Groups', message: 'Users and Groups need "shadow-utils"' },
  { name: 'RPM kernel option that is a Debian kernel', mutate: (c) => { asRpm(c); sc(c).KernelOptions.default = 'linux-image-amd64'; }, path: 'SystemConfigs[0].KernelOptions.default', message: 'is not a known RPM kernel package', kind: 'advice' },
];

const NETWORK_CASES: Case[] = [
  { name: 'invalid IP', mutate: (c) => { net(c).Ip = '192.168.1.300'; }, path: 'SystemConfigs[0].Networks[0].Ip', message: '"192.168.1.300" is not an IP address' },
  { name: 'invalid gateway', mutate: (c) => { net(c).GateWay = 'router'; }, path: 'SystemConfigs[0].Networks[0].GateWay', message: '"router" is not an IP address' },
  { name: 'invalid name server', mutate: (c) => { net(c).NameServers = ['1.1.1.1', 'dns.example']; }, path: 'SystemConfigs[0].Networks[0].NameServers[1]', message: '"dns.example" is not an IP address' },
  { name: 'invalid netmask', mutate: (c) => { net(c).NetMask = '255.0.255.0'; }, path: 'SystemConfigs[0].Networks[0].NetMask', message: '"255.0.255.0" is not a netmask', kind: 'kiln' },
  { name: 'static network without Ip', mutate: (c) => { delete net(c).Ip; }, path: 'SystemConfigs[0].Networks[0].Ip', message: 'a "static" network needs an Ip' },
  { name: 'invalid interface name', mutate: (c) => { net(c).Device = 'eth 0'; }, path: 'SystemConfigs[0].Networks[0].Device', message: '"eth 0" is not a valid interface name', kind: 'kiln' },
  { name: 'duplicate repository name', mutate: (c) => { sc(c).PackageRepos.push({ ...repo(c) }); }, path: 'SystemConfigs[0].PackageRepos[1].Name', message: 'repository name "debian" is used twice' },
  { name: 'repository BaseUrl not a URL', mutate: (c) => { repo(c).BaseUrl = 'deb.debian.org/debian'; }, path: 'SystemConfigs[0].PackageRepos[0].BaseUrl', message: 'is not a repository URL' },
  { name: 'Debian repository without Suite', mutate: (c) => { delete repo(c).Suite; }, path: 'SystemConfigs[0].PackageRepos[0]', message: 'a Debian repository needs a Suite' },
  { name: 'Debian repository with GPGKeys', mutate: (c) => { repo(c).GPGKeys = 'file:///k'; }, path: 'SystemConfigs[0].PackageRepos[0].GPGKeys', message: 'GPGKeys is for RPM repositories' },
  { name: 'RPM repository with a Debian Suite', mutate: (c) => { asRpm(c); repo(c).Suite = 'bookworm'; }, path: 'SystemConfigs[0].PackageRepos[0].Suite', message: '"Suite" describes Debian repositories' },
];

const ALL = [...SCHEMA_CASES, ...LAYOUT_CASES, ...SYSTEM_CASES, ...ACCOUNT_CASES, ...FILE_CASES, ...PACKAGE_CASES, ...NETWORK_CASES];

describe('invalid configs (one broken rule each)', () => {
  it('the base config they derive from is valid, without warnings', () => {
    expect(validateObject(baseConfig()).findings).toEqual([]);
  });

  it('has at least 80 cases with unique names', () => {
    expect(ALL.length).toBeGreaterThanOrEqual(80);
    expect(new Set(ALL.map((c) => c.name)).size).toBe(ALL.length);
  });

  it.each(ALL.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const config = baseConfig();
    c.mutate(config);
    const result = validateObject(config);
    const match = result.findings.find((f) => f.path === c.path && f.message.includes(c.message));
    expect(match, `findings were:\n${result.findings.map((f) => `${f.path}: ${f.message}`).join('\n')}`).toBeDefined();
    const kind = c.kind ?? 'error';
    expect(match!.severity).toBe(kind === 'error' ? 'error' : 'warning');
    expect(blocksBuild(match!)).toBe(kind !== 'advice');
    expect(result.valid, `errors: ${result.findings.filter((f) => f.severity === 'error').map((f) => `${f.path}: ${f.message}`).join('; ')}`).toBe(kind !== 'error');
    if (kind === 'kiln') expect(buildBlockers(result)).toContainEqual(match);
    if (kind !== 'error') {
      // --strict: every warning is an error
      const strict = validateConfigText(JSON.stringify(config, null, 2), BASE_FILE, { strict: true });
      expect(strict.valid).toBe(false);
      expect(strict.findings.find((f) => f.path === c.path && f.message.includes(c.message))?.severity).toBe('error');
    }
    if (c.hint) expect(match!.hint).toContain(c.hint);
    expect(match!.file.endsWith(c.file ?? 'base.json')).toBe(true);
    expect(match!.line).toBeGreaterThan(0);
    expect(match!.column).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from 'vitest';
import { renderFstab, fstabSource } from '../../../src/system/render/fstab.js';
import { renderHostname, renderHosts } from '../../../src/system/render/hosts.js';
import { netmaskToPrefix, renderNetworkUnit, renderNetworkUnits } from '../../../src/system/render/networkd.js';
import { kernelCommandLine } from '../../../src/system/render/cmdline.js';
import { splitArgs } from '../../../src/system/render/args.js';
import type { BuiltDisk, BuiltPartition } from '../../../src/system/types.js';
import type { SystemConfig } from '../../../src/config/model.js';

const esp: BuiltPartition = { id: 'boot', partuuid: 'p-esp', fsuuid: 'ABCD-EF01', fsType: 'fat32', mountPoint: '/boot/efi', mountOptions: 'umask=0077', mountIdentifier: 'partuuid' };
const root: BuiltPartition = { id: 'rootfs', partuuid: 'p-root', fsuuid: 'u-root', partlabel: 'rootlabel', fsType: 'ext4', mountPoint: '/', mountIdentifier: 'partuuid' };
const disk = (...partitions: BuiltPartition[]): BuiltDisk => ({ tableType: 'gpt', diskId: 'd', partitions });
const body = (fstab: string) => fstab.split('\n').filter((l) => l && !l.startsWith('#'));

describe('fstab', () => {
  it('lists partitions by PARTUUID by default, root first with pass 1, MountOptions kept', () => {
    expect(body(renderFstab(disk(esp, root)))).toEqual([
      'PARTUUID=p-root\t/\text4\tdefaults\t0\t1',
      'PARTUUID=p-esp\t/boot/efi\tvfat\tumask=0077\t0\t2',
    ]);
  });
  it('uses UUID or PARTLABEL when the PartitionSetting asks', () => {
    expect(fstabSource({ ...root, mountIdentifier: 'uuid' })).toBe('UUID=u-root');
    expect(fstabSource({ ...root, partuuid: 'A1B2-C3' })).toBe('PARTUUID=a1b2-c3');
    expect(fstabSource({ ...root, mountIdentifier: 'partlabel' })).toBe('PARTLABEL=rootlabel');
    expect(fstabSource({ ...esp, mountIdentifier: 'uuid' })).toBe('UUID=ABCD-EF01');
  });
  it('fails clearly when the identifier is missing (partlabel without a Name)', () => {
    expect(() => fstabSource({ ...esp, mountIdentifier: 'partlabel' })).toThrow(/partition 'boot'.*partlabel.*Name/);
  });
  it('mounts parents before children whatever the config order', () => {
    const varp: BuiltPartition = { ...root, id: 'var', partuuid: 'p-var', mountPoint: '/var', fsType: 'xfs' };
    const log: BuiltPartition = { ...root, id: 'log', partuuid: 'p-log', mountPoint: '/var/log', fsType: 'ext3' };
    expect(body(renderFstab(disk(log, esp, varp, root))).map((l) => l.split('\t')[1])).toEqual(['/', '/var', '/boot/efi', '/var/log']);
  });
  it('adds swap with mount point none, and /proc with hidepid=2 only when asked', () => {
    const swap: BuiltPartition = { id: 'swap', partuuid: 'p-swap', fsType: 'linux-swap', mountIdentifier: 'partuuid' };
    const lines = body(renderFstab(disk(root, swap), { hidepid: true }));
    expect(lines).toContain('PARTUUID=p-swap\tnone\tswap\tsw\t0\t0');
    expect(lines.at(-1)).toBe('proc\t/proc\tproc\trw,nosuid,nodev,noexec,relatime,hidepid=2\t0\t0');
    expect(renderFstab(disk(root))).not.toMatch(/hidepid/);
  });
  it('skips partitions without a mount point', () => {
    expect(body(renderFstab(disk(root, { ...esp, mountPoint: undefined })))).toHaveLength(1);
  });
});

describe('hostname and hosts', () => {
  it('maps the host name (and its short form) to 127.0.1.1, Debian style', () => {
    expect(renderHostname('web1')).toBe('web1\n');
    expect(renderHosts('web1')).toMatch(/^127\.0\.0\.1\tlocalhost\n127\.0\.1\.1\tweb1\n/);
    expect(renderHosts('web1.example.com')).toContain('127.0.1.1\tweb1.example.com web1\n');
    expect(renderHosts('localhost')).not.toContain('127.0.1.1');
  });
});

describe('systemd-networkd units', () => {
  it('renders DHCP with DNS for a named device', () => {
    const u = renderNetworkUnit({ BootProto: 'dhcp', Device: 'eth0', NameServers: ['192.0.2.53'] }, 0);
    expect(u.file).toBe('10-kiln-eth0.network');
    expect(u.text).toContain('[Match]\nName=eth0\n');
    expect(u.text).toContain('[Network]\nDHCP=ipv4\nDNS=192.0.2.53\n');
    expect(u.text).not.toContain('ActivationPolicy');
  });
  it('renders a static address with prefix from the netmask, gateway, and OnBoot false as manual activation', () => {
    const u = renderNetworkUnit({ BootProto: 'static', Device: 'eth1', Ip: '10.1.2.3', NetMask: '255.255.0.0', GateWay: '10.1.0.1', OnBoot: false }, 1);
    expect(u.file).toBe('11-kiln-eth1.network');
    expect(u.text).toContain('Address=10.1.2.3/16\nGateway=10.1.0.1\n');
    expect(u.text).toContain('[Link]\nActivationPolicy=manual\n');
  });
  it('matches every wired interface when no Device is given; keeps the config order in file names', () => {
    const units = renderNetworkUnits([{ BootProto: 'dhcp' }, { BootProto: 'dhcp', Device: 'ens3' }]);
    expect(units.map((u) => u.file)).toEqual(['10-kiln-wired.network', '11-kiln-ens3.network']);
    expect(units[0]!.text).toContain('Name=en* eth*');
  });
  it('converts netmasks and rejects non-contiguous ones', () => {
    expect(netmaskToPrefix('255.255.255.0')).toBe(24);
    expect(netmaskToPrefix('255.255.255.255')).toBe(32);
    expect(netmaskToPrefix('0.0.0.0')).toBe(0);
    expect(netmaskToPrefix('20')).toBe(20);
    expect(() => netmaskToPrefix('255.0.255.0')).toThrow(/not a netmask/);
  });
  it('names the entry and key in errors', () => {
    expect(() => renderNetworkUnit({ BootProto: 'static' }, 2)).toThrow(/Networks\[2\]\.Ip: .*needs an Ip/);
    expect(() => renderNetworkUnit({ BootProto: 'dhcp', NameServers: ['nope'] }, 0)).toThrow(/Networks\[0\]\.NameServers\[0\]/);
    expect(() => renderNetworkUnit({ BootProto: 'ibft' as 'dhcp' }, 0)).toThrow(/Networks\[0\]\.BootProto/);
  });
});

describe('kernel command line', () => {
  const sc = (k: SystemConfig['KernelCommandLine']): SystemConfig => ({ Name: 't', KernelCommandLine: k });
  it('puts root by PARTUUID first, the base options next, ExtraCommandLine last', () => {
    expect(kernelCommandLine(sc({ ExtraCommandLine: 'a=1 b="c d"', CGroup: 'version_two' }), { rootPartuuid: 'P', base: ['ro', 'console=ttyS0'] })).toBe(
      'root=PARTUUID=P ro console=ttyS0 systemd.unified_cgroup_hierarchy=1 a=1 b="c d"',
    );
  });
  it('renders SELinux, FIPS (with boot= for a separate /boot), IMA and cgroup v1', () => {
    const line = kernelCommandLine(sc({ SELinux: 'force_enforcing', EnableFIPS: true, ImaPolicy: ['tcb', 'appraise_tcb'], CGroup: 'version_one' }), { bootPartuuid: 'B' });
    expect(line.split(' ')).toEqual([
      'security=selinux',
      'selinux=1',
      'enforcing=1',
      'fips=1',
      'ima_policy=tcb|appraise_tcb',
      'systemd.unified_cgroup_hierarchy=0',
      'boot=PARTUUID=B',
    ]);
    expect(kernelCommandLine(sc({ SELinux: 'permissive' }))).toBe('security=selinux selinux=1');
  });
  it('is empty for an empty config and rejects the reserved backquote', () => {
    expect(kernelCommandLine({ Name: 'x' })).toBe('');
    expect(() => kernelCommandLine(sc({ ExtraCommandLine: 'a=`id`' }))).toThrow(/reserved/);
  });
});

describe('script Args splitting', () => {
  it('splits like a shell, without expansion', () => {
    expect(splitArgs(`--mark 'post install' "two words" plain`)).toEqual(['--mark', 'post install', 'two words', 'plain']);
    expect(splitArgs(`a\\ b "x\\"y" '$HOME' "" c`)).toEqual(['a b', 'x"y', '$HOME', '', 'c']);
    expect(splitArgs('  ')).toEqual([]);
    expect(splitArgs('--out=/a"b c"')).toEqual(['--out=/ab c']);
  });
  it('rejects unterminated quotes', () => {
    expect(() => splitArgs(`'oops`)).toThrow(/unterminated single quote/);
    expect(() => splitArgs(`"oops`)).toThrow(/unterminated double quote/);
  });
});

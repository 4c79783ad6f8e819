import { describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/model.js';
import { efiImageMiB } from '../../../src/iso/efi-image.js';
import { packagesIndexLines } from '../../../src/iso/debian-suite.js';
import { grubMenu, growsLastPartition, imagePathFor, installManifest, installMounts, xorrisoArgs } from '../../../src/iso/layout.js';
import { isoFileName, wantsIso } from '../../../src/iso/isomaker.js';

const config: Config = {
  Disks: [
    {
      PartitionTableType: 'gpt',
      MaxSize: 4096,
      TargetDisk: { Type: 'path', Value: '/dev/vda' },
      Partitions: [
        { ID: 'esp', Start: 1, End: 9, FsType: 'fat32', Flags: ['esp'] },
        { ID: 'boot', Start: 9, End: 300, FsType: 'ext4' },
        { ID: 'swap', Start: 300, End: 400, FsType: 'linux-swap' },
        { ID: 'root', Start: 400, End: 0, FsType: 'ext4' },
      ],
    },
  ],
  SystemConfigs: [
    {
      Name: 'Core EFI',
      Hostname: 'kiln-core',
      PartitionSettings: [
        { ID: 'esp', MountPoint: '/boot/efi' },
        { ID: 'boot', MountPoint: '/boot' },
        { ID: 'swap', MountPoint: '' },
        { ID: 'root', MountPoint: '/' },
      ],
    },
  ],
};

describe('ISO layout', () => {
  it('mounts the installed root first, skips swap and unmounted partitions, numbers by table order', () => {
    expect(installMounts(config, config.SystemConfigs[0]!)).toEqual([
      { partition: 4, mountPoint: '/', fsType: 'ext4' },
      { partition: 2, mountPoint: '/boot', fsType: 'ext4' },
      { partition: 1, mountPoint: '/boot/efi', fsType: 'vfat' },
    ]);
  });

  it('grows the last partition for End 0 or Grow, not for a fixed End', () => {
    expect(growsLastPartition(config)).toBe(true);
    const fixed: Config = { ...config, Disks: [{ ...config.Disks![0]!, Partitions: [{ ID: 'root', Start: 1, End: 100, FsType: 'ext4' }] }] };
    expect(growsLastPartition(fixed)).toBe(false);
    const grow: Config = { ...config, Disks: [{ ...config.Disks![0]!, Partitions: [{ ID: 'root', Start: 1, End: 100, FsType: 'ext4', Grow: true }] }] };
    expect(growsLastPartition(grow)).toBe(true);
  });

  it('marks an encrypted root sealed (not mounted, grown in 4 KiB sectors); a verity root and its hash never grow', () => {
    const sc = { ...config.SystemConfigs[0]!, Encryption: { Enable: true, Password: 'p' } };
    expect(installMounts(config, sc)[0]).toEqual({ partition: 4, mountPoint: '/', fsType: 'ext4', sealed: 'luks' });
    const m = installManifest('x', config, [{ sc, imageBytes: 1, dataBytes: 1 }]);
    expect(m.systems[0]).toMatchObject({ sealedRoot: 'luks', growLastPartition: true });
    const v = { ...config.SystemConfigs[0]!, Verity: { Enable: true, HashPartition: 'swap' } };
    expect(installMounts(config, v)[0]!.sealed).toBe('verity');
    expect(growsLastPartition(config, v)).toBe(false);
    expect(installManifest('x', config, [{ sc: v, imageBytes: 1, dataBytes: 1 }]).systems[0]).toMatchObject({ sealedRoot: 'verity', growLastPartition: false });
    expect(installManifest('x', config, [{ sc: config.SystemConfigs[0]!, imageBytes: 1, dataBytes: 1 }]).systems[0]!.sealedRoot).toBeUndefined();
  });

  it('writes a manifest that makes a one-system TargetDisk config unattended', () => {
    const m = installManifest('core-efi-unattended', config, [{ sc: config.SystemConfigs[0]!, imageBytes: 4 << 30, dataBytes: 900 << 20 }]);
    expect(m).toMatchObject({ version: 1, configName: 'core-efi-unattended', targetDisk: '/dev/vda' });
    expect(m.systems[0]).toMatchObject({ name: 'Core EFI', image: 'kiln/images/1-core-efi.qcow2', hostname: 'kiln-core', tableType: 'gpt', growLastPartition: true });
    expect(imagePathFor({ Name: '  Azure Linux/Full!' }, 1)).toBe('kiln/images/2-azure-linux-full.qcow2');
  });

  it('knows which configs ask for an ISO and how the ISO is named', () => {
    expect(wantsIso(config)).toBe(true);
    const attended: Config = { Disks: [{ Artifacts: [{ Name: 'kiln-full', Type: 'iso' }] }], SystemConfigs: [{ Name: 'a' }, { Name: 'b' }] };
    expect(wantsIso(attended)).toBe(true);
    expect(wantsIso({ Disks: [{ Artifacts: [{ Name: 'core', Type: 'vhdx' }] }], SystemConfigs: [{ Name: 'a' }] })).toBe(false);
    expect(isoFileName({ file: '/x/full.json', baseDir: '/x', name: 'full', config: attended })).toBe('kiln-full.iso');
    expect(isoFileName({ file: '/x/core.json', baseDir: '/x', name: 'core', config })).toBe('core.iso');
  });

  it('boots the installer with serial console and the after-install action; offers the other action and attended mode', () => {
    const menu = grubMenu('core', true, 'reboot');
    expect(menu).toContain('linux /kiln/vmlinuz console=tty0 console=ttyS0,115200 loglevel=3 kiln.after=reboot\n');
    expect(menu).toContain('kiln.after=poweroff');
    expect(menu).toContain('kiln.attended');
    expect(menu).toContain('initrd /kiln/initrd.img');
    expect(menu).toContain('terminal_input console serial');
    expect(grubMenu('full', false, 'poweroff')).not.toContain('kiln.attended');
  });

  it('asks xorriso for BIOS El Torito, an EFI entry from the appended ESP and a hybrid MBR', () => {
    const a = xorrisoArgs({ staging: '/s', output: '/o.iso', efiImage: '/e.img', hybridMbr: '/mbr.img' });
    expect(a.slice(0, 2)).toEqual(['-as', 'mkisofs']);
    expect(a).toContain('KILN_INSTALL');
    expect(a.join(' ')).toContain('-b boot/grub/i386-pc/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info');
    expect(a.join(' ')).toContain('-append_partition 2 0xEF /e.img');
    expect(a.join(' ')).toContain('-eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot');
    expect(a.join(' ')).toContain('--grub2-mbr /mbr.img');
    expect(a[a.length - 1]).toBe('/s');
  });

  it('sizes the EFI image with room to spare', () => {
    expect(efiImageMiB(300 * 1024)).toBe(4);
    expect(efiImageMiB(5.5 * 1024 * 1024)).toBe(8);
  });

  it('fingerprints only the main/amd64 Packages indexes of an InRelease file', () => {
    const inRelease = ['Origin: Debian', 'Date: Sat, 01 Nov 2025', 'MD5Sum:', ' aaa 1 main/binary-amd64/Packages', 'SHA256:', ' 111 100 contrib/binary-amd64/Packages', ' 222 200 main/binary-amd64/Packages', ' 333 50 main/binary-amd64/Packages.xz', ' 444 9 main/binary-arm64/Packages.xz', ''].join('\n');
    expect(packagesIndexLines(inRelease)).toEqual(['222 200 main/binary-amd64/Packages', '333 50 main/binary-amd64/Packages.xz']);
  });
});

describe('the config copy on the ISO', () => {
  it('keeps an encrypted root enabled but drops every Encryption.Password (JSON and YAML)', async () => {
    const { sanitizedConfigText } = await import('../../../src/iso/config-copy.js');
    const json = '{\n  // comment\n  "SystemConfigs": [\n    { "Name": "a", "Encryption": { "Enable": true, "Password": "s3cret-pass" } },\n    { "Name": "b" }\n  ]\n}\n';
    const outJson = await sanitizedConfigText(json, 'c.json');
    expect(outJson).not.toContain('s3cret-pass');
    expect(JSON.parse(outJson)).toEqual({ SystemConfigs: [{ Name: 'a', Encryption: { Enable: true } }, { Name: 'b' }] });
    const yaml = 'SystemConfigs:\n  - Name: a\n    Encryption:\n      Enable: true\n      Password: s3cret-pass\n';
    const outYaml = await sanitizedConfigText(yaml, 'c.yaml');
    expect(outYaml).not.toContain('s3cret-pass');
    expect(outYaml).toMatch(/Enable: true/);
  });
});

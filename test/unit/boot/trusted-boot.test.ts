/**
 * The boot side of trusted boot, pure parts: the boot chain a config asks for, the UKI's section
 * placement (a synthetic PE32+ stub) and objcopy arguments, the kernel options of device layers,
 * the root= spec, systemd-boot's loader.conf, encrypted signing keys, and the packages each chain adds.
 */
import { describe, expect, it } from 'vitest';
import { bootChain, usesUki } from '../../../src/boot/chain.js';
import { layerKernelArgs, rootDeviceSpec } from '../../../src/boot/layer-args.js';
import { isEncryptedPem } from '../../../src/boot/sign.js';
import { loaderConf, ukiEspPath } from '../../../src/boot/systemd-boot.js';
import { readPeLayout, ukiObjcopyArgs } from '../../../src/boot/uki.js';
import { pinRoot } from '../../../src/boot/grubcfg.js';
import { debian } from '../../../src/distro/catalog/debian.js';
import { azurelinux } from '../../../src/distro/catalog/azurelinux.js';
import { implicitPackages } from '../../../src/distro/common.js';
import type { SystemConfig } from '../../../src/config/model.js';

const sc = (over: Partial<SystemConfig> = {}): SystemConfig => ({ Name: 's', BootType: 'efi', ...over });

describe('boot chain', () => {
  it('grub by default; shim when listed or when Secure Boot has no keys of its own', () => {
    expect(bootChain(sc(), debian, [])).toEqual({ loader: 'grub', shim: false, secureBoot: false });
    expect(bootChain(sc(), debian, ['shim-signed']).shim).toBe(true);
    expect(bootChain(sc({ SecureBoot: { Enable: true } }), debian, [])).toEqual({ loader: 'grub', shim: true, secureBoot: true });
  });
  it('a UKI with keys is signed by Kiln and has no shim', () => {
    const c = bootChain(sc({ BootLoader: 'uki', SecureBoot: { Enable: true, SigningKey: '/k', SigningCertificate: '/c' } }), debian, ['shim-signed']);
    expect(c).toEqual({ loader: 'uki', shim: false, secureBoot: true, signing: { key: '/k', cert: '/c' } });
    expect(usesUki('uki') && usesUki('systemd-boot') && !usesUki('grub')).toBe(true);
  });
  it('implicit packages follow the chain and the layers', () => {
    const pkgs = (s: SystemConfig, d = debian) => implicitPackages(d, { sc: s, boot: 'efi', kernel: d.rules.defaultKernel, packages: [] });
    expect(pkgs(sc())).toContain('grub-efi-amd64-bin');
    expect(pkgs(sc({ SecureBoot: { Enable: true } }))).toEqual(expect.arrayContaining(['shim-signed', 'grub-efi-amd64-signed']));
    const uki = pkgs(sc({ BootLoader: 'systemd-boot' }));
    expect(uki).toContain('systemd-boot-efi');
    expect(uki).not.toContain('grub-efi-amd64-bin');
    expect(pkgs(sc({ Encryption: { Enable: true, Password: 'x' } }))).toEqual(expect.arrayContaining(['cryptsetup-initramfs', 'busybox']));
    expect(pkgs(sc({ Verity: { Enable: true, HashPartition: 'h' } }))).toContain('cryptsetup-bin');
    expect(pkgs(sc({ BootLoader: 'uki', Encryption: { Enable: true, Password: 'x' } }), azurelinux)).toEqual(expect.arrayContaining(['systemd-boot', 'cryptsetup', 'dracut']));
  });
});

/** A minimal PE32+ image: DOS header, PE signature, COFF header, optional header, two sections. */
function syntheticStub(): Buffer {
  const b = Buffer.alloc(0x400);
  b.writeUInt16LE(0x5a4d, 0);
  b.writeUInt32LE(0x80, 0x3c);
  b.writeUInt32LE(0x00004550, 0x80);
  const coff = 0x84;
  b.writeUInt16LE(0x8664, coff);
  b.writeUInt16LE(2, coff + 2);
  b.writeUInt16LE(240, coff + 16);
  const opt = coff + 20;
  b.writeUInt16LE(0x20b, opt);
  b.writeBigUInt64LE(0x10000000n, opt + 24);
  b.writeUInt32LE(0x1000, opt + 32);
  const sections = opt + 240;
  const sect = (i: number, name: string, vsize: number, rva: number, raw: number) => {
    const at = sections + i * 40;
    b.write(name, at, 'latin1');
    b.writeUInt32LE(vsize, at + 8);
    b.writeUInt32LE(rva, at + 12);
    b.writeUInt32LE(raw, at + 16);
  };
  sect(0, '.text', 0x2345, 0x1000, 0x2400);
  sect(1, '.data', 0x100, 0x4000, 0x200);
  return b;
}

describe('unified kernel image', () => {
  it('reads the stub\'s image base, alignment and where its sections end', () => {
    const l = readPeLayout(syntheticStub());
    expect(l.imageBase).toBe(0x10000000n);
    expect(l.sectionAlignment).toBe(0x1000);
    expect(l.sections.map((s) => s.name)).toEqual(['.text', '.data']);
    expect(l.endRva).toBe(0x4200);
    expect(() => readPeLayout(Buffer.alloc(64))).toThrow(/not a PE/);
  });
  it('places .osrel, .cmdline, .linux, .initrd one after another on aligned addresses above the stub', () => {
    const args = ukiObjcopyArgs(readPeLayout(syntheticStub()), [
      { name: '.osrel', file: 'o', size: 300 },
      { name: '.cmdline', file: 'c', size: 0x1001 },
      { name: '.linux', file: 'l', size: 8_000_000 },
      { name: '.initrd', file: 'i', size: 10 },
    ], 'stub.efi', 'out.efi');
    expect(args).toEqual([
      '--add-section', '.osrel=o', '--change-section-vma', '.osrel=0x10005000',
      '--add-section', '.cmdline=c', '--change-section-vma', '.cmdline=0x10006000',
      '--add-section', '.linux=l', '--change-section-vma', '.linux=0x10008000',
      '--add-section', '.initrd=i', '--change-section-vma', `.initrd=0x${(0x10008000 + Math.ceil(8_000_000 / 0x1000) * 0x1000).toString(16)}`,
      'stub.efi', 'out.efi',
    ]);
  });
  it('systemd-boot finds the UKI in EFI/Linux and boots it at once', () => {
    expect(ukiEspPath('debian', '6.1.0-1-amd64')).toBe('EFI/Linux/debian-6.1.0-1-amd64.efi');
    expect(loaderConf()).toMatch(/^timeout 0$/m);
  });
});

describe('kernel options of device layers, root=', () => {
  const luks = { kind: 'luks' as const, name: 'root', uuid: 'u-1' };
  const verity = { kind: 'verity' as const, name: 'root', dataUuid: 'd-1', hashUuid: 'h-1', rootHash: 'ab'.repeat(32), corruption: 'error' as const };
  it('LUKS: nothing for initramfs-tools (its crypttab), rd.luks.name for dracut', () => {
    expect(layerKernelArgs([luks], 'initramfs-tools')).toEqual([]);
    expect(layerKernelArgs([luks], 'dracut')).toEqual(['rd.luks.name=u-1=root']);
  });
  it('verity: systemd\'s options, the corruption action, and no second setup by the main system under initramfs-tools', () => {
    expect(layerKernelArgs([verity], 'dracut')).toEqual([`roothash=${'ab'.repeat(32)}`, 'systemd.verity_root_data=UUID=d-1', 'systemd.verity_root_hash=UUID=h-1']);
    expect(layerKernelArgs([{ ...verity, corruption: 'panic' }], 'initramfs-tools')).toEqual([`roothash=${'ab'.repeat(32)}`, 'systemd.verity_root_data=UUID=d-1', 'systemd.verity_root_hash=UUID=h-1', 'systemd.verity_root_options=panic-on-corruption', 'systemd.verity=0']);
    const { rootHash: _r, ...unsealed } = verity;
    expect(() => layerKernelArgs([unsealed], 'dracut')).toThrow(/before the root is sealed/);
  });
  it('root= is the mapper node of a layered root, else the PARTUUID (grub) or the filesystem UUID (UKI)', () => {
    expect(rootDeviceSpec({ mapperName: 'root', partuuid: 'p', fsuuid: 'f' }, 'partuuid')).toBe('/dev/mapper/root');
    expect(rootDeviceSpec({ partuuid: 'p', fsuuid: 'f' }, 'partuuid')).toBe('PARTUUID=p');
    expect(rootDeviceSpec({ partuuid: 'p', fsuuid: 'f' }, 'uuid')).toBe('UUID=f');
    expect(pinRoot('linux /vmlinuz root=/dev/loop5 ro quiet\n', '/dev/mapper/root').text).toBe('linux /vmlinuz root=/dev/mapper/root ro quiet\n');
  });
});

describe('signing keys', () => {
  it('tells passphrase-protected PEM keys apart', () => {
    expect(isEncryptedPem('-----BEGIN ENCRYPTED PRIVATE KEY-----\n')).toBe(true);
    expect(isEncryptedPem('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n')).toBe(true);
    expect(isEncryptedPem('-----BEGIN PRIVATE KEY-----\n')).toBe(false);
  });
});

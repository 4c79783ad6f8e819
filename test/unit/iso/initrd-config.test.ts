import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inputsHash, readInitrdConfig } from '../../../src/iso/installer-boot.js';
import { candidateFiles } from '../../../src/installer/install.js';

describe('installer initrd config (resources/installer/iso-initrd.json)', () => {
  it('names a kernel, the installer tools, /init and the installer bundle; its files exist', () => {
    const cfg = readInitrdConfig();
    expect(cfg.kernel).toBe('linux-image-amd64');
    for (const p of ['nodejs', 'util-linux', 'fdisk', 'e2fsprogs', 'qemu-utils', 'kmod']) expect(cfg.packages).toContain(p);
    const dests = cfg.files.map((f) => f.destination);
    expect(dests).toEqual(expect.arrayContaining(['/init', '/etc/kiln/modules', '/installer/kiln-installer.js']));
    expect(cfg.files.find((f) => f.destination === '/init')?.mode).toBe(0o755);
    for (const f of cfg.files.filter((f) => !f.source.includes('/dist/'))) expect(existsSync(f.source), f.source).toBe(true);
    for (const s of cfg.scripts) expect(existsSync(s), s).toBe(true);
    // every input is hashed into the cache key
    expect(cfg.inputs.length).toBe(1 + 1 + cfg.files.length + cfg.scripts.length);
  });
});

describe('files the installer rewrites', () => {
  it('finds fstab, grub configs under /boot (ESP included), grub defaults and loader entries', () => {
    const root = mkdtempSync(join(tmpdir(), 'kiln-target-'));
    const touch = (p: string) => {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), 'x');
    };
    for (const p of ['etc/fstab', 'etc/default/grub', 'etc/default/grub.d/kiln.cfg', 'boot/grub/grub.cfg', 'boot/efi/EFI/debian/grub.cfg', 'boot/loader/entries/a.conf', 'boot/grub/fonts/unicode.pf2', 'etc/passwd'])
      touch(p);
    const found = candidateFiles(root).map((f) => f.slice(root.length + 1)).sort();
    expect(found).toEqual(['boot/efi/EFI/debian/grub.cfg', 'boot/grub/grub.cfg', 'boot/loader/entries/a.conf', 'etc/default/grub', 'etc/default/grub.d/kiln.cfg', 'etc/fstab']);
  });
});

describe('installer initrd cache key', () => {
  it('is stable for equal inputs and changes with any file the config names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-initrd-cfg-'));
    mkdirSync(join(dir, 'packagelists'));
    writeFileSync(join(dir, 'packagelists/p.json'), JSON.stringify({ packages: ['zstd'] }));
    writeFileSync(join(dir, 'init'), '#!/bin/sh\n');
    writeFileSync(join(dir, 'slim.sh'), 'true\n');
    const config = {
      SystemConfigs: [
        {
          Name: 'x',
          PackageLists: ['packagelists/p.json'],
          KernelOptions: { default: 'linux-image-amd64' },
          AdditionalFiles: { init: { Path: '/init', Permissions: '755' } },
          PostInstallScripts: [{ Path: 'slim.sh' }],
        },
      ],
    };
    writeFileSync(join(dir, 'c.json'), JSON.stringify(config));
    const key = () => inputsHash(readInitrdConfig(join(dir, 'c.json')));
    const first = key();
    expect(key()).toBe(first);
    writeFileSync(join(dir, 'init'), '#!/bin/sh\necho changed\n');
    const afterInit = key();
    expect(afterInit).not.toBe(first);
    writeFileSync(join(dir, 'packagelists/p.json'), JSON.stringify({ packages: ['zstd', 'less'] }));
    expect(key()).not.toBe(afterInit);
    expect(readInitrdConfig(join(dir, 'c.json')).packages).toEqual(['zstd', 'less']);
  });

  it('refuses an initrd config without a kernel', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-initrd-cfg-'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ SystemConfigs: [{ Name: 'x' }] }));
    expect(() => readInitrdConfig(join(dir, 'c.json'))).toThrow(/KernelOptions.default is required/);
  });
});

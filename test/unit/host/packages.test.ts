import { describe, expect, it } from 'vitest';
import { aptHost } from '../../../src/host/check.js';
import { ALL_PACKAGES, packagesFor } from '../../../src/host/packages.js';

describe('host prerequisites', () => {
  it('maps tools to the Debian packages that provide them and reports unknown tools', () => {
    expect(packagesFor(['mmdebstrap', 'mcopy', 'mkfs.vfat', 'qemu-img', 'sfdisk', 'mkfs.ext4', 'mkfs.xfs'])).toEqual({
      packages: ['dosfstools', 'e2fsprogs', 'fdisk', 'mmdebstrap', 'mtools', 'qemu-utils', 'xfsprogs'],
      unknown: [],
    });
    expect(packagesFor(['frobnicate']).unknown).toEqual(['frobnicate']);
  });

  it('--all covers what every engineer, the tests and the benchmark need', () => {
    for (const p of ['qemu-system-x86', 'ovmf', 'seabios', 'xorriso', 'squashfs-tools', 'erofs-utils', 'cpio', 'zstd', 'xz-utils', 'pigz', 'rdiff', 'mtools', 'dosfstools', 'fdisk', 'xfsprogs', 'e2fsprogs', 'mmdebstrap', 'expect', 'time', 'rpm', 'createrepo-c', 'dnf', 'mkosi', 'systemd-container', 'debootstrap', 'bc', 'binutils', 'gpg', 'gpg-agent', 'gpgv']) {
      expect(ALL_PACKAGES).toContain(p);
    }
    expect(new Set(ALL_PACKAGES).size).toBe(ALL_PACKAGES.length);
  });

  it('installs with apt only on Debian-family hosts', () => {
    expect(aptHost({ ID: 'debian' })).toBe(true);
    expect(aptHost({ ID: 'linuxmint', ID_LIKE: 'ubuntu debian' })).toBe(true);
    expect(aptHost({ ID: 'fedora', ID_LIKE: 'rhel' })).toBe(false);
    expect(aptHost({})).toBe(false);
  });
});

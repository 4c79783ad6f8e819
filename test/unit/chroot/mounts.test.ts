import { describe, expect, it } from 'vitest';
import { buildMountOptions, mountOrder } from '../../../src/chroot/mounts.js';

describe('mount tree', () => {
  it('mounts parents before children whatever the config order', () => {
    const order = mountOrder([{ mountPoint: '/boot/efi' }, { mountPoint: '/var/log' }, { mountPoint: '/' }, { mountPoint: '/boot' }, { mountPoint: '/var' }]);
    expect(order.map((m) => m.mountPoint)).toEqual(['/', '/boot', '/var', '/boot/efi', '/var/log']);
  });

  it('keeps MountOptions except those that would stop the build writing or running programs', () => {
    expect(buildMountOptions('ext4', undefined)).toEqual(['-t', 'ext4', '-o', 'noinit_itable']);
    expect(buildMountOptions('ext4', 'ro,noexec,noatime,x-systemd.growfs,data=journal')).toEqual(['-t', 'ext4', '-o', 'noatime,data=journal,noinit_itable']);
    expect(buildMountOptions('xfs', 'defaults')).toEqual(['-t', 'xfs']);
  });
});

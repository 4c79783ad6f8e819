import { describe, expect, it } from 'vitest';
import { buildMountOptions, mountOrder } from '../../../src/chroot/mounts.js';
import { CHROOT_ENV, chrootCommand } from '../../../src/chroot/chroot.js';

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

describe('chroot runner', () => {
  it('runs the program in a private mount namespace with /dev, /proc, /sys and /run set up inside it', () => {
    const [cmd, args] = chrootCommand('/work/root', ['/bin/sh', '-c', 'echo hi']);
    expect(cmd).toBe('unshare');
    expect(args.slice(0, 4)).toEqual(['--mount', '--propagation', 'private', '--']);
    const script = args[6]!;
    expect(script).toMatch(/mount --rbind \/dev "\$r\/dev"/);
    expect(script).toMatch(/mount -t proc proc "\$r\/proc"/);
    expect(script).toMatch(/exec chroot "\$r" "\$@"/);
    expect(args.slice(7)).toEqual(['kiln-chroot', '/work/root', '/bin/sh', '-c', 'echo hi']);
    expect(() => chrootCommand('/r', [])).toThrow(/empty/);
    expect(CHROOT_ENV.PATH).toContain('/usr/sbin');
  });
});

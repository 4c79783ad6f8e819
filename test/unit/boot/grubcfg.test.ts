import { describe, expect, it } from 'vitest';
import { grubDefaults, grubModules, kilnGrubCfg, pinRootPartuuid, stubConfig } from '../../../src/boot/grubcfg.js';

describe('grub configuration rendering', () => {
  it('the EFI stub finds /boot by filesystem UUID, on the root or on its own partition', () => {
    expect(stubConfig({ uuid: 'abc', prefix: '/boot' })).toBe('search --no-floppy --fs-uuid --set=root abc\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n');
    expect(stubConfig({ uuid: 'def', prefix: '' })).toContain('set prefix=($root)/grub\n');
  });

  it("Kiln's grub.cfg has one entry per kernel, with the command line and the initrd when present", () => {
    const cfg = kilnGrubCfg({
      distroName: 'Debian GNU/Linux',
      boot: { uuid: 'u-1', prefix: '/boot' },
      kernels: [{ version: '6.1.0-9-amd64', initrd: 'initrd.img-6.1.0-9-amd64' }, { version: '6.1.0-8-amd64' }],
      cmdline: 'root=PARTUUID=p-1 ro console=ttyS0,115200',
      modules: grubModules('gpt', ['fat32', 'ext4']),
    });
    expect(cfg).toContain('insmod part_gpt\ninsmod fat\ninsmod ext2\n');
    expect(cfg).toContain('search --no-floppy --fs-uuid --set=root u-1');
    expect(cfg).toContain("menuentry 'Debian GNU/Linux, Linux 6.1.0-9-amd64' {\n\tlinux /boot/vmlinuz-6.1.0-9-amd64 root=PARTUUID=p-1 ro console=ttyS0,115200\n\tinitrd /boot/initrd.img-6.1.0-9-amd64\n}");
    expect(cfg).toContain("menuentry 'Debian GNU/Linux, Linux 6.1.0-8-amd64' {\n\tlinux /boot/vmlinuz-6.1.0-8-amd64 root=PARTUUID=p-1 ro console=ttyS0,115200\n}");
    expect(() => kilnGrubCfg({ distroName: 'x', boot: { uuid: 'u', prefix: '' }, kernels: [], cmdline: '', modules: [] })).toThrow(/no kernel/);
  });

  it('grub-mkconfig defaults quote the command line (for the shell, then each word for grub) and ask for PARTUUID root', () => {
    // "x" is the word x as grub would read it; $y is passed literally (grub would have expanded it)
    const d = grubDefaults('console=ttyS0,115200 quiet "x" $y');
    expect(d).toContain(`GRUB_CMDLINE_LINUX="console=ttyS0,115200 quiet x '\\$y'"`);
    expect(d).toContain('GRUB_DISABLE_LINUX_UUID=true');
    expect(d).toContain('GRUB_DISABLE_LINUX_PARTUUID=false');
    expect(d).toContain('GRUB_TERMINAL="serial console"');
  });

  it('pins every kernel line to the root PARTUUID, replacing loop device names', () => {
    const cfg = "menuentry 'x' {\n\tlinux\t/boot/vmlinuz-6 root=/dev/loop3p2 ro console=ttyS0\n\tinitrd /boot/initrd.img-6\n}\n\tlinux /boot/vmlinuz-5 root=PARTUUID=aaaa ro\n";
    const { text, changed } = pinRootPartuuid(cfg, 'bbbb');
    expect(changed).toBe(2);
    expect(text).toContain('\tlinux\t/boot/vmlinuz-6 root=PARTUUID=bbbb ro console=ttyS0\n');
    expect(text).toContain('\tlinux /boot/vmlinuz-5 root=PARTUUID=bbbb ro\n');
    expect(text).not.toContain('loop3');
    expect(pinRootPartuuid(text, 'bbbb').changed).toBe(0);
  });
});

/**
 * Renderers never write a line they did not mean to: control characters that reach them (the
 * validator rejects them first) make them throw; fstab fields are escaped the fstab way; grub.cfg
 * values are quoted so nothing in them acts as grub script; apt source fields stay one field.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { grubCmdline, grubDefaults, grubWord, kilnGrubCfg } from '../../../src/boot/grubcfg.js';
import { mountTarget, mountTree } from '../../../src/chroot/mounts.js';
import { Scope } from '../../../src/core/scope.js';
import { assertNoControl, mountPointProblem } from '../../../src/core/safe-text.js';
import { unsafeFatEntries } from '../../../src/disk/fat.js';
import { repoLines } from '../../../src/distro/debian/sources.js';
import { hostMacros } from '../../../src/distro/rpm/macros.js';
import { renderRepoFile } from '../../../src/distro/rpm/repos.js';
import type { SystemConfig } from '../../../src/config/model.js';
import { kernelCommandLine } from '../../../src/system/render/cmdline.js';
import { fstabEscape, renderFstab } from '../../../src/system/render/fstab.js';
import { renderHostname, renderHosts } from '../../../src/system/render/hosts.js';
import { renderAuthorizedKeys } from '../../../src/system/render/users.js';
import { renderSelinuxConfig } from '../../../src/system/steps/selinux.js';
import type { BuiltPartition } from '../../../src/system/types.js';

const root: BuiltPartition = { id: 'rootfs', partuuid: 'p-root', fsType: 'ext4', mountPoint: '/', mountIdentifier: 'partuuid' };
const data: BuiltPartition = { id: 'data', partuuid: 'p-data', fsType: 'ext4', mountPoint: '/srv/my data', mountIdentifier: 'partuuid' };

describe('control characters', () => {
  it('assertNoControl names the character and position, never writes the value', () => {
    expect(assertNoControl('ok value', 'X')).toBe('ok value');
    expect(() => assertNoControl('a\nb', 'KernelCommandLine.ExtraCommandLine')).toThrow('KernelCommandLine.ExtraCommandLine: contains the control character U+000A (line feed) at position 2');
    expect(() => assertNoControl('a\u007f', 'X')).toThrow(/U\+007F \(DEL\)/);
    expect(() => assertNoControl('\u0000', 'X')).toThrow(/U\+0000/);
  });

  it('mount points must be plain absolute paths', () => {
    expect(mountPointProblem('/')).toBeUndefined();
    expect(mountPointProblem('/boot/efi')).toBeUndefined();
    expect(mountPointProblem('/srv/my data')).toBeUndefined();
    expect(mountPointProblem('/../../../../usr')).toMatch(/"\.\."/);
    expect(mountPointProblem('/a/./b')).toMatch(/"\."/);
    expect(mountPointProblem('/a//b')).toMatch(/"\/\/"/);
    expect(mountPointProblem('/a/')).toMatch(/ends with/);
    expect(mountPointProblem('a')).toMatch(/not an absolute/);
    expect(mountPointProblem('/a\nb')).toMatch(/control character/);
  });
});

describe('fstab', () => {
  it('escapes space, tab, line feed and backslash as octal, the way libmount reads them back', () => {
    expect(fstabEscape('/srv/my data')).toBe('/srv/my\\040data');
    expect(fstabEscape('a\tb\nc\\d')).toBe('a\\011b\\012c\\134d');
    const lines = renderFstab({ tableType: 'gpt', diskId: 'd', partitions: [root, data] }).split('\n');
    expect(lines).toContain('PARTUUID=p-data\t/srv/my\\040data\text4\tdefaults\t0\t2');
  });

  it('an injected line stays one escaped field; other control characters make it throw', () => {
    const injected = renderFstab({ tableType: 'gpt', diskId: 'd', partitions: [root, { ...data, mountPoint: '/srv', mountOptions: 'noatime\n/dev/sda1 /etc ext4 defaults 0 0' }] });
    expect(injected.split('\n').filter((l) => l.includes('/dev/sda1'))).toEqual(['PARTUUID=p-data\t/srv\text4\tnoatime\\012/dev/sda1\\040/etc\\040ext4\\040defaults\\0400\\0400\t0\t2']);
    expect(() => renderFstab({ tableType: 'gpt', diskId: 'd', partitions: [root, { ...data, mountOptions: 'noatime\r' }] })).toThrow(/partition 'data': contains the control character U\+000D/);
  });
});

describe('hosts, SELinux, authorized_keys, kernel command line', () => {
  it('throw instead of writing a control character', () => {
    expect(() => renderHostname('kiln\nevil')).toThrow(/Hostname: contains the control character/);
    expect(() => renderHosts('kiln\r')).toThrow(/Hostname/);
    expect(() => renderSelinuxConfig('enforcing', 'default\nSELINUX=disabled')).toThrow(/SELinuxPolicy/);
    expect(() => renderAuthorizedKeys('', ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII9DxT a\u001b[2J'])).toThrow(/SSH public key: contains the control character U\+001B/);
    const sc = (extra: string) => ({ Name: 'x', KernelCommandLine: { ExtraCommandLine: extra } }) as SystemConfig;
    expect(() => kernelCommandLine(sc('quiet\tloud'))).toThrow(/ExtraCommandLine: contains the control character U\+0009/);
    expect(kernelCommandLine(sc(' quiet \n'))).toBe('quiet'); // blanks around it are trimmed, never written
  });
});

describe('grub.cfg', () => {
  it('quotes a word only when grub would read something special in it', () => {
    expect(grubWord('console=ttyS0,115200')).toBe('console=ttyS0,115200');
    expect(grubWord('ima_policy=tcb|appraise_tcb')).toBe("'ima_policy=tcb|appraise_tcb'");
    expect(grubWord("it's")).toBe(`'it'\\''s'`);
    expect(grubWord('$root')).toBe("'$root'");
    expect(() => grubWord('a\nb')).toThrow(/control character/);
  });

  it('a command line cannot end the linux command or open a menu entry', () => {
    expect(grubCmdline('quiet; menuentry evil { linux /x init=/bin/sh }')).toBe("'quiet;' menuentry evil '{' linux /x init=/bin/sh '}'");
    expect(grubCmdline('dyndbg="file foo.c +p" quiet')).toBe("'dyndbg=file foo.c +p' quiet");
    expect(() => grubCmdline("quiet\n}\nmenuentry 'evil' {")).toThrow(/control character/);
  });

  it("Kiln's grub.cfg quotes titles, paths and arguments (a kernel version is a file name from the image)", () => {
    const cfg = kilnGrubCfg({
      distroName: 'Debian GNU/Linux',
      boot: { uuid: 'u-1', prefix: '/boot' },
      kernels: [{ version: "6.1' { evil }" }],
      cmdline: 'root=PARTUUID=p ro x=$y',
      modules: ['part_gpt'],
    });
    expect(cfg).toContain(`menuentry 'Debian GNU/Linux, Linux 6.1'\\'' { evil }' {\n\tlinux '/boot/vmlinuz-6.1'\\'' { evil }' root=PARTUUID=p ro 'x=$y'\n}`);
    expect(() => kilnGrubCfg({ distroName: 'D', boot: { uuid: 'u', prefix: '' }, kernels: [{ version: '6\n}' }], cmdline: '', modules: [] })).toThrow(/control character/);
  });

  it('/etc/default/grub: grub words inside a shell string (grub-mkconfig copies it verbatim into grub.cfg)', () => {
    expect(grubDefaults('quiet; reboot')).toContain(`GRUB_CMDLINE_LINUX="'quiet;' reboot"`);
    expect(grubDefaults('a="$(id)"')).toContain(`GRUB_CMDLINE_LINUX="'a=\\$(id)'"`);
    expect(() => grubDefaults('quiet\nGRUB_INIT_TUNE=1')).toThrow(/control character/);
  });
});

describe('apt sources', () => {
  it('a field cannot become another field, option or line', () => {
    const repo = { Name: 'r', BaseUrl: 'http://r/debian', Suite: 'bookworm' };
    expect(repoLines([repo], 'bookworm')).toEqual(['deb http://r/debian bookworm main']);
    expect(() => repoLines([{ ...repo, Suite: 'bookworm\ndeb [trusted=yes] http://evil/ x main' }], 'bookworm')).toThrow(/Suite: contains the control character/);
    expect(() => repoLines([{ ...repo, Suite: 'bookworm main' }], 'bookworm')).toThrow(/Suite: 'bookworm main' is empty or contains a blank/);
    expect(() => repoLines([{ ...repo, Components: ['main', 'x]'] }], 'bookworm')).toThrow(/Components/);
    expect(() => repoLines([{ ...repo, SignedBy: '/k.gpg trusted=yes' }], 'bookworm')).toThrow(/SignedBy/);
    expect(() => repoLines([{ ...repo, BaseUrl: 'http://r/\u0001' }], 'bookworm')).toThrow(/BaseUrl/);
  });
});

describe('RPM repo files and macros', () => {
  it('a repo file value cannot add settings; OverrideRpmLocales cannot become a macro that runs a command', () => {
    const repo = { id: 'r', name: 'r', baseurl: 'https://r/', gpgcheck: true, repoGpgcheck: false, gpgkeys: [], install: false };
    expect(renderRepoFile(repo)).toContain('baseurl=https://r/\n');
    expect(() => renderRepoFile({ ...repo, baseurl: 'https://r/\ngpgcheck=0' })).toThrow(/BaseUrl: contains the control character/);
    expect(hostMacros({ Name: 'x', OverrideRpmLocales: 'en:fr' })).toContain('%_install_langs en:fr\n');
    expect(() => hostMacros({ Name: 'x', OverrideRpmLocales: '%(touch /tmp/pwned)' })).toThrow(/OverrideRpmLocales: .* is not a list of locales/);
  });
});

describe('mount points at mount time (defence in depth)', () => {
  it('refuses ".." and anything that would land outside the root', () => {
    expect(mountTarget('/work/root', '/')).toBe('/work/root');
    expect(mountTarget('/work/root', '/boot/efi')).toBe('/work/root/boot/efi');
    expect(() => mountTarget('/work/root', '/../../../../usr', 'rootfs')).toThrow(/partition 'rootfs': mount point "\/\.\.\/\.\.\/\.\.\/\.\.\/usr" contains "\.\."/);
    expect(() => mountTarget('/work/root', 'usr')).toThrow(/not an absolute path/);
  });

  it('mountTree checks every mount point before creating or mounting anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-mounts-'));
    try {
      const scope = new Scope('test');
      const specs = [
        { id: 'rootfs', mountPoint: '/', device: '/dev/null', fsType: 'ext4', staged: false },
        { id: 'evil', mountPoint: '/../../../../usr', device: '/dev/null', fsType: 'ext4', staged: false },
      ];
      await expect(mountTree(scope, join(dir, 'root'), specs, join(dir, 'staging'))).rejects.toThrow(/partition 'evil'/);
      expect(() => mkdirSync(join(dir, 'root'))).not.toThrow(); // the root was not even created
      await scope.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('FAT staging', () => {
  it('links and special files in an ESP staging tree are reported, never copied by mtools', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-fat-'));
    try {
      mkdirSync(join(dir, 'EFI/BOOT'), { recursive: true });
      writeFileSync(join(dir, 'EFI/BOOT/BOOTX64.EFI'), 'x');
      expect(unsafeFatEntries(dir)).toEqual([]);
      symlinkSync('/etc/shadow', join(dir, 'EFI/leak'));
      expect(unsafeFatEntries(dir)).toEqual(['EFI/leak']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

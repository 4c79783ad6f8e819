import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHROOT_ENV, chrootCommand, toolSandboxCommand } from '../../../src/chroot/chroot.js';
import { assertPlainPath, diskNodes, imageSandboxArgs, KEPT_CAPABILITIES, toolSandboxArgs, type HostFacts } from '../../../src/chroot/sandbox.js';
import { spawnArgv } from '../../../src/core/exec.js';

const FACTS: HostFacts = {
  proc: ['sys', 'sysrq-trigger', 'irq', 'kcore'],
  etc: ['apt', 'passwd', 'resolv.conf'],
  topLevel: [{ name: 'bin', symlink: 'usr/bin' }, { name: 'lib64', symlink: 'usr/lib64' }, { name: 'opt' }],
};

/** The value following each occurrence of `flag`. */
function after(args: readonly string[], flag: string, n = 1): string[][] {
  return args.flatMap((a, i) => (a === flag ? [args.slice(i + 1, i + 1 + n)] : []));
}

describe('image sandbox (every command run inside an image)', () => {
  const args = imageSandboxArgs('/w/root', {}, FACTS);

  it('makes the image the root, with its own /proc, a minimal /dev and a private /run; no /sys, no /tmp over the image', () => {
    expect(args.slice(0, 3)).toEqual(['--bind', '/w/root', '/']);
    expect(after(args, '--proc')).toEqual([['/proc']]);
    expect(after(args, '--dev')).toEqual([['/dev']]);
    expect(after(args, '--tmpfs')).toEqual([['/run']]); // /tmp is the image's: boot writes grub's stub there
    expect(args).not.toContain('/sys');
    expect(after(args, '--dev-bind')).toEqual([]);
  });

  it('keeps /proc/sys and the other writable kernel entries read-only, masks kernel memory', () => {
    const ro = after(args, '--ro-bind', 2);
    expect(ro).toContainEqual(['/proc/sys', '/proc/sys']);
    expect(ro).toContainEqual(['/proc/sysrq-trigger', '/proc/sysrq-trigger']);
    expect(ro).toContainEqual(['/proc/irq', '/proc/irq']);
    expect(ro).toContainEqual(['/dev/null', '/proc/kcore']);
    // only what exists on this host's procfs
    expect(ro.some(([, d]) => d === '/proc/acpi')).toBe(false);
  });

  it('has its own PID, IPC, UTS, network namespaces, a new session, dies with Kiln, keeps only harmless capabilities', () => {
    for (const f of ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net', '--die-with-parent', '--new-session']) expect(args).toContain(f);
    expect(after(args, '--cap-drop')).toEqual([['ALL']]);
    const kept = after(args, '--cap-add').map(([c]) => c);
    expect(kept).toEqual([...KEPT_CAPABILITIES]);
    for (const c of ['CAP_SYS_ADMIN', 'CAP_MKNOD', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_DAC_READ_SEARCH', 'CAP_SYS_PTRACE', 'CAP_NET_ADMIN', 'CAP_SYS_TIME', 'CAP_SYS_BOOT']) {
      expect(kept).not.toContain(c);
    }
  });

  it('shares the network, exposes named devices and a read-only /sys only when a call asks', () => {
    const wide = imageSandboxArgs('/w/root', { network: true, devices: ['/dev/loop3', '/dev/loop3p1'], sys: true }, FACTS);
    expect(wide).not.toContain('--unshare-net');
    expect(after(wide, '--dev-bind', 2)).toEqual([['/dev/loop3', '/dev/loop3'], ['/dev/loop3p1', '/dev/loop3p1']]);
    expect(after(wide, '--ro-bind', 2)).toContainEqual(['/sys', '/sys']);
    expect(() => imageSandboxArgs('/w/root', { devices: ['/etc/passwd'] }, FACTS)).toThrow(/not a device node/);
    // named devices bring their sysfs entries (grub asks udevadm, then reads .../start), nothing else of /sys
    const sysfs = (d: string) => {
      const name = d.slice('/dev/'.length);
      const disk = name.replace(/(\d)p\d+$/, '$1');
      const dir = name === disk ? `/sys/devices/virtual/block/${disk}` : `/sys/devices/virtual/block/${disk}/${name}`;
      return { link: `/sys/dev/block/7:${name.length}`, target: `../..${dir.slice(4)}`, dir };
    };
    const grub = imageSandboxArgs('/w/root', { devices: ['/dev/loop3', '/dev/loop3p1'] }, FACTS, sysfs);
    const tail = grub.slice(grub.indexOf('/run') + 1, grub.indexOf('--unshare-pid'));
    expect(tail).toEqual([
      '--tmpfs', '/sys',
      '--ro-bind', '/sys/devices/virtual/block/loop3', '/sys/devices/virtual/block/loop3',
      '--symlink', '../../devices/virtual/block/loop3', '/sys/dev/block/7:5',
      '--symlink', '../../devices/virtual/block/loop3/loop3p1', '/sys/dev/block/7:7',
      '--remount-ro', '/sys',
    ]);
    expect(() => imageSandboxArgs('/w/root', { devices: ['/dev/../etc/shadow'] }, FACTS)).toThrow(/not a device node/);
  });

  it('chroot(): bwrap, the options, then the program; a minimal environment', () => {
    const [cmd, argv] = chrootCommand('/w/root', ['/bin/sh', '-c', 'echo hi']);
    expect(cmd).toBe('bwrap');
    expect(argv.slice(argv.indexOf('--'))).toEqual(['--', '/bin/sh', '-c', 'echo hi']);
    expect(() => chrootCommand('/r', [])).toThrow(/empty/);
    expect(CHROOT_ENV.PATH).toContain('/usr/sbin');
  });
});

describe('tool sandbox (package managers that install into an image)', () => {
  const args = toolSandboxArgs(
    {
      installRoot: '/w/root',
      writable: ['/w/scratch'],
      readable: ['/srv/repo'],
      binds: [{ source: '/w/archives', dest: '/w/root/var/cache/apt/archives', readOnly: true }],
    },
    FACTS,
  );

  it('sees the host read-only and partially: /usr, merged-/usr links, the listed /etc entries', () => {
    const ro = after(args, '--ro-bind', 2);
    expect(ro).toContainEqual(['/usr', '/usr']);
    expect(after(args, '--symlink', 2)).toEqual([['usr/bin', '/bin'], ['usr/lib64', '/lib64']]);
    expect(ro).toContainEqual(['/opt', '/opt']);
    expect(ro).toContainEqual(['/etc/apt', '/etc/apt']);
    expect(ro).toContainEqual(['/etc/passwd', '/etc/passwd']);
    expect(ro.some(([s]) => s === '/etc' || s === '/' || s === '/etc/shadow' || s === '/root' || s === '/home')).toBe(false);
    expect(ro).toContainEqual(['/srv/repo', '/srv/repo']);
    expect(after(args, '--tmpfs')).toEqual([['/tmp'], ['/var/tmp'], ['/run']]);
  });

  it('writes only the install root and the paths it is given; the root gets its own /proc and /dev nodes', () => {
    expect(after(args, '--bind', 2)).toEqual([['/w/scratch', '/w/scratch'], ['/w/root', '/w/root']]);
    expect(after(args, '--proc')).toEqual([['/proc'], ['/w/root/proc']]);
    expect(after(args, '--ro-bind', 2)).toContainEqual(['/proc/sys', '/w/root/proc/sys']);
    expect(after(args, '--dev-bind', 2).map(([s]) => s)).toEqual(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
    expect(after(args, '--dev-bind', 2).every(([s, d]) => d === `/w/root${s}`)).toBe(true);
    // binds into the root come after the root itself (else the root's bind would hide them)
    const rootAt = args.indexOf('/w/root');
    expect(args.indexOf('/w/root/var/cache/apt/archives')).toBeGreaterThan(rootAt);
    expect(after(args, '--ro-bind', 2)).toContainEqual(['/w/archives', '/w/root/var/cache/apt/archives']);
  });

  it('has no network unless asked, the same namespaces and capabilities as the image sandbox', () => {
    expect(args).toContain('--unshare-net');
    expect(toolSandboxArgs({ network: true }, FACTS)).not.toContain('--unshare-net');
    for (const f of ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session']) expect(args).toContain(f);
    expect(after(args, '--cap-add').map(([c]) => c)).toEqual([...KEPT_CAPABILITIES]);
    const [cmd, argv] = toolSandboxCommand(['mmdebstrap', '--variant=minbase'], { installRoot: '/w/root' });
    expect(cmd).toBe('bwrap');
    expect(argv.slice(-3)).toEqual(['--', 'mmdebstrap', '--variant=minbase']);
  });
});

describe('mount points in an image', () => {
  it('must not be symbolic links (bwrap would create directories where they point, on the host)', () => {
    const root = mkdtempSync(join(tmpdir(), 'kiln-sandbox-'));
    try {
      mkdirSync(join(root, 'proc'));
      symlinkSync('/oldroot/etc/cron.d', join(root, 'run'));
      mkdirSync(join(root, 'var'));
      symlinkSync('../../../etc', join(root, 'var/cache'));
      expect(() => assertPlainPath(root, 'proc')).not.toThrow();
      expect(() => assertPlainPath(root, 'dev')).not.toThrow(); // missing: bwrap creates it
      expect(() => assertPlainPath(root, 'run')).toThrow(/\/run is a symbolic link/);
      expect(() => assertPlainPath(root, 'var/cache/apt/archives')).toThrow(/\/var\/cache is a symbolic link/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('grub gets the loop device and its partition nodes', () => {
    const dev = mkdtempSync(join(tmpdir(), 'kiln-dev-'));
    try {
      for (const n of ['loop3', 'loop3p2', 'loop3p1', 'loop3p10', 'loop30', 'loop30p1']) writeFileSync(join(dev, n), '');
      expect(diskNodes(join(dev, 'loop3'), dev)).toEqual([join(dev, 'loop3'), join(dev, 'loop3p1'), join(dev, 'loop3p2'), join(dev, 'loop3p10')]);
    } finally {
      rmSync(dev, { recursive: true, force: true });
    }
  });
});

describe('every command', () => {
  it('runs behind setpriv --pdeathsig KILL: it dies with Kiln, even when Kiln is SIGKILLed', () => {
    expect(spawnArgv('qemu-img', ['convert', 'a', 'b'], true)).toEqual(['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', 'qemu-img', 'convert', 'a', 'b']]);
    expect(spawnArgv('qemu-img', ['info'], false)).toEqual(['qemu-img', ['info']]);
  });
});

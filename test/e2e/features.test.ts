/**
 * End-to-end proof of the system configuration (issue 3, item 3): build the features config once
 * with `kiln build`, inspect the built disk read-only (root filesystem mounted from a raw copy),
 * then boot it under qemu (OVMF, TCG), log in over the serial console as a configured user with
 * the password from the config, and check what only a running system shows (/proc/cmdline,
 * cgroup v2, hidepid, networkd).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { output, run } from '../../src/core/exec.js';
import { buildImage, type BuiltImage } from './lib/images.js';
import { withGuest } from './lib/qemu.js';
import { e2eWorkDir } from './lib/workdir.js';

const FIXTURE = 'test/fixtures/e2e/features';
const CONFIG = `${FIXTURE}/features.json`;
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../..', CONFIG), 'utf8')) as {
  Disks: { Partitions: { ID: string; Start: number }[] }[];
  SystemConfigs: { Users: { Name: string; Password: string }[] }[];
};
const ALICE_PASSWORD = fixture.SystemConfigs[0]!.Users.find((u) => u.Name === 'alice')!.Password;
const BOB_HASH = fixture.SystemConfigs[0]!.Users.find((u) => u.Name === 'bob')!.Password;
const ROOT_START_MIB = fixture.Disks[0]!.Partitions.find((p) => p.ID === 'rootfs')!.Start;

let image: BuiltImage;
let vhdx: string;
let work: string;
let raw: string;
let mnt: string;
let mounted = false;

const file = (p: string) => readFileSync(join(mnt, p), 'utf8');
const stat = (p: string) => statSync(join(mnt, p));
const mode = (p: string) => (stat(p).mode & 0o7777).toString(8);
const lines = (p: string) => file(p).split('\n').filter(Boolean);
const entry = (p: string, name: string) => lines(p).find((l) => l.startsWith(`${name}:`))?.split(':');

beforeAll(async () => {
  image = await buildImage({ config: CONFIG });
  vhdx = join(image.imageDir, 'features.vhdx');
  work = mkdtempSync(join(e2eWorkDir(), 'features-'));
  raw = join(work, 'features.raw');
  mnt = join(work, 'root');
  // a raw copy to inspect: the artifact itself is never modified
  await run('qemu-img', ['convert', '-O', 'raw', vhdx, raw]);
  await run('mkdir', ['-p', mnt]);
  // ro + noload: not even a journal replay writes to the copy; the loop device auto-clears on umount
  await run('mount', ['-t', 'ext4', '-o', `ro,noload,loop,offset=${ROOT_START_MIB * 1024 * 1024}`, raw, mnt]);
  mounted = true;
});

afterAll(async () => {
  if (mounted) await run('umount', [mnt], { allowFailure: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('features image: built files', () => {
  it('hostname and /etc/hosts', () => {
    expect(file('etc/hostname')).toBe('kiln-features\n');
    expect(file('etc/hosts')).toMatch(/^127\.0\.1\.1\tkiln-features$/m);
  });

  it('groups with their GIDs and members', () => {
    expect(entry('etc/group', 'kilnops')?.[2]).toBe('2345');
    expect(entry('etc/group', 'kilnshare')?.[3]?.split(',')).toContain('alice');
    expect(entry('etc/group', 'adm')?.[3]?.split(',')).toContain('alice');
  });

  it('users with UID, primary group, home directory and login shell', () => {
    expect(entry('etc/passwd', 'alice')).toEqual(['alice', 'x', '1234', '2345', '', '/srv/alice', '/bin/bash']);
    expect(entry('etc/passwd', 'bob')?.slice(2)).toEqual(['1300', '1300', '', '/home/bob', '/bin/sh']);
    expect(stat('srv/alice').uid).toBe(1234);
  });

  it('passwords: SHA-512 crypt of the clear one, the given hash verbatim, expiry, root locked', async () => {
    const alice = entry('etc/shadow', 'alice')!;
    expect(alice[1]).toMatch(/^\$6\$[^$]+\$[./A-Za-z0-9]{86}$/);
    const salt = alice[1]!.split('$')[2]!;
    // the stored hash is the hash of the config's password (verified with an independent implementation)
    expect(await output('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], { input: `${ALICE_PASSWORD}\n` })).toBe(alice[1]);
    expect(alice[4]).toBe('90');
    expect(entry('etc/shadow', 'bob')?.[1]).toBe(BOB_HASH);
    expect(entry('etc/shadow', 'root')?.[1]).toMatch(/^!/);
  });

  it('the clear password is nowhere: not in /etc, /var, /root, /srv, /home of the image, nor in the build log', async () => {
    const r = await run('grep', ['-rlF', '--', ALICE_PASSWORD, join(mnt, 'etc'), join(mnt, 'var'), join(mnt, 'root'), join(mnt, 'srv'), join(mnt, 'home')], {
      allowFailure: true,
    });
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1); // grep: 1 = searched everything, no match
    const log = readFileSync(image.log, 'utf8');
    expect(log.length).toBeGreaterThan(1000);
    expect(log).not.toContain(ALICE_PASSWORD);
  });

  it('authorized_keys from SSHPubKeyPaths and SSHPubKeys, owned by the user, 700/600', () => {
    const aliceKey = readFileSync(join(import.meta.dirname, '../..', FIXTURE, 'keys/alice.pub'), 'utf8').trim();
    expect(file('srv/alice/.ssh/authorized_keys')).toBe(`${aliceKey}\n`);
    expect(mode('srv/alice/.ssh')).toBe('700');
    expect(mode('srv/alice/.ssh/authorized_keys')).toBe('600');
    expect([stat('srv/alice/.ssh/authorized_keys').uid, stat('srv/alice/.ssh/authorized_keys').gid]).toEqual([1234, 2345]);
    expect(file('home/bob/.ssh/authorized_keys')).toMatch(/^ssh-ed25519 \S+ bob@kiln-test\n$/);
    expect(stat('home/bob/.ssh').uid).toBe(1300);
  });

  it('systemd-networkd units for both networks, networkd enabled', () => {
    const eth0 = file('etc/systemd/network/10-kiln-eth0.network');
    expect(eth0).toContain('Name=eth0');
    expect(eth0).toContain('DHCP=ipv4');
    expect(eth0).toContain('DNS=192.0.2.53');
    const eth1 = file('etc/systemd/network/11-kiln-eth1.network');
    expect(eth1).toContain('Address=192.0.2.10/24');
    expect(eth1).toContain('Gateway=192.0.2.1');
    expect(eth1).toContain('ActivationPolicy=manual');
    expect(existsSync(join(mnt, 'etc/systemd/system/multi-user.target.wants/systemd-networkd.service'))).toBe(true);
  });

  it('additional files in all three forms, with permissions', () => {
    expect(file('etc/motd')).toBe('Built by kiln: the features test image.\n');
    expect(mode('usr/local/bin/kiln-tool')).toBe('755');
    expect(mode('opt/kiln/kiln-tool.sh')).toBe('644'); // no Permissions: the source's mode
    expect(file('opt/kiln/kiln-tool.sh')).toBe(file('usr/local/bin/kiln-tool'));
    expect(mode('etc/kiln/secret.conf')).toBe('600');
    expect(stat('etc/kiln/secret.conf').uid).toBe(0);
  });

  it('PostInstallScripts ran in the image with their Args; FinalizeImageScripts after the bootloader; staged copies removed', () => {
    // before the bootloader (no grub.cfg yet), after the system steps (the configured host name)
    expect(lines('var/lib/kiln-test/post-install.mark')).toEqual([
      'uid=0', 'hostname=kiln-features', 'argc=4', 'arg=--mark', 'arg=post install', 'arg=two words', 'arg=plain', 'grub.cfg=no',
    ]);
    expect(lines('var/lib/kiln-test/finalize.mark')).toEqual(['arg=final', 'grub.cfg=yes', 'post-install.mark=yes']);
    expect(readdirSync(join(mnt, 'var/tmp')).filter((n) => n.startsWith('kiln-scripts-'))).toEqual([]);
  });

  it('fstab: root by PARTLABEL (MountIdentifier), ESP by its real PARTUUID with MountOptions, /proc with hidepid=2', async () => {
    const table = JSON.parse(await output('sfdisk', ['--json', raw])) as { partitiontable: { partitions: { uuid: string; start: number }[] } };
    const esp = table.partitiontable.partitions.find((p) => p.start === 2048)!;
    const fstab = lines('etc/fstab').filter((l) => !l.startsWith('#'));
    expect(fstab).toEqual([
      'PARTLABEL=kiln-root\t/\text4\tdefaults\t0\t1',
      `PARTUUID=${esp.uuid.toLowerCase()}\t/boot/efi\tvfat\tumask=0077\t0\t2`,
      'proc\t/proc\tproc\trw,nosuid,nodev,noexec,relatime,hidepid=2\t0\t0',
    ]);
  });

  it('machine-id is empty (EnableSystemdFirstboot off): every VM gets its own', () => {
    expect(file('etc/machine-id')).toBe('');
  });

  it('DisableRpmDocs / OverrideRpmLocales: dpkg filters kept, only copyright files left in /usr/share/doc, no message catalogs', async () => {
    expect(file('etc/dpkg/dpkg.cfg.d/kiln-excludes')).toContain('path-exclude=/usr/share/doc/*');
    const docs = (await output('find', [join(mnt, 'usr/share/doc'), '-type', 'f'])).split('\n').filter(Boolean);
    expect(docs.length).toBeGreaterThan(10);
    expect(docs.filter((f) => !f.endsWith('/copyright'))).toEqual([]);
    const mo = await output('find', [join(mnt, 'usr/share/locale'), '-name', '*.mo'], { allowFailure: true });
    expect(mo).toBe('');
  });

  it('apt caches cleaned (PreserveTdnfCache off), dpkg database intact', () => {
    expect(readdirSync(join(mnt, 'var/cache/apt/archives')).filter((n) => n.endsWith('.deb'))).toEqual([]);
    expect(file('var/lib/dpkg/status')).toMatch(/^Package: systemd$/m);
  });
});

describe('features image: booted', () => {
  it('logs in as alice over serial; kernel command line, cgroup v2, hidepid, hostname, networkd', async () => {
    await withGuest({ name: 'features', firmware: 'uefi', disk: vhdx }, async (guest) => {
      await guest.login('alice', ALICE_PASSWORD);
      const cmdline = await guest.check('cat /proc/cmdline');
      expect(cmdline).toContain('systemd.unified_cgroup_hierarchy=1');
      expect(cmdline).toMatch(/kiln\.features=1 quiet\s*$/); // ExtraCommandLine last
      expect(cmdline).toContain('console=ttyS0');
      expect(await guest.check('id -u; id -gn; id -Gn')).toMatch(/^1234\nkilnops\n.*\bkilnshare\b/);
      expect(await guest.check('hostname')).toBe('kiln-features');
      expect(await guest.check('stat -fc %T /sys/fs/cgroup')).toBe('cgroup2fs');
      expect(await guest.check('findmnt -no OPTIONS /proc')).toMatch(/hidepid=(2|invisible)/);
      // hidepid=2: alice cannot see root's processes (pid 1 is systemd)
      expect((await guest.exec('test -e /proc/1/status')).code).toBe(1);
      // networkd runs (it writes per-link state; alice cannot see its process, nor reach systemd's bus without dbus)
      expect(Number(await guest.check('ls /run/systemd/netif/links | wc -l'))).toBeGreaterThan(0);
    });
  });
});

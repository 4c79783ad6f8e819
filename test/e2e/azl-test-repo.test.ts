/**
 * The offline Azure Linux 3.0 test repository (scripts/make-azl-test-repo.sh) is what every RPM
 * test installs from: check that it is signed as a real one is, that dnf --installroot builds a
 * bootable root from it (kernel, dracut initramfs with virtio, grub for EFI and BIOS, shim), that
 * the doc/locale filters of DisableRpmDocs / OverrideRpmLocales have something to filter, and that
 * the container set stays small.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { output, run } from '../../src/core/exec.js';
import { AZL_REPO_SCRIPT, azlTestRepo, dnfInstall, rpmQa, type AzlTestRepo, type DnfResult } from './lib/azl-repo.js';
import { e2eWorkDir } from './lib/workdir.js';

let repo: AzlTestRepo;
let work: string;
beforeAll(async () => {
  repo = await azlTestRepo();
  work = mkdtempSync(join(e2eWorkDir(), 'azl-repo-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Files (not directories) below `dir` of a root, relative to the root. */
function filesBelow(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(join(root, d))) return;
    for (const e of readdirSync(join(root, d), { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

const rpms = () => readdirSync(repo.repoDir).filter((f) => f.endsWith('.rpm'));

describe('the repository', () => {
  it('is laid out like an Azure Linux mirror and answers a second run at once', async () => {
    expect(repo.url).toBe(`file://${repo.dir}`);
    expect(existsSync(join(repo.repoDir, 'repodata/repomd.xml'))).toBe(true);
    expect(statSync(join(repo.dir, '.gnupg')).mode & 0o777).toBe(0o700);
    expect(readFileSync(repo.keyFile, 'utf8')).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    const t0 = Date.now();
    const url = (await output(AZL_REPO_SCRIPT, [repo.dir])).split('\n').pop();
    expect(url).toBe(repo.url);
    expect(Date.now() - t0).toBeLessThan(2000); // a cache hit hashes the inputs and nothing else
  });

  it('signs repomd.xml with the test key', async () => {
    const keyring = join(work, 'kiln-test.gpg');
    await run('gpg', ['--batch', '--yes', '--dearmor', '-o', keyring, repo.keyFile]);
    const md = join(repo.repoDir, 'repodata');
    const r = await run('gpgv', ['--keyring', keyring, join(md, 'repomd.xml.asc'), join(md, 'repomd.xml')], { allowFailure: true });
    expect(r.code, r.stderrTail).toBe(0);
    expect(r.stderrTail).toMatch(/Good signature from "Kiln test repository/);
  });

  it('signs every package with the test key except kiln-test-unsigned', async () => {
    const home = mkdtempSync(join(work, 'rpmk-'));
    const env = { ...process.env, HOME: home };
    const db = join(home, 'db');
    await run('rpmkeys', ['--dbpath', db, '--import', repo.keyFile], { env });
    const files = rpms();
    expect(files.length).toBeGreaterThan(100);
    const r = await run('rpmkeys', ['--dbpath', db, '--checksig', ...files.map((f) => join(repo.repoDir, f))], { env, allowFailure: true });
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(files.length);
    const unsigned = lines.filter((l) => !/: digests signatures OK$/.test(l));
    expect(unsigned).toHaveLength(1);
    expect(unsigned[0]).toMatch(/\/kiln-test-unsigned-[^/]+\.noarch\.rpm: digests OK$/);
  });

  it('carries every package the upstream core-efi, core-legacy and core-container lists name, and what Kiln adds', async () => {
    const names = new Set((await output('rpm', ['-qp', '--qf', '%{NAME}\n', ...rpms().map((f) => join(repo.repoDir, f))])).split('\n'));
    for (const n of [
      // packagelists/{hyperv,core-packages-image,cloud-init,virt-guest}-packages.json
      'dracut-hyperv', 'hyperv-daemons', 'shim', 'grub2-efi-binary', 'ca-certificates', 'cronie-anacron', 'logrotate',
      'core-packages-base-image', 'dracut-hostonly', 'dracut-vrf', 'initramfs', 'shadow-utils', 'cloud-init',
      'cloud-utils-growpart', 'dracut-virtio', 'dracut-xen',
      // packagelists/core-packages-container.json
      'core-packages-container',
      // kernel, legacy boot, FIPS, and the base the meta packages stand on
      'kernel', 'grub2-pc', 'grub2', 'grub2-tools', 'dracut', 'dracut-fips', 'filesystem', 'bash', 'glibc',
      'azurelinux-release', 'systemd', 'rpm', 'tdnf', 'openssh-server', 'kiln-test-unsigned',
    ]) {
      expect(names, n).toContain(n);
    }
  });
});

describe('dnf --installroot: a bootable root', () => {
  let root: string;
  let kver: string;
  let install: DnfResult;
  beforeAll(async () => {
    root = join(work, 'efi-root');
    install = await dnfInstall(repo, {
      root,
      scratch: join(work, 'dnf-efi'),
      packages: ['core-packages-base-image', 'kernel', 'dracut', 'grub2-efi-binary', 'shim', 'grub2-pc', 'initramfs', 'dracut-virtio', 'dracut-hyperv'],
    });
    kver = (readdirSync(join(root, 'boot')).find((f) => f.startsWith('vmlinuz-')) ?? '').replace(/^vmlinuz-/, '');
  });

  it('installs with signatures checked, and without rpm warnings', () => {
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toMatch(/Complete!/);
    expect(install.stderr).toMatch(/Importing GPG key 0x[0-9A-F]{8}:\n\s*Userid\s*: "Kiln test repository/);
    expect(install.stderr).not.toMatch(/^warning:/m); // e.g. "group shadow does not exist - using root"
  });

  it('has a kernel, its modules, grub for EFI and BIOS, shim, and Azure Linux os-release', () => {
    expect(kver).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/); // Debian's version string, e.g. 6.1.0-28-amd64
    expect(existsSync(join(root, 'usr/lib/modules', kver, 'modules.dep'))).toBe(true);
    expect(existsSync(join(root, 'boot', `config-${kver}`))).toBe(true);
    expect(existsSync(join(root, 'boot', `System.map-${kver}`))).toBe(true);
    expect(readdirSync(join(root, 'boot')).filter((f) => /^initr/.test(f))).toEqual([]); // no initramfs until dracut runs
    for (const f of ['bootx64.efi', 'grubx64.efi']) expect(statSync(join(root, 'boot/efi/EFI/BOOT', f)).size).toBeGreaterThan(100_000);
    for (const f of ['usr/sbin/grub2-mkconfig', 'usr/sbin/grub2-install', 'usr/sbin/grub2-probe', 'usr/bin/grub2-mkimage', 'usr/bin/grub2-editenv', 'usr/lib/grub/i386-pc/boot.img']) {
      expect(existsSync(join(root, f)), f).toBe(true);
    }
    expect(statSync(join(root, 'boot/grub2')).isDirectory()).toBe(true);
    const osRelease = readFileSync(join(root, 'etc/os-release'), 'utf8');
    expect(osRelease).toMatch(/^ID=azurelinux$/m);
    expect(osRelease).toMatch(/^VERSION_ID="3\.0"$/m);
    expect(readFileSync(join(root, 'etc/dracut.conf.d/virtio.conf'), 'utf8')).toMatch(/virtio_pci/);
  });

  it('keeps owners and modes (set-id bits, groups of the root\'s own /etc/group)', () => {
    const gids = new Map(readFileSync(join(root, 'etc/group'), 'utf8').split('\n').map((l) => l.split(':')).map((f) => [f[0], Number(f[2])]));
    const st = (p: string) => {
      const s = statSync(join(root, p));
      return `${(s.mode & 0o7777).toString(8)} ${s.uid} ${s.gid}`;
    };
    expect(st('usr/bin/passwd')).toBe('4755 0 0');
    expect(st('usr/bin/chage')).toBe(`2755 0 ${gids.get('shadow')}`);
    expect(st('etc/shadow')).toBe(`640 0 ${gids.get('shadow')}`); // a file of `filesystem`, which brings /etc/group
    expect(st('var/mail')).toBe(`2775 0 ${gids.get('mail')}`);
    expect(st('usr/lib/dbus-1.0/dbus-daemon-launch-helper')).toBe(`4754 0 ${gids.get('messagebus')}`);
  });

  it('records the packages in ROOT/var/lib/rpm, readable by the root\'s own rpm', async () => {
    const names = await rpmQa(root, work);
    expect(names).toEqual(expect.arrayContaining(['kernel', 'dracut', 'grub2-efi-binary', 'shim', 'grub2-pc', 'initramfs', 'systemd', 'filesystem', 'azurelinux-release', 'gpg-pubkey']));
    const inside = await output('chroot', [root, 'rpm', '-q', 'kernel', 'systemd']);
    expect(inside).toMatch(/^kernel-\S+\.azl3\.x86_64$/m);
  });

  it('installs docs and translations unless told not to', () => {
    expect(filesBelow(root, 'usr/share/doc').length).toBeGreaterThan(100);
    expect(filesBelow(root, 'usr/share/locale').filter((f) => f.endsWith('.mo')).length).toBeGreaterThan(10);
  });

  it('makes an initramfs with virtio_pci with dracut in the root', async () => {
    const img = `/boot/initramfs-${kver}.img`;
    // /dev, /proc, /sys bound in a private mount namespace: nothing outlives the command
    const script = [
      'set -e',
      'for d in dev proc sys; do mount --rbind "/$d" "$1/$d"; done',
      `chroot "$1" dracut --no-hostonly --force --quiet ${img} ${kver}`,
      `chroot "$1" lsinitrd ${img}`,
    ].join('\n');
    const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', root], { allowFailure: true });
    expect(r.code, r.stderrTail).toBe(0);
    expect(r.stdout).toMatch(/\/virtio_pci\.ko/);
    expect(r.stdout).toMatch(/\/hv_vmbus\.ko/);
    expect(statSync(join(root, img)).size).toBeGreaterThan(1_000_000);
    // the namespace died with the command: nothing of the root is mounted on the host
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(root);
  });
});

describe('dnf --installroot: refusals, filters and the container set', () => {
  it('refuses the unsigned package', async () => {
    const r = await dnfInstall(repo, { root: join(work, 'unsigned-root'), scratch: join(work, 'dnf-unsigned'), packages: ['kiln-test-unsigned'] });
    expect(r.code).not.toBe(0);
    // dnf 4.14: "Package kiln-test-unsigned-1.0-1.azl3.noarch.rpm is not signed", "Error: GPG check FAILED"
    expect(r.stderr).toMatch(/^Package kiln-test-unsigned-1\.0-1\.azl3\.noarch\.rpm is not signed$/m);
    expect(r.stderr).toMatch(/^Error: GPG check FAILED$/m);
    expect(existsSync(join(work, 'unsigned-root/usr/share/kiln-test-unsigned/README'))).toBe(false);
  });

  it('names a package the repository does not have', async () => {
    const r = await dnfInstall(repo, { root: join(work, 'missing-root'), scratch: join(work, 'dnf-missing'), packages: ['filesystem', 'no-such-package'] });
    expect(r.code).not.toBe(0);
    // dnf 4.14: stdout "No match for argument: no-such-package", stderr "Error: Unable to find a match: no-such-package"
    expect(r.stdout).toMatch(/^No match for argument: no-such-package$/m);
    expect(r.stderr).toMatch(/^Error: Unable to find a match: no-such-package$/m);
  });

  it('DisableRpmDocs / OverrideRpmLocales "NONE": %_excludedocs and %_install_langs NONE leave no docs and no translations', async () => {
    const root = join(work, 'nodocs-root');
    const r = await dnfInstall(repo, { root, scratch: join(work, 'dnf-nodocs'), packages: ['core-packages-base-image'], macros: { _excludedocs: '1', _install_langs: 'NONE' } });
    expect(r.code, r.stderr).toBe(0);
    expect(filesBelow(root, 'usr/share/doc')).toEqual([]);
    expect(filesBelow(root, 'usr/share/man')).toEqual([]);
    expect(filesBelow(root, 'usr/share/locale').filter((f) => f.endsWith('.mo'))).toEqual([]);
    expect(existsSync(join(root, 'usr/bin/bash'))).toBe(true);
    rmSync(root, { recursive: true, force: true });
  });

  it('core-packages-container installs without kernel, boot loader or systemd', async () => {
    const root = join(work, 'container-root');
    const r = await dnfInstall(repo, { root, scratch: join(work, 'dnf-container'), packages: ['core-packages-container'] });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(root, 'boot')) ? readdirSync(join(root, 'boot')).filter((f) => f.startsWith('vmlinuz-')) : []).toEqual([]);
    const names = await rpmQa(root, work);
    for (const n of ['kernel', 'systemd', 'dracut', 'grub2-tools', 'shim', 'perl', 'icu']) expect(names).not.toContain(n);
    expect(names).toEqual(expect.arrayContaining(['filesystem', 'bash', 'azurelinux-release', 'rpm', 'tdnf']));
    expect(readFileSync(join(root, 'etc/os-release'), 'utf8')).toMatch(/^ID=azurelinux$/m);
    // the container's own rpm (without rpm-build-libs) reads its database
    expect(await output('chroot', [root, 'rpm', '-q', 'filesystem'])).toMatch(/^filesystem-\S+\.azl3\.x86_64$/);
    rmSync(root, { recursive: true, force: true });
  });
});

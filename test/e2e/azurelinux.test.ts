/**
 * Azure Linux 3.0 on the RPM backend, end to end, against the offline test repository
 * (scripts/make-azl-test-repo.sh; its test key is trusted through KILN_TRUSTED_KEYS, the host's
 * trusted-key directory, so the configs themselves need nothing but `--mirror`):
 * - upstream's core-efi.json, core-legacy.json and core-container.json, byte-identical copies with
 *   their package lists (test/fixtures/upstream/imageconfigs), build with only `--mirror` added;
 *   core.vhdx boots under OVMF (shim → grub2), core.vhd under SeaBIOS (grub2-install i386-pc);
 * - a features image: users and groups, DisableRpmDocs, OverrideRpmLocales, PreserveTdnfCache,
 *   grub2's prebuilt EFI binary without shim; booted, logged in, `rpm -qa` and os-release read;
 * - RemoveRpmDb; and the failures: an unsigned package, an unknown package, an unreachable mirror.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { output, run } from '../../src/core/exec.js';
import { azlTestRepo, type AzlTestRepo } from './lib/azl-repo.js';
import { buildImage, KILN, REPO, type BuiltImage } from './lib/images.js';
import { withPartitionMounted } from './lib/inspect.js';
import { withGuest } from './lib/qemu.js';
import { e2eWorkDir } from './lib/workdir.js';

const UPSTREAM = 'test/fixtures/upstream/imageconfigs';
const FIXTURES = 'test/fixtures/e2e/azurelinux';

let repo: AzlTestRepo;
let work: string;

beforeAll(async () => {
  repo = await azlTestRepo();
  work = mkdtempSync(join(e2eWorkDir(), 'azurelinux-'));
  // the host's trusted keys for the azurelinux defaults: the test repository is signed with its own key
  const trust = join(work, 'trusted-keys');
  mkdirSync(join(trust, 'azurelinux'), { recursive: true });
  writeFileSync(join(trust, 'azurelinux', 'RPM-GPG-KEY-kiln-test'), readFileSync(repo.keyFile));
  process.env.KILN_TRUSTED_KEYS = trust;
}, 900_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const mirror = () => ['--mirror', repo.url];
const manifestOf = (image: BuiltImage) => JSON.parse(readFileSync(image.manifest, 'utf8')) as { distro: { name: string; release: string }; packages: { name: string; version: string; arch: string }[] };

/** Files (not directories) below `dir`. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name));
}

describe('upstream core-efi.json → core.vhdx on Azure Linux 3.0', () => {
  let image: BuiltImage;
  beforeAll(async () => {
    image = await buildImage({ config: `${UPSTREAM}/core-efi.json`, args: [...mirror(), '--keep-raw'], key: 'azl' });
  }, 1_800_000);

  it('is upstream\'s file unchanged, and the manifest lists the RPMs with versions', () => {
    const ours = readFileSync(join(REPO, UPSTREAM, 'core-efi.json'));
    const theirs = '/work/shared/reference/azurelinux/imageconfigs/core-efi.json';
    if (existsSync(theirs)) expect(ours.equals(readFileSync(theirs))).toBe(true);
    const m = manifestOf(image);
    expect(m.distro).toEqual({ name: 'azurelinux', release: '3.0' });
    const names = m.packages.map((p) => p.name);
    for (const p of ['kernel', 'shim', 'grub2-efi-binary', 'dracut', 'systemd', 'shadow-utils', 'azurelinux-release', 'core-packages-base-image']) expect(names).toContain(p);
    expect(m.packages.find((p) => p.name === 'kernel')!.version).toMatch(/^\d[\w.+~]*-\S+$/);
    expect(names).not.toContain('gpg-pubkey');
  });

  it('ESP holds shim as BOOTX64.EFI with grub2 beside it and the stub at boot/grub2/grub.cfg; dracut made the initramfs; docs and locales filtered', async () => {
    const raw = join(image.imageDir, 'core-efi.raw');
    const esp = await output('mdir', ['-b', '-/', '-i', `${raw}@@1M`, '::/']);
    expect(esp).toMatch(/::\/EFI\/BOOT\/BOOTX64\.EFI/i);
    expect(esp).toMatch(/::\/EFI\/BOOT\/grubx64\.efi/i);
    expect(esp).toMatch(/::\/boot\/grub2\/grub\.cfg/i);
    const shim = await output('sh', ['-c', `mtype -i '${raw}@@1M' ::/EFI/BOOT/BOOTX64.EFI | head -c 2`]);
    expect(shim).toBe('MZ');
    await withPartitionMounted(raw, 2, async (root) => {
      const kver = readdirSync(join(root, 'boot')).find((f) => f.startsWith('vmlinuz-'))!.slice('vmlinuz-'.length);
      expect(existsSync(join(root, 'boot', `initramfs-${kver}.img`))).toBe(true);
      expect(readFileSync(join(root, 'boot/grub2/grub.cfg'), 'utf8')).toMatch(/root=PARTUUID=/);
      expect(readFileSync(join(root, 'etc/os-release'), 'utf8')).toMatch(/^ID=azurelinux$/m);
      expect(filesUnder(join(root, 'usr/share/doc'))).toEqual([]);
      expect(filesUnder(join(root, 'usr/share/locale')).filter((f) => f.endsWith('.mo'))).toEqual([]);
      expect(readFileSync(join(root, 'etc/rpm/macros.image-language-conf'), 'utf8')).toContain('%_install_langs NONE');
      expect(readFileSync(join(root, 'etc/rpm/macros.image-excludedocs'), 'utf8')).toContain('%_excludedocs 1');
      // the rpm database is where the image's rpm reads it, and no repo file landed in the image
      const q = await output('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-q', 'kernel']);
      expect(q).toMatch(/^kernel-/);
      expect(filesUnder(join(root, 'etc/yum.repos.d'))).toEqual([]);
    });
  });

  it('boots with OVMF to the Azure Linux login prompt', async () => {
    await withGuest({ name: 'azl-core-efi', firmware: 'uefi', disk: join(image.imageDir, 'core.vhdx') }, async (guest) => {
      await guest.waitFor(/Linux version \d/, 300_000);
      await guest.waitFor(/^azurelinux login: $/m, 600_000);
    });
  }, 900_000);
});

describe('upstream core-legacy.json → core.vhd on Azure Linux 3.0', () => {
  it('boots with SeaBIOS (grub2-install --target=i386-pc) to the login prompt', async () => {
    const image = await buildImage({ config: `${UPSTREAM}/core-legacy.json`, args: mirror(), key: 'azl' });
    const vhd = join(image.imageDir, 'core.vhd');
    expect(existsSync(vhd)).toBe(true);
    await withGuest({ name: 'azl-core-legacy', firmware: 'bios', disk: vhd, diskFormat: 'vpc' }, async (guest) => {
      await guest.waitFor(/^azurelinux login: $/m, 1_200_000);
    });
  }, 1_800_000);
});

describe('upstream core-container.json → core.tar.gz on Azure Linux 3.0', () => {
  it('gives the container tarball: the release files, an rpm database, no kernel, the cleanup script applied', async () => {
    const image = await buildImage({ config: `${UPSTREAM}/core-container.json`, args: mirror(), key: 'azl' });
    const list = (await output('tar', ['-tzf', join(image.imageDir, 'core.tar.gz')])).split('\n');
    expect(list).toContain('./usr/lib/os-release');
    expect(list.some((f) => f.startsWith('./var/lib/rpm/'))).toBe(true);
    expect(list.some((f) => /^\.\/boot\/./.test(f))).toBe(false); // cleanup.sh: rm -rf /boot/*
    expect(list.some((f) => f.includes('vmlinuz'))).toBe(false);
    // dnf's logs and history stay in the build's work directory, which never appears in the image
    expect(list.filter((f) => /\.work-|\/kiln-e2e\/|hawkey\.log|dnf\.(rpm\.|librepo\.)?log|history\.sqlite/.test(f) || f.includes('.kiln-dnf-log'))).toEqual([]);
  }, 1_800_000);
});

describe('Azure Linux features image', () => {
  let image: BuiltImage;
  beforeAll(async () => {
    image = await buildImage({ config: `${FIXTURES}/azl-features.json`, args: [...mirror(), '--keep-raw'] });
  }, 1_800_000);

  it('users and groups by the image\'s shadow-utils; PreserveTdnfCache keeps the RPMs in /var/cache/tdnf', async () => {
    await withPartitionMounted(join(image.imageDir, 'azl-features.raw'), 2, async (root) => {
      const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
      expect(passwd).toMatch(/^carol:x:1401:2401:/m);
      expect(readFileSync(join(root, 'etc/group'), 'utf8')).toMatch(/^azlshare:x:\d+:carol$/m);
      expect(readFileSync(join(root, 'etc/shadow'), 'utf8')).toMatch(/^carol:\$6\$/m);
      const cached = filesUnder(join(root, 'var/cache/tdnf')).filter((f) => f.endsWith('.rpm'));
      expect(cached.some((f) => /\/kernel-[^/]+\.rpm$/.test(f))).toBe(true);
      expect(cached.length).toBeGreaterThanOrEqual(manifestOf(image).packages.length - 2);
    });
  });

  it('boots grub2\'s own EFI binary, logs in as the configured user; rpm -qa and os-release in the guest', async () => {
    const m = manifestOf(image);
    await withGuest({ name: 'azl-features', firmware: 'uefi', disk: join(image.imageDir, 'azl-features.qcow2') }, async (guest) => {
      await guest.login('carol', 'carol-Clear-Pa55', 900_000);
      const rpms = (await guest.check('rpm -qa --qf "%{NAME}\\n" | grep -v ^gpg-pubkey | sort')).split('\n').map((l) => l.trim()).filter(Boolean);
      expect(rpms).toEqual(m.packages.map((p) => p.name).sort());
      const osr = await guest.check('cat /etc/os-release');
      expect(osr).toMatch(/^ID=azurelinux$/m);
      expect(osr).toMatch(/Kiln test repository/);
      expect(await guest.check('id -gn; id -Gn')).toMatch(/^azlops\s+azlops azlshare$/m);
      expect(await guest.check('cat /proc/cmdline')).toMatch(/root=PARTUUID=.*systemd\.default_device_timeout_sec=900/);
    });
  }, 1_200_000);
});

describe('RemoveRpmDb on Azure Linux', () => {
  it('writes the rpm manifests first, then removes /var/lib/rpm', async () => {
    const image = await buildImage({ config: `${FIXTURES}/azl-removedb.json`, args: mirror() });
    const tar = join(image.imageDir, 'azl-removedb.tar.gz');
    const list = (await output('tar', ['-tzf', tar])).split('\n');
    expect(list.some((f) => f.startsWith('./var/lib/rpm/'))).toBe(false);
    const m1 = await output('tar', ['-xzOf', tar, './var/lib/rpmmanifest/container-manifest-1']);
    const m2 = await output('tar', ['-xzOf', tar, './var/lib/rpmmanifest/container-manifest-2']);
    const names = manifestOf(image).packages.map((p) => p.name);
    expect(names.length).toBeGreaterThan(3);
    for (const n of names) expect(m1).toMatch(new RegExp(`^${n.replace(/[+.]/g, '\\$&')}-\\d`, 'm'));
    expect(m2.split('\n')[0]!.split('\t').length).toBe(9);
  }, 1_800_000);
});

describe('Azure Linux build failures name what failed, exit 3 and leave nothing behind', () => {
  async function failing(config: string, extra: string[] = []): Promise<{ code: number; stderr: string; out: string }> {
    const out = mkdtempSync(join(work, 'fail-'));
    const r = await run(KILN, ['build', config, '--out', out, ...extra], { allowFailure: true, captureStdout: false });
    return { code: r.code, stderr: r.stderrTail, out };
  }
  function nothingLeft(out: string, name: string): void {
    const images = join(out, 'images', name);
    expect(existsSync(images) ? readdirSync(images) : []).toEqual([]);
    expect(readdirSync(out).filter((f) => f.startsWith('.work-'))).toEqual([]);
  }

  it('an unsigned package', async () => {
    const r = await failing(join(REPO, FIXTURES, 'azl-unsigned.json'), mirror());
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/kiln-test-unsigned\S* failed the signature check/);
    nothingLeft(r.out, 'azl-unsigned');
  }, 600_000);

  it('a package no repository has: named, with the repositories searched', async () => {
    const r = await failing(join(REPO, FIXTURES, 'azl-unknown.json'), mirror());
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/package not found: no-such-package-kiln/);
    expect(r.stderr).toContain(`searched: azurelinux-official-base (${repo.url.replace(/\/+$/, '')}/3.0/prod/base/x86_64)`);
    nothingLeft(r.out, 'azl-unknown');
  }, 600_000);

  it('an unreachable mirror: the repository is named', async () => {
    const r = await failing(join(REPO, FIXTURES, 'azl-removedb.json'), ['--mirror', 'file:///nonexistent/kiln-mirror']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/repository azurelinux-official-base \(file:\/\/\/nonexistent\/kiln-mirror\/3\.0\/prod\/base\/x86_64\) cannot be read/);
    nothingLeft(r.out, 'azl-removedb');
  }, 600_000);
});

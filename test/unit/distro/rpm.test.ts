import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../../src');
import { azurelinux } from '../../../src/distro/catalog/azurelinux.js';
import { debian } from '../../../src/distro/catalog/debian.js';
import { DISTRO_NAMES, findDistro, findRelease } from '../../../src/distro/catalog/index.js';
import { backendFor } from '../../../src/distro/registry.js';
import { dnfArgs, RpmBackend, rpmSandbox, tdnfArgs } from '../../../src/distro/rpm/index.js';
import { hostMacros, imageMacros } from '../../../src/distro/rpm/macros.js';
import { RpmProgress, rpmFailure } from '../../../src/distro/rpm/progress.js';
import { renderRepoFile, rpmRepos } from '../../../src/distro/rpm/repos.js';
import { sourceLines } from '../../../src/distro/debian/sources.js';
import type { InstallRequest } from '../../../src/distro/backend.js';

describe('distro catalog', () => {
  it('absent Distro is Azure Linux 3.0 on the RPM backend; aliases and release numbers resolve', () => {
    const b = backendFor({ Name: 's' });
    expect(b).toBeInstanceOf(RpmBackend);
    expect([b.name, b.release, b.grub.mkconfig, b.grub.configPath]).toEqual(['azurelinux', '3.0', 'grub2-mkconfig', '/boot/grub2/grub.cfg']);
    expect(findDistro('AZL')?.name).toBe('azurelinux');
    expect(findRelease(debian, '13')).toBe('trixie');
    expect(findRelease(azurelinux, '2.0')).toBeUndefined();
    expect(DISTRO_NAMES).toEqual(expect.arrayContaining(['debian', 'azurelinux', 'azl']));
  });

  it('implicit packages come from the declaration: grub2 + dracut for Azure Linux, the FIPS package when asked', () => {
    const b = backendFor({ Name: 's' });
    const sc = { Name: 's', KernelCommandLine: { EnableFIPS: true } };
    expect(b.implicitPackages({ sc, boot: 'efi', kernel: 'kernel', packages: ['shim', 'grub2-efi-binary'] })).toEqual(['kernel', 'grub2-tools', 'dracut', 'dracut-fips']);
    expect(b.implicitPackages({ sc: { Name: 's' }, boot: 'legacy', kernel: 'kernel', packages: [] })).toEqual(['kernel', 'grub2-pc', 'grub2-tools', 'dracut']);
    expect(b.implicitPackages({ sc: { Name: 's' }, boot: 'none', packages: [] })).toEqual([]);
  });
});

describe('RPM repositories', () => {
  it('default repositories below the mirror, GPG-checked with the shipped Microsoft keys', () => {
    const [r] = rpmRepos(azurelinux, '3.0', [], 'file:///srv/azl/');
    expect(r!.baseurl).toBe('file:///srv/azl/3.0/prod/base/x86_64');
    expect(r!.gpgcheck && r!.repoGpgcheck).toBe(true);
    expect(r!.gpgkeys.some((k) => k.endsWith('/resources/distro/azurelinux/MICROSOFT-RPM-GPG-KEY'))).toBe(true);
    expect(rpmRepos(azurelinux, '3.0', [])[0]!.baseurl).toBe('https://packages.microsoft.com/azurelinux/3.0/prod/base/x86_64');
    const text = renderRepoFile(r!, { metadataExpire: '0' });
    expect(text).toMatch(/^\[azurelinux-official-base\]\n/);
    expect(text).toContain('gpgcheck=1\nrepo_gpgcheck=1\n');
    expect(text).toContain('metadata_expire=0');
  });

  it('PackageRepos replace the defaults and keep their settings; upstream key paths map to the shipped keys', () => {
    const repos = rpmRepos(azurelinux, '3.0', [{ Name: 'my repo', BaseUrl: 'https://r.example/x', GPGCheck: false, GPGKeys: 'file:///etc/pki/rpm-gpg/MICROSOFT-RPM-GPG-KEY', Install: true }], 'file:///ignored');
    expect(repos).toHaveLength(1);
    expect(repos[0]).toMatchObject({ id: 'my-repo', baseurl: 'https://r.example/x', gpgcheck: false, repoGpgcheck: false, install: true });
    expect(repos[0]!.gpgkeys[0]).toMatch(/resources\/distro\/azurelinux\/MICROSOFT-RPM-GPG-KEY$/);
  });

  it('no mirror host name is written in the code: the defaults are upstream\'s repo file and the host\'s apt sources', () => {
    const hosts = /deb\.debian\.org|packages\.microsoft\.com|ftp\.[a-z.]*debian\.org/;
    const offenders = readdirSync(SRC, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && hosts.test(readFileSync(join(SRC, f), 'utf8')))
      .sort();
    expect(offenders).toEqual([]);
    expect(readFileSync(join(SRC, '../resources/distro/azurelinux/azurelinux-official-base.repo'), 'utf8')).toMatch(/baseurl=.*packages\.microsoft\.com/);
  });

  it('the mirror replaces Debian\'s archive and security archive too (mkosi layout)', () => {
    expect(sourceLines([], 'bookworm', 'file:///m/')).toEqual([
      'deb file:///m/debian bookworm main',
      'deb file:///m/debian bookworm-updates main',
      'deb file:///m/debian-security bookworm-security main',
    ]);
  });
});

describe('dnf and tdnf command lines', () => {
  const req = { root: '/w/root', sc: { Name: 's', DisableRpmDocs: true }, packages: [], boot: 'none', repos: [], cacheDir: '/c', scratchDir: '/w' } as InstallRequest;
  it('dnf reads no repo file, variable or plugin of the host or the image, and writes its logs and history outside the image', () => {
    const a = dnfArgs(req, '/w/rpm/dnf.conf', '/w/rpm/repos.d', '/w/rpm', '3.0', ['a', 'b']);
    expect(a).toEqual(expect.arrayContaining(['--installroot=/w/root', '--releasever=3.0', '--config=/w/rpm/dnf.conf', '--setopt=reposdir=/w/rpm/repos.d', '--setopt=cachedir=/c', '--setopt=varsdir=/w/rpm/empty', '--noplugins', '--setopt=tsflags=nodocs']));
    // on the command line, not in dnf.conf: there dnf would take it inside the installroot
    expect(a).toContain('--setopt=persistdir=/w/rpm/persist');
    expect(a.slice(-3)).toEqual(['install', 'a', 'b']);
    expect(tdnfArgs(req, '/w/rpm/tdnf.conf', '/w/rpm/repos.d', '3.0', ['a'])).toEqual(['install', '-y', '--installroot=/w/root', '--releasever=3.0', '--config=/w/rpm/tdnf.conf', '--setopt=reposdir=/w/rpm/repos.d', '--nodocs', 'a']);
  });

  it('rpm macros: the database under /var/lib/rpm; DisableRpmDocs and OverrideRpmLocales at install time and in the image', () => {
    expect(hostMacros({ Name: 's' })).toBe('%_dbpath /var/lib/rpm\n');
    expect(hostMacros({ Name: 's', DisableRpmDocs: true, OverrideRpmLocales: 'NONE' })).toBe('%_dbpath /var/lib/rpm\n%_excludedocs 1\n%_install_langs NONE\n');
    expect(hostMacros({ Name: 's', OverrideRpmLocales: 'all' })).toBe('%_dbpath /var/lib/rpm\n');
    expect(Object.keys(imageMacros({ Name: 's', DisableRpmDocs: true, OverrideRpmLocales: 'en:fr' }))).toEqual(['/etc/rpm/macros.image-language-conf', '/etc/rpm/macros.image-excludedocs']);
  });
});

describe('dnf output', () => {
  it('counts installed packages from the transaction lines, not the verification ones', () => {
    const p = new RpmProgress();
    expect(p.feed('  Installing       : filesystem-3.0-1.azl3.x86_64          1/57 ')).toBe(true);
    expect(p.feed('  Running scriptlet: filesystem-3.0-1.azl3.x86_64          1/57 ')).toBe(false);
    expect(p.feed('  Verifying        : filesystem-3.0-1.azl3.x86_64          1/57 ')).toBe(false);
    expect(p.feed('  Installing       : bash-5.2-1.azl3.x86_64                2/57')).toBe(true);
    expect([p.done, p.total]).toEqual([2, 57]);
  });

  it('names missing and unsigned packages and unreadable repositories', () => {
    const f = rpmFailure([
      'No match for argument: nosuchpkg',
      'Error: Unable to find a match: nosuchpkg other',
      'Package kiln-test-unsigned-1.0-1.azl3.x86_64.rpm is not signed',
      "Error: Failed to download metadata for repo 'azurelinux-official-base': Cannot download repomd.xml: Curl error (6)",
      "Error: Failed to download metadata for repo 'local': GPG verification is enabled, but GPG signature is not available.",
    ]);
    expect(f.missing).toEqual(['nosuchpkg', 'other']);
    expect(f.unsigned).toEqual(['kiln-test-unsigned-1.0-1.azl3.x86_64']);
    expect(f.unreachable).toEqual(['azurelinux-official-base']);
    expect(f.unsignedMetadata).toEqual(['local']);
  });
});

describe('RPM backend sandbox', () => {
  it('writes the root, its work directory and the cache; reads local repositories and keys; network only for remote repositories', () => {
    const repo = (baseurl: string, gpgkeys: string[] = []) => ({ id: 'r', name: 'r', baseurl, gpgcheck: true, repoGpgcheck: false, gpgkeys, install: false });
    const here = import.meta.dirname;
    const local = rpmSandbox('/w/root', '/w/rpm', '/c', [repo(`file://${here}`, [`file://${here}/rpm.test.ts`, 'file:///nonexistent/key'])], '3.0');
    expect(local).toEqual({ installRoot: '/w/root', writable: ['/w/rpm', '/c'], readable: [here, `${here}/rpm.test.ts`], network: false });
    expect(rpmSandbox('/w/root', '/w/rpm', '/c', [repo('https://packages.example/3.0/base')], '3.0').network).toBe(true);
    // repo variables resolved for the bind
    expect(rpmSandbox('/w/root', '/w/rpm', '/c', [repo(`file://${here.replace('unit', '$releasever')}`)], 'unit').readable).toEqual([here]);
  });
});

import { describe, expect, it } from 'vitest';
import { DebianBackend } from '../../../src/distro/debian/index.js';
import { debian } from '../../../src/distro/catalog/debian.js';
import { aptDownloadConfig, downloadSets, mmdebstrapArgs, sandboxSources, sourcePaths } from '../../../src/distro/debian/mmdebstrap.js';
import { missingPackages, PackageProgress } from '../../../src/distro/debian/progress.js';
import { debianUris, defaultLines, repoLines } from '../../../src/distro/debian/sources.js';
import { backendFor } from '../../../src/distro/registry.js';
import { KilnError } from '../../../src/core/errors.js';

describe('Debian backend', () => {
  it('is chosen by the Distro extension (releases by name or number); unknown releases are refused with the list', () => {
    expect(backendFor({ Name: 's', Distro: { Name: 'debian', Release: '12' } }).release).toBe('bookworm');
    expect(backendFor({ Name: 's', Distro: { Name: 'debian' } }).release).toBe('bookworm');
    expect(backendFor({ Name: 's' }).name).toBe('azurelinux');
    expect(() => backendFor({ Name: 's', Distro: { Name: 'debian', Release: 'sid' } })).toThrow(KilnError);
    expect(() => backendFor({ Name: 's', Distro: { Name: 'debian', Release: 'sid' } })).toThrow(/not a Debian GNU\/Linux release/);
  });

  it('adds the kernel, grub for the boot type, an initramfs generator and signed grub with shim', () => {
    const b = new DebianBackend(debian, 'bookworm');
    const sc = { Name: 's' };
    expect(b.implicitPackages({ sc, boot: 'efi', kernel: 'linux-image-amd64', packages: [] })).toEqual(['linux-image-amd64', 'grub-efi-amd64-bin', 'grub2-common', 'initramfs-tools', 'zstd']);
    expect(b.implicitPackages({ sc, boot: 'legacy', kernel: 'kernel', packages: ['dracut'] })).toEqual(['linux-image-amd64', 'grub-pc-bin', 'grub2-common']);
    expect(b.implicitPackages({ sc, boot: 'efi', packages: ['shim-signed', 'initramfs-tools'] })).toEqual(['grub-efi-amd64-bin', 'grub2-common', 'grub-efi-amd64-signed']);
    expect(b.implicitPackages({ sc, boot: 'none', packages: [] })).toEqual([]);
  });

  it('installs everything in one offline mmdebstrap call from what the download phase fetched', () => {
    const args = mmdebstrapArgs({ root: '/w/root', release: 'bookworm', packages: ['a', 'b'], sources: ['deb http://m/debian bookworm main'], eatmydata: true, deferInitramfs: true });
    for (const skip of ['check/empty', 'essential/unlink', 'download/empty', 'cleanup/apt/cache', 'update', 'cleanup/apt/lists', 'chroot/mount']) {
      expect(args).toContain(`--skip=${skip}`);
    }
    // no mounts of its own (the sandbox has no CAP_SYS_ADMIN) and no download in the eatmydata hook
    expect(args.join('\n')).not.toMatch(/mount --bind|apt-helper|--hook-dir/);
    expect(args.find((a) => a.startsWith('--extract-hook='))).toMatch(/var\/cache\/apt\/archives.*eatmydata_\*_all\.deb/s);
    expect(args).toContain('--customize-hook=/usr/share/mmdebstrap/hooks/eatmydata/customize.sh');
    expect(args.some((a) => a.startsWith('--essential-hook=chroot "$1" dpkg-divert'))).toBe(true);
    expect(args).toContain('--include=a,b');
    expect(args.slice(-3)).toEqual(['bookworm', '/w/root', 'deb http://m/debian bookworm main']);
  });

  it('downloads with its own apt configuration: essential alone, then everything, from an empty system', () => {
    const conf = aptDownloadConfig({ dir: '/w/apt', lists: '/w/lists', archives: '/w/archives' }, 'amd64');
    expect(conf).toContain('Dir "/w/apt/";');
    expect(conf).toContain('Dir::State::Status "/w/apt/status";');
    expect(conf).toContain('Dir::Cache::Archives "/w/archives/";');
    expect(conf).toContain('Apt::Architectures "amd64";');
    const [essential, all] = downloadSets('bookworm', 'amd64', ['less']);
    expect(essential).toEqual(['?narrow(?or(?archive(^bookworm$),?codename(^bookworm$)),?architecture(amd64),?essential)']);
    expect(all).toEqual([essential![0], '?narrow(?or(?archive(^bookworm$),?codename(^bookworm$)),?architecture(amd64),?and(?priority(required),?not(?essential)))', 'less']);
  });

  it('copies file: repositories into the archives and binds what sources read', () => {
    const lines = ['deb [trusted=yes] file:///srv/repo kiln main', 'deb [signed-by=/k/r.gpg] http://m/debian bookworm main', 'deb file:/other/repo/ x main'];
    expect(sandboxSources(lines)).toEqual(['deb [trusted=yes] copy:///srv/repo kiln main', lines[1], 'deb copy:/other/repo/ x main']);
    expect(sourcePaths(sandboxSources(lines))).toEqual(['/srv/repo', '/k/r.gpg', '/other/repo']);
  });

  it('takes repositories from PackageRepos, else the host Debian mirror', () => {
    expect(repoLines([{ Name: 'x', BaseUrl: 'http://r/debian', Components: ['main', 'contrib'], SignedBy: '/k.gpg' }], 'bookworm')).toEqual(['deb [signed-by=/k.gpg] http://r/debian bookworm main contrib']);
    expect(repoLines([{ Name: 'y', BaseUrl: 'file:///repo', Suite: 'local', GPGCheck: false }], 'bookworm')).toEqual(['deb [trusted=yes] file:///repo local main']);
    const host = debianUris('Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n\ndeb http://sec.example/debian-security bookworm-security main\n');
    expect(host).toEqual({ mirror: 'http://mirror.example/debian', security: 'http://sec.example/debian-security' });
    expect(defaultLines('bookworm', host.mirror, host.security)).toEqual([
      'deb http://mirror.example/debian bookworm main',
      'deb http://mirror.example/debian bookworm-updates main',
      'deb http://sec.example/debian-security bookworm-security main',
    ]);
  });

  it('counts packages from dpkg lines in both mmdebstrap phases', () => {
    const p = new PackageProgress();
    for (const l of ['Unpacking base-files (12.4) ...', 'Unpacking bash (5.2) ...', 'Setting up base-files (12.4) ...']) p.feed(l);
    expect([p.done, p.total]).toEqual([1, 2]);
    p.feed('I: installing remaining packages inside the chroot...');
    p.feed('Unpacking less (590) ...'); // apt phase: total comes from apt's summary instead
    p.feed('0 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.');
    p.feed('Setting up bash (5.2) ...');
    expect([p.done, p.total]).toEqual([2, 5]);
  });

  it('names every package apt could not find', () => {
    expect(missingPackages(['E: Unable to locate package foo', "E: Package 'bar' has no installation candidate", 'E: Unable to locate package foo', 'W: nothing'])).toEqual(['foo', 'bar']);
  });
});

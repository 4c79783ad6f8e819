import { describe, expect, it } from 'vitest';
import { DebianBackend } from '../../../src/distro/debian/index.js';
import { debian } from '../../../src/distro/catalog/debian.js';
import { mmdebstrapArgs } from '../../../src/distro/debian/mmdebstrap.js';
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

  it('installs everything in one mmdebstrap call into the mounted root, with the shared cache bind-mounted', () => {
    const args = mmdebstrapArgs({ root: '/w/root', release: 'bookworm', packages: ['a', 'b'], sources: ['deb http://m/debian bookworm main'], archives: "/w/it's/apt-archives", eatmydata: true });
    expect(args).toContain('--skip=check/empty');
    expect(args).toContain('--skip=essential/unlink');
    expect(args).toContain('--skip=download/empty');
    expect(args).toContain(`--setup-hook=mkdir -p "$1/var/cache/apt/archives" && mount --bind '/w/it'\\''s/apt-archives' "$1/var/cache/apt/archives"`);
    expect(args).toContain('--customize-hook=umount "$1/var/cache/apt/archives"');
    expect(args).toContain('--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata');
    expect(args).toContain('--include=a,b');
    expect(args.slice(-3)).toEqual(['bookworm', '/w/root', 'deb http://m/debian bookworm main']);
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

/** The config layer's API used by the build: loadConfig, collectPackages, additionalFiles, defaults, distro rules. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  additionalFiles,
  collectPackages,
  ConfigInvalidError,
  distroOf,
  enableGrubMkconfig,
  loadConfig,
  mountIdentifier,
} from '../../../src/config/index.js';
import { ExitCode, KilnError } from '../../../src/core/errors.js';
import { debian } from '../../../src/distro/catalog/debian.js';
import { azurelinux } from '../../../src/distro/catalog/azurelinux.js';
import { packageName } from '../../../src/distro/catalog/index.js';
import { BASE_DIR, BASE_FILE, FIXTURES, UPSTREAM_DIR } from './helpers.js';

describe('loadConfig', () => {
  it('returns the config with every path absolute against the config directory', async () => {
    const loaded = await loadConfig(BASE_FILE);
    expect(loaded).toMatchObject({ file: BASE_FILE, baseDir: BASE_DIR.replace(/\/$/, ''), name: 'base' });
    const sc = loaded.config.SystemConfigs[0]!;
    expect(sc.PackageLists).toEqual([join(BASE_DIR, 'packagelists/base.json')]);
    expect(sc.PostInstallScripts?.[0]?.Path).toBe(join(BASE_DIR, 'scripts/post.sh'));
    expect(Object.keys(sc.AdditionalFiles ?? {})).toEqual([join(BASE_DIR, 'files/motd'), join(BASE_DIR, 'files/a.conf')]);
    expect(sc.Users?.[0]?.SSHPubKeyPaths).toEqual([join(BASE_DIR, 'keys/alice.pub')]);
    expect(sc.PackageRepos?.[0]?.SignedBy).toBe(join(BASE_DIR, 'keys/repo.gpg'));
    // destinations are image paths, never resolved on the host
    expect(Object.values(sc.AdditionalFiles ?? {})[0]).toBe('/etc/motd');
  });

  it('throws ConfigInvalidError (exit 1) listing every finding', async () => {
    const err = await loadConfig(join(FIXTURES, 'cli', 'missing-file.json')).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigInvalidError);
    expect(err.exitCode).toBe(ExitCode.InvalidConfig);
    expect(err.details.join('\n')).toContain('SystemConfigs[0].PackageLists[0]: package list "packagelists/not-there.json" does not exist');
  });

  it('throws a usage error (exit 2) for a config file that does not exist', async () => {
    const err = await loadConfig(join(FIXTURES, 'nope.json')).catch((e) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect(err.exitCode).toBe(ExitCode.Usage);
  });

  it('loads upstream samples with their name', async () => {
    const loaded = await loadConfig(join(UPSTREAM_DIR, 'core-efi.json'));
    expect(loaded.name).toBe('core-efi');
    expect(distroOf(loaded.config.SystemConfigs[0]!)).toEqual({ name: 'azurelinux', release: '3.0', family: 'rpm' });
  });
});

describe('collectPackages', () => {
  it('is the union of PackageLists (in order) then Packages, first occurrence wins', async () => {
    const loaded = await loadConfig(BASE_FILE);
    const sc = { ...loaded.config.SystemConfigs[0]!, Packages: ['openssh-server', 'udev', 'vim=2:9.0*'] };
    expect(await collectPackages(sc)).toEqual(['systemd', 'systemd-sysv', 'udev', 'openssh-server', 'vim=2:9.0*']);
  });

  it('reads upstream package lists', async () => {
    const loaded = await loadConfig(join(UPSTREAM_DIR, 'core-efi-selinux.json'));
    const pkgs = await collectPackages(loaded.config.SystemConfigs[0]!);
    expect(pkgs).toContain('selinux-policy');
    expect(pkgs).not.toContain('kernel');
    expect(new Set(pkgs).size).toBe(pkgs.length);
  });
});

describe('additionalFiles', () => {
  it('flattens all three destination forms with parsed octal permissions', async () => {
    const loaded = await loadConfig(BASE_FILE);
    expect(additionalFiles(loaded.config.SystemConfigs[0]!)).toEqual([
      { source: join(BASE_DIR, 'files/motd'), destination: '/etc/motd' },
      { source: join(BASE_DIR, 'files/a.conf'), destination: '/etc/a.conf' },
      { source: join(BASE_DIR, 'files/a.conf'), destination: '/etc/b.conf', permissions: 0o640 },
    ]);
  });
});

describe('defaults', () => {
  it('fills documented defaults at read time', () => {
    expect(mountIdentifier({ ID: 'x' })).toBe('partuuid');
    expect(enableGrubMkconfig({ Name: 'x' })).toBe(true);
    expect(enableGrubMkconfig({ Name: 'x', EnableGrubMkconfig: false })).toBe(false);
    expect(distroOf({ Name: 'x', Distro: { Name: 'debian' } })).toEqual({ name: 'debian', release: 'bookworm', family: 'debian' });
  });
});

describe('distro package rules', () => {
  it.each([
    ['linux-image-amd64', true],
    ['linux-image-6.1.0-18-amd64', true],
    ['linux-image-amd64-dbg', false],
    ['linux-headers-amd64', false],
    ['kernel', false],
  ])('debian: %s is a kernel: %s', (name, expected) => {
    expect(debian.rules.isKernelPackage(name)).toBe(expected);
  });

  it.each([
    ['kernel', true],
    ['kernel-hwe', true],
    ['kernel-mshv', true],
    ['kernel-uvm', true],
    ['kernel-uki', false],
    ['kernel-headers', false],
    ['kernel-tools', false],
  ])('rpm: %s is a kernel: %s', (name, expected) => {
    expect(azurelinux.rules.isKernelPackage(name)).toBe(expected);
  });

  it('strips version constraints from package-list entries', () => {
    expect(packageName('vim=2:9.0')).toBe('vim');
    expect(packageName('bash >= 5')).toBe('bash');
    expect(packageName(' curl ')).toBe('curl');
  });
});

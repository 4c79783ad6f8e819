/**
 * A config is untrusted input: what it may refer to on the build host, and what text it may put into
 * rendered files. Each row breaks one rule of the (valid) base config; symbolic-link cases build a
 * config directory of their own.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, validateConfigText } from '../../../src/config/index.js';
import { ConfigInvalidError } from '../../../src/config/findings.js';
import { asRpm, BASE_DIR, baseConfig, validateObject, type Json } from './helpers.js';

const sc = (c: Json) => c.SystemConfigs[0];
const user = (c: Json) => c.SystemConfigs[0].Users[0];
const repo = (c: Json) => c.SystemConfigs[0].PackageRepos[0];

interface Case {
  name: string;
  mutate: (c: Json) => void;
  path: string;
  message: string;
}

const CONTROL_CASES: Case[] = [
  { name: 'line feed in ExtraCommandLine (a grub menuentry)', mutate: (c) => { sc(c).KernelCommandLine.ExtraCommandLine = "quiet\n}\nmenuentry 'evil' {\n\tlinux /vmlinuz init=/bin/sh"; }, path: 'SystemConfigs[0].KernelCommandLine.ExtraCommandLine', message: 'U+000A (line feed) at position 6' },
  { name: 'tab in ExtraCommandLine', mutate: (c) => { sc(c).KernelCommandLine.ExtraCommandLine = 'a\tb'; }, path: 'SystemConfigs[0].KernelCommandLine.ExtraCommandLine', message: 'U+0009 (tab)' },
  { name: 'DEL in SELinuxPolicy', mutate: (c) => { sc(c).KernelCommandLine.SELinuxPolicy = 'x\u007f'; }, path: 'SystemConfigs[0].KernelCommandLine.SELinuxPolicy', message: 'U+007F (DEL)' },
  { name: 'line feed in MountOptions (an fstab line)', mutate: (c) => { sc(c).PartitionSettings[0].MountOptions = 'umask=0077\n/dev/sda1 / ext4 defaults 0 1'; }, path: 'SystemConfigs[0].PartitionSettings[0].MountOptions', message: 'control character U+000A' },
  { name: 'carriage return in Hostname', mutate: (c) => { sc(c).Hostname = 'kiln\r'; }, path: 'SystemConfigs[0].Hostname', message: 'U+000D (carriage return)' },
  { name: 'line feed in a user name', mutate: (c) => { user(c).Name = 'alice\nroot'; }, path: 'SystemConfigs[0].Users[0].Name', message: 'control character' },
  { name: 'line feed in a home directory', mutate: (c) => { user(c).HomeDirectory = '/home/a\nb'; }, path: 'SystemConfigs[0].Users[0].HomeDirectory', message: 'control character' },
  { name: 'escape in a shell', mutate: (c) => { user(c).StartupCommand = '/bin/sh\u001b'; }, path: 'SystemConfigs[0].Users[0].StartupCommand', message: 'U+001B (escape)' },
  { name: 'line feed in a password (chpasswd reads lines)', mutate: (c) => { user(c).Password = 'x\nroot:y'; }, path: 'SystemConfigs[0].Users[0].Password', message: 'control character' },
  { name: 'line feed in an inline SSH key', mutate: (c) => { user(c).SSHPubKeys = ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII9DxT/qrdE/aIDfHrv4WIj8otTzNc/ska5Yfrss6lQJ a\nssh-rsa AAAA'] }, path: 'SystemConfigs[0].Users[0].SSHPubKeys[0]', message: 'control character' },
  { name: 'line feed in a secondary group', mutate: (c) => { user(c).SecondaryGroups = ['sudo\nx']; }, path: 'SystemConfigs[0].Users[0].SecondaryGroups[0]', message: 'control character' },
  { name: 'line feed in a group name', mutate: (c) => { sc(c).Groups[0].Name = 'devs\n'; }, path: 'SystemConfigs[0].Groups[0].Name', message: 'control character' },
  { name: 'line feed in a repository Suite (an apt source)', mutate: (c) => { repo(c).Suite = 'bookworm main\ndeb [trusted=yes] http://evil.example/ bookworm'; }, path: 'SystemConfigs[0].PackageRepos[0].Suite', message: 'control character' },
  { name: 'line feed in a repository BaseUrl', mutate: (c) => { repo(c).BaseUrl = 'http://deb.debian.org/debian\n'; }, path: 'SystemConfigs[0].PackageRepos[0].BaseUrl', message: 'control character' },
  { name: 'line feed in a repository component', mutate: (c) => { repo(c).Components = ['main\n']; }, path: 'SystemConfigs[0].PackageRepos[0].Components[0]', message: 'control character' },
  { name: 'line feed in a repository Name', mutate: (c) => { repo(c).Name = 'deb\nian'; }, path: 'SystemConfigs[0].PackageRepos[0].Name', message: 'control character' },
  { name: 'line feed in a package name', mutate: (c) => { sc(c).Packages = ['openssh-server\nevil']; }, path: 'SystemConfigs[0].Packages[0]', message: 'control character' },
  { name: 'line feed in a kernel package', mutate: (c) => { sc(c).KernelOptions.default = 'linux-image-amd64\n'; }, path: 'SystemConfigs[0].KernelOptions.default', message: 'control character' },
  { name: 'line feed in an artifact name', mutate: (c) => { c.Disks[0].Artifacts[0].Name = 'base\nx'; }, path: 'Disks[0].Artifacts[0].Name', message: 'control character' },
  { name: 'line feed in script Args', mutate: (c) => { sc(c).PostInstallScripts[0].Args = '--quiet\n--loud'; }, path: 'SystemConfigs[0].PostInstallScripts[0].Args', message: 'control character' },
  { name: 'line feed in a network device', mutate: (c) => { sc(c).Networks[0].Device = 'eth\n0'; }, path: 'SystemConfigs[0].Networks[0].Device', message: 'control character' },
  { name: 'line feed in an AdditionalFiles destination', mutate: (c) => { sc(c).AdditionalFiles['files/motd'] = '/etc/mo\ntd'; }, path: 'SystemConfigs[0].AdditionalFiles["files/motd"]', message: 'control character' },
  { name: 'line feed in an AdditionalFiles source (a key)', mutate: (c) => { sc(c).AdditionalFiles['files/mo\ntd'] = '/etc/x'; }, path: 'SystemConfigs[0].AdditionalFiles["files/mo\\ntd"]', message: 'the key contains the control character' },
  { name: 'line feed in OverrideRpmLocales', mutate: (c) => { sc(c).OverrideRpmLocales = 'en\nfr'; }, path: 'SystemConfigs[0].OverrideRpmLocales', message: 'control character' },
];

const FORM_CASES: Case[] = [
  { name: 'mount point climbing out of the image', mutate: (c) => { sc(c).PartitionSettings[0].MountPoint = '/../../../../usr'; }, path: 'SystemConfigs[0].PartitionSettings[0].MountPoint', message: 'mount point "/../../../../usr" contains ".." and could name a directory outside the image' },
  { name: 'mount point with ".." inside', mutate: (c) => { sc(c).PartitionSettings[0].MountPoint = '/boot/../efi'; }, path: 'SystemConfigs[0].PartitionSettings[0].MountPoint', message: 'contains ".."' },
  { name: 'mount point with "."', mutate: (c) => { sc(c).PartitionSettings[0].MountPoint = '/boot/./efi'; }, path: 'SystemConfigs[0].PartitionSettings[0].MountPoint', message: 'contains a "." component' },
  { name: 'mount point with "//"', mutate: (c) => { sc(c).PartitionSettings[0].MountPoint = '/boot//efi'; }, path: 'SystemConfigs[0].PartitionSettings[0].MountPoint', message: 'contains "//"' },
  { name: 'mount point with a trailing "/"', mutate: (c) => { sc(c).PartitionSettings[0].MountPoint = '/boot/efi/'; }, path: 'SystemConfigs[0].PartitionSettings[0].MountPoint', message: 'ends with "/"' },
  { name: 'a package that is a dnf option (would install onto the host)', mutate: (c) => { sc(c).Packages = ['--installroot=/']; }, path: 'SystemConfigs[0].Packages[0]', message: 'starts with "-", which a package manager would read as an option' },
  { name: 'a kernel package that is an option', mutate: (c) => { sc(c).KernelOptions.default = '--setopt=gpgcheck=0'; }, path: 'SystemConfigs[0].KernelOptions.default', message: 'starts with "-"' },
  { name: 'OverrideRpmLocales with an rpm macro (a shell command on the host)', mutate: (c) => { sc(c).OverrideRpmLocales = 'en %(touch /tmp/pwned)'; }, path: 'SystemConfigs[0].OverrideRpmLocales', message: 'is not a list of locales' },
  { name: 'home directory with ":"', mutate: (c) => { user(c).HomeDirectory = '/home/a:0:0'; }, path: 'SystemConfigs[0].Users[0].HomeDirectory', message: 'contains ":", the field separator of /etc/passwd' },
  { name: 'suite with a blank', mutate: (c) => { repo(c).Suite = 'bookworm main'; }, path: 'SystemConfigs[0].PackageRepos[0].Suite', message: 'suite "bookworm main" contains a blank' },
  { name: 'component with a blank', mutate: (c) => { repo(c).Components = ['main contrib']; }, path: 'SystemConfigs[0].PackageRepos[0].Components[0]', message: 'contains a blank' },
];

const OUTSIDE_CASES: Case[] = [
  { name: '/etc/shadow as an AdditionalFiles source', mutate: (c) => { sc(c).AdditionalFiles['/etc/shadow'] = '/etc/x'; }, path: 'SystemConfigs[0].AdditionalFiles["/etc/shadow"]', message: 'additional file "/etc/shadow" is outside the config\'s directory' },
  { name: 'a relative source climbing out', mutate: (c) => { sc(c).AdditionalFiles['../../../../../etc/hostname'] = '/etc/x'; }, path: 'SystemConfigs[0].AdditionalFiles["../../../../../etc/hostname"]', message: 'is outside the config\'s directory' },
  { name: 'a script outside', mutate: (c) => { sc(c).PostInstallScripts[0].Path = '/bin/true'; }, path: 'SystemConfigs[0].PostInstallScripts[0].Path', message: 'script "/bin/true" is outside' },
  { name: 'an SSH key file outside', mutate: (c) => { user(c).SSHPubKeyPaths = ['/etc/ssh/ssh_host_ed25519_key']; }, path: 'SystemConfigs[0].Users[0].SSHPubKeyPaths[0]', message: 'SSH public key file "/etc/ssh/ssh_host_ed25519_key" is outside' },
  { name: 'a keyring outside', mutate: (c) => { repo(c).SignedBy = '/usr/share/keyrings/debian-archive-keyring.gpg'; }, path: 'SystemConfigs[0].PackageRepos[0].SignedBy', message: 'keyring "/usr/share/keyrings/debian-archive-keyring.gpg" is outside' },
  { name: 'a package list outside', mutate: (c) => { sc(c).PackageLists = ['/etc/passwd']; }, path: 'SystemConfigs[0].PackageLists[0]', message: 'package list "/etc/passwd" is outside' },
  { name: 'a raw binary outside', mutate: (c) => { c.Disks[0].RawBinaries = [{ BinPath: '/etc/hostname', BlockSize: 512, Seek: 0 }]; }, path: 'Disks[0].RawBinaries[0].BinPath', message: 'raw binary "/etc/hostname" is outside' },
  { name: 'an RPM repository key outside (read on the host, copied into the image)', mutate: (c) => { asRpm(c); repo(c).GPGKeys = 'https://k.example/key file:///etc/shadow'; }, path: 'SystemConfigs[0].PackageRepos[0].GPGKeys', message: 'repository key "/etc/shadow" is outside' },
  { name: 'a diff base image outside', mutate: (c) => { sc(c).PartitionSettings[1].RdiffBaseImage = '/etc/hostname'; }, path: 'SystemConfigs[0].PartitionSettings[1].RdiffBaseImage', message: 'base image "/etc/hostname" is outside' },
];

describe('config rules: rendered text and referenced files', () => {
  it.each([...CONTROL_CASES, ...FORM_CASES, ...OUTSIDE_CASES].map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const config = baseConfig();
    c.mutate(config);
    const result = validateObject(config);
    const match = result.findings.find((f) => f.path === c.path && f.message.includes(c.message));
    expect(match, `findings were:\n${result.findings.map((f) => `${f.path}: ${f.message}`).join('\n')}`).toBeDefined();
    expect(match!.severity).toBe('error');
    expect(result.valid).toBe(false);
  });

  it('a package list outside the directory is not even read (its content never reaches a message)', () => {
    const config = baseConfig();
    sc(config).PackageLists = ['/etc/shadow'];
    const result = validateObject(config);
    expect(result.findings.filter((f) => f.file.includes('shadow'))).toEqual([]);
    expect(result.findings.some((f) => f.path === 'SystemConfigs[0].PackageLists[0]' && /outside/.test(f.message))).toBe(true);
  });

  it('--allow-outside-config-dir lifts the rule (and only that rule)', () => {
    const config = baseConfig();
    sc(config).AdditionalFiles['/etc/hostname'] = '/etc/x';
    sc(config).KernelCommandLine.ExtraCommandLine = 'a\nb';
    const text = JSON.stringify(config);
    const allowed = validateConfigText(text, join(BASE_DIR, 'base.json'), { allowOutsideConfigDir: true });
    expect(allowed.findings.map((f) => f.path)).toEqual(['SystemConfigs[0].KernelCommandLine.ExtraCommandLine']);
    const strict = validateConfigText(text, join(BASE_DIR, 'base.json'));
    expect(strict.findings.map((f) => f.path)).toContain('SystemConfigs[0].AdditionalFiles["/etc/hostname"]');
  });

  it("RPM keys: URLs and public keys in the host's RPM key directory are not files of the config", () => {
    const config = asRpm(baseConfig());
    repo(config).GPGKeys = 'https://k.example/key file:///etc/pki/rpm-gpg/MICROSOFT-RPM-GPG-KEY /etc/pki/rpm-gpg/MICROSOFT-METADATA-GPG-KEY';
    const outside = (c: Json) => validateObject(c).findings.filter((f) => f.path.includes('GPGKeys') && /outside/.test(f.message));
    expect(outside(config)).toEqual([]);
    repo(config).GPGKeys = '/etc/pki/rpm-gpg/a-custom-key';
    expect(outside(config)).toEqual([]);
    repo(config).GPGKeys = '/etc/pki/rpm-gpg/../../shadow';
    expect(outside(config).map((f) => f.path)).toEqual(['SystemConfigs[0].PackageRepos[0].GPGKeys']);
    repo(config).GPGKeys = '/root/key.asc';
    expect(outside(config).map((f) => f.path)).toEqual(['SystemConfigs[0].PackageRepos[0].GPGKeys']);
  });

  it('comments (keys starting with "_") may hold anything', () => {
    const config = baseConfig();
    sc(config)._note = 'line one\nline two';
    expect(validateObject(config).findings).toEqual([]);
  });
});

describe('links out of the config directory', () => {
  let dir: string;
  let cfg: string;
  let outside: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-confine-'));
    cfg = join(dir, 'cfg');
    cpSync(BASE_DIR, cfg, { recursive: true });
    outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'TOP-SECRET-LINE\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const validate = (mutate: (c: Json) => void, opts = {}) => {
    const c = baseConfig();
    mutate(c);
    return validateConfigText(JSON.stringify(c), join(cfg, 'base.json'), opts);
  };

  it('a source that is a link leading outside counts as outside; a link inside is fine', () => {
    symlinkSync(join(outside, 'secret'), join(cfg, 'files/escape'));
    symlinkSync('motd', join(cfg, 'files/alias'));
    const r = validate((c) => {
      sc(c).AdditionalFiles['files/escape'] = '/etc/escape';
      sc(c).AdditionalFiles['files/alias'] = '/etc/alias';
    });
    expect(r.findings.map((f) => `${f.path}: ${f.message}`)).toEqual([
      `SystemConfigs[0].AdditionalFiles["files/escape"]: additional file "files/escape" is outside the config's directory ${cfg} (it leads to ${join(outside, 'secret')})`,
    ]);
  });

  it('a source directory holding a link that leads outside is refused, naming the link', () => {
    mkdirSync(join(cfg, 'tree/sub'), { recursive: true });
    writeFileSync(join(cfg, 'tree/ok'), 'ok');
    symlinkSync('../ok', join(cfg, 'tree/sub/inside'));
    symlinkSync(outside, join(cfg, 'tree/sub/out'));
    const r = validate((c) => {
      sc(c).AdditionalFiles['tree'] = '/opt/tree';
    });
    expect(r.findings.map((f) => f.message)).toEqual([`"tree" holds the link "sub/out", which leads outside the config's directory ${cfg}`]);
    expect(validate((c) => void (sc(c).AdditionalFiles['tree'] = '/opt/tree'), { allowOutsideConfigDir: true }).valid).toBe(true);
  });

  it('an SSH key file with a line that is not a key: the finding names the line number, never the line', () => {
    writeFileSync(join(cfg, 'keys/alice.pub'), '# comment\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII9DxT/qrdE/aIDfHrv4WIj8otTzNc/ska5Yfrss6lQJ a@b\nTOP-SECRET-LINE\n');
    const r = validate(() => undefined);
    expect(r.findings.map((f) => `${f.path}: ${f.message}`)).toEqual([
      'SystemConfigs[0].Users[0].SSHPubKeyPaths[0]: line 3 of "keys/alice.pub" is not an OpenSSH public key (is it a private key?)',
    ]);
    expect(JSON.stringify(r.findings)).not.toContain('TOP-SECRET');
  });

  it('loadConfig (what build runs) refuses an outside file with exit code 1, and accepts it with the flag', async () => {
    const c = baseConfig();
    sc(c).AdditionalFiles[join(outside, 'secret')] = '/etc/x';
    writeFileSync(join(cfg, 'out.json'), JSON.stringify(c));
    const err = await loadConfig(join(cfg, 'out.json')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigInvalidError);
    expect((err as ConfigInvalidError).exitCode).toBe(1);
    const loaded = await loadConfig(join(cfg, 'out.json'), { allowOutsideConfigDir: true });
    expect(loaded.allowOutsideConfigDir).toBe(true);
  });
});

import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../../src/core/exec.js';
import { KilnError } from '../../../src/core/errors.js';
import type { SystemConfig } from '../../../src/config/model.js';
import { resolveInRoot } from '../../../src/system/paths.js';
import { runScripts, systemSteps } from '../../../src/system/index.js';
import { hostnameStep } from '../../../src/system/steps/hostname.js';
import { fstabStep } from '../../../src/system/steps/fstab.js';
import { machineIdStep } from '../../../src/system/steps/machine-id.js';
import { copyAdditionalFiles } from '../../../src/system/steps/additional-files.js';
import { dpkgExcludesStep } from '../../../src/system/steps/dpkg-excludes.js';
import { finishDebianPackageState } from '../../../src/distro/debian/package-state.js';
import { debian } from '../../../src/distro/catalog/debian.js';
import { azurelinux } from '../../../src/distro/catalog/azurelinux.js';
import { usersStep } from '../../../src/system/steps/users.js';
import { selinuxStep } from '../../../src/system/steps/selinux.js';
import { networksStep } from '../../../src/system/steps/networks.js';
import type { SystemContext } from '../../../src/system/types.js';

/**
 * The steps that only write files, run against a scratch directory standing in for the image root.
 * Steps that need the image's own tools (useradd, systemctl) are proven on a real image in
 * test/e2e/features.test.ts; here `chroot` records what would run.
 */
let dir: string;
let root: string;
let ran: string[][];

function ctx(sc: Partial<SystemConfig>, extra: Partial<SystemContext> = {}): SystemContext {
  const full = { Name: 'test', ...sc } as SystemConfig;
  return {
    root,
    sc: full,
    distro: debian,
    loaded: { file: '/cfg/test.json', baseDir: dir, name: 'test', config: { SystemConfigs: [full] } },
    chroot: async (argv) => {
      ran.push(argv);
      return { code: 0, stdout: '', stderrTail: '' };
    },
    ...extra,
  };
}
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const mode = (p: string) => statSync(join(root, p)).mode & 0o7777;
function put(p: string, text = 'x'): void {
  mkdirSync(join(root, p, '..'), { recursive: true });
  writeFileSync(join(root, p), text);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-system-'));
  root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  ran = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('paths inside the image', () => {
  it('follows absolute and relative symlinks inside the root, never out of it', async () => {
    mkdirSync(join(root, 'run/systemd/resolve'), { recursive: true });
    symlinkSync('/run/systemd/resolve/stub-resolv.conf', join(root, 'etc/resolv.conf'));
    expect(await resolveInRoot(root, '/etc/resolv.conf')).toBe(join(root, 'run/systemd/resolve/stub-resolv.conf'));
    symlinkSync('../../..', join(root, 'run/systemd/up'));
    expect(await resolveInRoot(root, '/run/systemd/up/../../etc/passwd')).toBe(join(root, 'etc/passwd'));
    symlinkSync('loop', join(root, 'loop'));
    await expect(resolveInRoot(root, '/loop/x')).rejects.toThrow(/too many symbolic links/);
  });
});

describe('file-writing steps', () => {
  it('hostname: writes /etc/hostname and /etc/hosts; replaces the build host name when Hostname is absent', async () => {
    put('etc/hostname', 'buildhost\n');
    await hostnameStep.run(ctx({ Hostname: 'kiln-test' }));
    expect(read('etc/hostname')).toBe('kiln-test\n');
    expect(read('etc/hosts')).toContain('127.0.1.1\tkiln-test');
    await hostnameStep.run(ctx({}));
    expect(read('etc/hostname')).toBe('localhost\n');
    await expect(hostnameStep.run(ctx({ Hostname: 'bad_name!' }))).rejects.toThrow(/\/cfg\/test\.json: SystemConfigs\[0\]\.Hostname: 'bad_name!'/);
  });

  it('fstab: applies to disk builds and hidepid-only rootfs builds', async () => {
    expect(fstabStep.applies(ctx({}))).toBe(false);
    const c = ctx({ EnableHidepid: true });
    expect(fstabStep.applies(c)).toBe(true);
    await fstabStep.run(c);
    expect(read('etc/fstab')).toMatch(/^proc\t\/proc\tproc\t.*hidepid=2/m);
  });

  it('machine-id: "uninitialized" with systemd firstboot, else empty; a stale D-Bus copy is removed', async () => {
    put('etc/machine-id', '0123456789abcdef0123456789abcdef\n');
    put('var/lib/dbus/machine-id', '0123456789abcdef0123456789abcdef\n');
    await machineIdStep.run(ctx({ EnableSystemdFirstboot: true }));
    expect(read('etc/machine-id')).toBe('uninitialized\n');
    expect(existsSync(join(root, 'var/lib/dbus/machine-id'))).toBe(false);
    await machineIdStep.run(ctx({}));
    expect(read('etc/machine-id')).toBe('');
    expect(mode('etc/machine-id')).toBe(0o444);
  });

  it('additional files: Permissions applied, else the source mode kept; parents created', async () => {
    const src = join(dir, 'tool.sh');
    writeFileSync(src, '#!/bin/sh\n', { mode: 0o640 });
    await copyAdditionalFiles(ctx({}), [
      { source: src, destination: '/usr/local/bin/tool', permissions: 0o755 },
      { source: src, destination: '/opt/a/b/tool.sh' },
    ]);
    expect(mode('usr/local/bin/tool')).toBe(0o755);
    expect(mode('opt/a/b/tool.sh')).toBe(0o640);
    expect(read('opt/a/b/tool.sh')).toBe('#!/bin/sh\n');
    await expect(copyAdditionalFiles(ctx({}), [{ source: join(dir, 'nope'), destination: '/x' }])).rejects.toThrow(/AdditionalFiles: source .*nope' does not exist/);
  });

  it('dpkg filters: the fragment stays in the image and already-unpacked docs/locales are pruned', async () => {
    put('usr/share/doc/bash/README', 'r');
    put('usr/share/doc/bash/copyright', 'c');
    put('usr/share/man/man1/ls.1.gz', 'm');
    put('usr/share/locale/fr/LC_MESSAGES/bash.mo', 'l');
    const c = ctx({ DisableRpmDocs: true });
    expect(dpkgExcludesStep.applies(c)).toBe(true);
    await dpkgExcludesStep.run(c);
    expect(read('etc/dpkg/dpkg.cfg.d/kiln-excludes')).toContain('path-exclude=/usr/share/doc/*');
    expect(existsSync(join(root, 'usr/share/doc/bash/README'))).toBe(false);
    expect(existsSync(join(root, 'usr/share/man/man1/ls.1.gz'))).toBe(false);
    expect(read('usr/share/doc/bash/copyright')).toBe('c');
    expect(read('usr/share/locale/fr/LC_MESSAGES/bash.mo')).toBe('l');
  });

  it('package cache: cleaned by default, kept with PreserveTdnfCache; RemoveRpmDb keeps the dpkg database', async () => {
    put('var/cache/apt/archives/bash_5.2_amd64.deb');
    put('var/cache/apt/pkgcache.bin');
    put('var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease');
    put('var/lib/apt/lists/lock', '');
    put('var/lib/dpkg/status', 'Package: bash\n');
    put('var/lib/dpkg/status-old', 'Package: bash\n');
    await finishDebianPackageState({ ...ctx({}), cacheDir: dir, installed: [] });
    expect(readdirSync(join(root, 'var/cache/apt/archives'))).toEqual([]);
    expect(existsSync(join(root, 'var/cache/apt/pkgcache.bin'))).toBe(false);
    expect(readdirSync(join(root, 'var/lib/apt/lists'))).toEqual(['lock']);
    expect(existsSync(join(root, 'var/lib/dpkg/status-old'))).toBe(true);
    put('var/cache/apt/archives/bash_5.2_amd64.deb');
    put('var/log/apt/history.log');
    await finishDebianPackageState({ ...ctx({ RemoveRpmDb: true, PreserveTdnfCache: true }), cacheDir: dir, installed: [] });
    expect(existsSync(join(root, 'var/lib/dpkg/status-old'))).toBe(false);
    expect(existsSync(join(root, 'var/log/apt/history.log'))).toBe(false);
    expect(read('var/lib/dpkg/status')).toBe('Package: bash\n');
    expect(read('var/lib/dpkg/available')).toBe('');
    expect(readdirSync(join(root, 'var/cache/apt/archives'))).toEqual(['bash_5.2_amd64.deb']); // PreserveTdnfCache wins for the cache
  });
});

describe('selinux and networks', () => {
  it('SELinux mode in /etc/selinux/config (force_enforcing is enforcing there), policy type, relabel on first boot', async () => {
    const c = ctx({ KernelCommandLine: { SELinux: 'force_enforcing' } });
    expect(selinuxStep.applies(ctx({}))).toBe(false);
    await selinuxStep.run(c);
    expect(read('etc/selinux/config')).toContain('SELINUX=enforcing\nSELINUXTYPE=default\n');
    expect(existsSync(join(root, '.autorelabel'))).toBe(true);
    await selinuxStep.run(ctx({ KernelCommandLine: { SELinux: 'permissive', SELinuxPolicy: 'selinux-policy-mls' } }));
    expect(read('etc/selinux/config')).toContain('SELINUX=permissive\nSELINUXTYPE=mls\n');
  });
  it('SELinux on Azure Linux: the "targeted" policy, and files labelled at build time by the image\'s own setfiles', async () => {
    put('etc/selinux/targeted/contexts/files/file_contexts', '/.* system_u:object_r:default_t:s0\n');
    put('usr/sbin/setfiles');
    await selinuxStep.run(ctx({ KernelCommandLine: { SELinux: 'enforcing' } }, { distro: azurelinux }));
    expect(read('etc/selinux/config')).toContain('SELINUX=enforcing\nSELINUXTYPE=targeted\n');
    expect(ran.at(-1)).toEqual(['setfiles', '-F', '-e', '/proc', '-e', '/sys', '-e', '/dev', '-e', '/run', '/etc/selinux/targeted/contexts/files/file_contexts', '/']);
    expect(existsSync(join(root, '.autorelabel'))).toBe(false);
  });
  it('Networks need systemd-networkd in the image; with it, units are written and the service enabled', async () => {
    const c = ctx({ Networks: [{ BootProto: 'dhcp', Device: 'eth0' }] });
    await expect(networksStep.run(c)).rejects.toThrow(/SystemConfigs\[0\]\.Networks: the image has no systemd-networkd/);
    put('usr/lib/systemd/system/systemd-networkd.service', '[Unit]\n');
    await networksStep.run(c);
    expect(read('etc/systemd/network/10-kiln-eth0.network')).toContain('DHCP=ipv4');
    expect(ran).toEqual([['systemctl', 'enable', 'systemd-networkd.service']]);
  });
});

describe('users step: user mistakes stop before touching the image', () => {
  it('names the missing group and the key', async () => {
    put('etc/passwd', 'root:x:0:0:root:/root:/bin/bash\n');
    put('etc/group', 'root:x:0:\n');
    await expect(usersStep.run(ctx({ Users: [{ Name: 'a', SecondaryGroups: ['nosuch'] }] }))).rejects.toThrow(
      /SystemConfigs\[0\]\.Users\[0\]\.SecondaryGroups\[0\]: group 'nosuch' does not exist in the image; add it to Groups/,
    );
    expect(ran).toEqual([]);
  });
  it('rejects a private key given as a public key, and a multi-line password', async () => {
    put('etc/passwd', 'root:x:0:0:root:/root:/bin/bash\n');
    put('etc/group', 'root:x:0:\n');
    await expect(usersStep.run(ctx({ Users: [{ Name: 'root', SSHPubKeys: ['-----BEGIN OPENSSH PRIVATE KEY-----'] }] }))).rejects.toThrow(/not an OpenSSH public key/);
    await expect(usersStep.run(ctx({ Users: [{ Name: 'root', Password: 'a\nb' }] }))).rejects.toThrow(/Users\[0\]\.Password must be a single line/);
  });
  it('locks root when no root password is given, without needing usermod in the image (containers)', async () => {
    put('etc/passwd', 'root:x:0:0:root:/root:/bin/bash\n');
    put('etc/group', 'root:x:0:\n');
    put('etc/shadow', 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n');
    await usersStep.run(ctx({}));
    expect(ran).toEqual([]);
    expect(read('etc/shadow')).toBe('root:!*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n');
    await usersStep.run(ctx({}));
    expect(read('etc/shadow')).toBe('root:!*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n');
  });
});

describe('scripts', () => {
  // A stand-in chroot that runs the staged script from the host path: what is tested here is staging,
  // argument passing, removal and the failure message; the real chroot is used end to end.
  const hostChroot = (argv: string[]) => run(join(root, argv[0]!), argv.slice(1), { allowFailure: true });

  it('runs each script with its Args split, in order, and removes the staged copies', async () => {
    const out = join(dir, 'out.txt');
    const script = join(dir, 'mark.sh');
    writeFileSync(script, `#!/bin/sh\nfor a in "$@"; do echo "[$a]" >> ${out}; done\n`);
    const c = ctx({ PostInstallScripts: [{ Path: script, Args: `one 'two words'` }, { Path: script }, { Path: script, Args: 'three' }] }, { chroot: hostChroot });
    await runScripts(c, 'PostInstallScripts');
    expect(readFileSync(out, 'utf8')).toBe('[one]\n[two words]\n[three]\n');
    expect(readdirSync(join(root, 'var/tmp'))).toEqual([]);
  });

  it('a failing script fails the build with its path and exit code, and leaves nothing staged', async () => {
    const script = join(dir, 'fail.sh');
    writeFileSync(script, '#!/bin/sh\necho broken >&2\nexit 7\n');
    const c = ctx({ FinalizeImageScripts: [{ Path: script }] }, { chroot: hostChroot });
    const err = await runScripts(c, 'FinalizeImageScripts').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).message).toBe(`/cfg/test.json: SystemConfigs[0].FinalizeImageScripts[0]: script ${script} failed with exit code 7`);
    expect((err as KilnError).details.join('\n')).toContain('broken');
    expect(readdirSync(join(root, 'var/tmp'))).toEqual([]);
  });

  it('a missing script is a config error naming the key', async () => {
    const c = ctx({ PostInstallScripts: [{ Path: join(dir, 'missing.sh') }] }, { chroot: hostChroot });
    await expect(runScripts(c, 'PostInstallScripts')).rejects.toThrow(/PostInstallScripts\[0\]\.Path: cannot read script .*ENOENT/);
  });
});

describe('step list', () => {
  it('has unique names and keeps the dependency order', () => {
    const names = systemSteps.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.indexOf('groups')).toBeLessThan(names.indexOf('users'));
    expect(names.indexOf('users')).toBeLessThan(names.indexOf('additional-files'));
    expect(names.at(-1)).toBe('machine-id');
  });
});

/**
 * The build steps against a scratch root that plays a hostile image: links planted where Kiln writes
 * (as a package or a PostInstallScript could), pointing at "host" files (a sibling directory here).
 * Nothing outside the root may be read into the image, written, created or removed. The same with
 * the real tools and a real image: test/e2e/untrusted-config.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installBootloader, type BootContext } from '../../../src/boot/index.js';
import type { SystemConfig } from '../../../src/config/model.js';
import { KilnError } from '../../../src/core/errors.js';
import { Scope } from '../../../src/core/scope.js';
import type { DistroBackend } from '../../../src/distro/backend.js';
import { DebianBackend } from '../../../src/distro/debian/index.js';
import { writeInRoot } from '../../../src/system/paths.js';
import { runScripts } from '../../../src/system/scripts.js';
import { copyAdditionalFiles } from '../../../src/system/steps/additional-files.js';
import { usersStep } from '../../../src/system/steps/users.js';
import { finishDebianPackageState } from '../../../src/distro/debian/package-state.js';
import { debian } from '../../../src/distro/catalog/debian.js';
import type { SystemContext } from '../../../src/system/types.js';

let dir: string;
let cfg: string; // the config's directory
let root: string; // the image
let host: string; // stands for the build host's files
let ran: string[][];
const hostSnapshot = () =>
  readdirSync(host, { recursive: true, withFileTypes: true })
    .map((e) => `${join(e.parentPath, e.name).slice(host.length)}${e.isFile() ? `=${readFileSync(join(e.parentPath, e.name), 'utf8')}` : ''}`)
    .sort();
let before: string[];

function ctx(sc: Partial<SystemConfig>, extra: Partial<SystemContext> & { allowOutside?: boolean } = {}): SystemContext {
  const full = { Name: 'test', ...sc } as SystemConfig;
  const { allowOutside, ...rest } = extra;
  return {
    root,
    sc: full,
    distro: debian,
    loaded: { file: join(cfg, 'test.json'), baseDir: cfg, name: 'test', config: { SystemConfigs: [full] }, ...(allowOutside ? { allowOutsideConfigDir: true } : {}) },
    chroot: async (argv) => {
      ran.push(argv);
      return { code: 0, stdout: '', stderrTail: '' };
    },
    ...rest,
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-hostile-'));
  cfg = join(dir, 'cfg');
  root = join(dir, 'root');
  host = join(dir, 'host');
  for (const d of [cfg, join(root, 'etc'), join(root, 'run'), join(root, 'var'), host]) mkdirSync(d, { recursive: true });
  writeFileSync(join(host, 'canary'), 'host\n');
  mkdirSync(join(host, 'run'));
  ran = [];
  before = hostSnapshot();
});
afterEach(() => {
  expect(hostSnapshot()).toEqual(before); // whatever a test did, the host is as it was
  rmSync(dir, { recursive: true, force: true });
});

describe('AdditionalFiles', () => {
  it('a destination below a linked directory (/var/run -> /run) lands in the image, never on the host', async () => {
    writeFileSync(join(cfg, 'payload'), 'payload');
    symlinkSync('/run', join(root, 'var/run'));
    symlinkSync(join(host, 'run'), join(root, 'etc/hostrun')); // absolute host path: a path of the image
    await copyAdditionalFiles(ctx({}), [
      { source: join(cfg, 'payload'), destination: '/var/run/kiln-payload' },
      { source: join(cfg, 'payload'), destination: '/etc/hostrun/kiln/scope-1.json' },
    ]);
    expect(readFileSync(join(root, 'run/kiln-payload'), 'utf8')).toBe('payload');
    expect(readFileSync(join(root, host, 'run/kiln/scope-1.json'), 'utf8')).toBe('payload');
  });

  it('a directory source: links inside it are copied as what they point to when that is in the config directory, refused otherwise', async () => {
    mkdirSync(join(cfg, 'tree/sub'), { recursive: true });
    writeFileSync(join(cfg, 'tree/a'), 'a');
    symlinkSync('../a', join(cfg, 'tree/sub/alias'));
    await copyAdditionalFiles(ctx({}), [{ source: join(cfg, 'tree'), destination: '/opt/tree', permissions: 0o750 }]);
    expect(readFileSync(join(root, 'opt/tree/sub/alias'), 'utf8')).toBe('a');
    expect(statSync(join(root, 'opt/tree')).mode & 0o777).toBe(0o750);
    symlinkSync(join(host, 'canary'), join(cfg, 'tree/leak'));
    await expect(copyAdditionalFiles(ctx({}), [{ source: join(cfg, 'tree'), destination: '/opt/tree2' }])).rejects.toThrow(/tree\/leak' is outside the config's directory/);
    expect(existsSync(join(root, 'opt/tree2/leak'))).toBe(false);
  });

  it('a source outside the config directory is refused at copy time too (defence in depth), unless allowed', async () => {
    await expect(copyAdditionalFiles(ctx({}), [{ source: join(host, 'canary'), destination: '/etc/x' }])).rejects.toThrow(/is outside the config's directory/);
    expect(existsSync(join(root, 'etc/x'))).toBe(false);
    await copyAdditionalFiles(ctx({}, { allowOutside: true }), [{ source: join(host, 'canary'), destination: '/etc/x' }]);
    expect(readFileSync(join(root, 'etc/x'), 'utf8')).toBe('host\n');
  });
});

describe('users', () => {
  beforeEach(() => {
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  });

  it('a key file line that is not a key: the error names the file and line number, never the line', async () => {
    writeFileSync(join(cfg, 'alice.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII9DxT/qrdE/aIDfHrv4WIj8otTzNc/ska5Yfrss6lQJ a@b\n-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA\n');
    const err = (await usersStep.run(ctx({ Users: [{ Name: 'alice', SSHPubKeyPaths: [join(cfg, 'alice.pub')] }] })).catch((e: unknown) => e)) as KilnError;
    expect(err).toBeInstanceOf(KilnError);
    expect(err.message).toMatch(/SystemConfigs\[0\]\.Users\[0\]\.SSHPubKeyPaths\[0\] \('.*alice\.pub'\), line 2: not an OpenSSH public key/);
    expect(err.message + err.details.join('\n')).not.toContain('BEGIN');
    expect(err.message).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
  });

  it('authorized_keys goes inside the image even when the home or .ssh is a link to a host path', async () => {
    writeFileSync(join(cfg, 'alice.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII9DxT/qrdE/aIDfHrv4WIj8otTzNc/ska5Yfrss6lQJ a@b\n');
    mkdirSync(join(root, 'home'));
    symlinkSync(host, join(root, 'home/alice'));
    await usersStep.run(ctx({ Users: [{ Name: 'alice', SSHPubKeyPaths: [join(cfg, 'alice.pub')] }] }));
    expect(readFileSync(join(root, host, '.ssh/authorized_keys'), 'utf8')).toContain('ssh-ed25519');
  });

  it('an SSH key file outside the config directory is refused', async () => {
    await expect(usersStep.run(ctx({ Users: [{ Name: 'alice', SSHPubKeyPaths: [join(host, 'canary')] }] }))).rejects.toThrow(/SSHPubKeyPaths\[0\]: .* is outside the config's directory/);
  });
});

describe('scripts and caches', () => {
  it('a script that swaps /var/tmp (its staging directory) for a link cannot redirect the next copy or the clean-up', async () => {
    writeFileSync(join(cfg, 's.sh'), '#!/bin/sh\n');
    const chroot = async (argv: string[]) => {
      ran.push(argv);
      if (ran.length === 1) {
        // the first script: replace the image's /var/tmp by a link to a host directory
        renameSync(join(root, 'var/tmp'), join(root, 'var/tmp.moved'));
        symlinkSync(host, join(root, 'var/tmp'));
      }
      return { code: 0, stdout: '', stderrTail: '' };
    };
    await runScripts(ctx({ PostInstallScripts: [{ Path: join(cfg, 's.sh') }, { Path: join(cfg, 's.sh') }] }, { chroot }), 'PostInstallScripts');
    expect(ran.length).toBe(2);
    // the second script was staged in the directory Kiln holds (moved, still in the image), then removed with it
    expect(readdirSync(join(root, 'var/tmp.moved'))).toEqual([]);
  });

  it('a script outside the config directory is refused before anything runs', async () => {
    await expect(runScripts(ctx({ PostInstallScripts: [{ Path: join(host, 'canary') }] }), 'PostInstallScripts')).rejects.toThrow(/PostInstallScripts\[0\]\.Path: .* is outside/);
    expect(ran).toEqual([]);
  });

  it('package cache clean-up removes links in the image, never their targets', async () => {
    mkdirSync(join(root, 'var/cache/apt'), { recursive: true });
    symlinkSync(host, join(root, 'var/cache/apt/archives'));
    mkdirSync(join(root, host), { recursive: true });
    writeFileSync(join(root, host, 'x.deb'), '');
    mkdirSync(join(root, 'var/lib/apt/lists'), { recursive: true });
    symlinkSync(join(host, 'canary'), join(root, 'var/lib/apt/lists/canary'));
    await finishDebianPackageState({ ...ctx({}), cacheDir: dir, installed: [] });
    expect(existsSync(join(root, host, 'x.deb'))).toBe(false);
    expect(readdirSync(join(root, 'var/lib/apt/lists'))).toEqual([]);
  });

  it('PreserveTdnfCache copies into the image even when /var/cache/apt/archives is a link to a host path', async () => {
    const cache = join(dir, 'cache');
    mkdirSync(cache);
    writeFileSync(join(cache, 'bash_5.2_amd64.deb'), 'deb');
    mkdirSync(join(root, 'var/cache/apt'), { recursive: true });
    symlinkSync(host, join(root, 'var/cache/apt/archives'));
    const note = await new DebianBackend(debian, 'bookworm').finishPackageState({ root, sc: { Name: 't', PreserveTdnfCache: true }, cacheDir: cache, installed: [{ name: 'bash', version: '5.2', arch: 'amd64' }] });
    expect(note).toMatch(/kept 1 package/);
    expect(readFileSync(join(root, host, 'bash_5.2_amd64.deb'), 'utf8')).toBe('deb');
  });
});

describe('boot step', () => {
  const backend = {
    decl: debian,
    name: 'debian',
    family: 'debian',
    grub: debian.grub,
    kernels: async () => ['6.1.0-9-amd64'],
  } as unknown as DistroBackend;

  function bootCtx(sc: Partial<SystemConfig>, esp: string): BootContext {
    return {
      scope: new Scope('boot test'),
      root,
      sc: { Name: 'test', ...sc } as SystemConfig,
      backend,
      // stand-ins for the image's grub tools: they write where the image's own tools would
      chroot: async (argv) => {
        ran.push(argv);
        if (argv[0] === 'grub-mkimage') await writeInRoot(root, '/tmp/kiln-grubx64.efi', 'EFI');
        if (argv[0] === 'grub-mkconfig') await writeInRoot(root, '/boot/grub/grub.cfg', "menuentry 'x' {\n\tlinux /boot/vmlinuz-6 root=/dev/loop0p2 ro quiet\n}\n");
        return { code: 0, stdout: '', stderrTail: '' };
      },
      boot: 'efi',
      chain: { loader: 'grub', shim: false, secureBoot: false },
      table: 'gpt',
      diskDevice: '/dev/null',
      rootDevice: 'PARTUUID=p-root',
      rootLayered: false,
      layerArgs: () => [],
      bootFs: { uuid: 'u-root', prefix: '/boot' },
      fsTypes: ['fat32', 'ext4'],
      espStaging: esp,
      workDir: dir,
    };
  }

  it('writes the grub stub, the defaults file, grub.cfg, the ESP and the modules inside the image when each is a link to a host file', async () => {
    // what a PostInstallScript could plant before the bootloader step
    mkdirSync(join(root, 'tmp'));
    symlinkSync(join(host, 'canary'), join(root, 'tmp/kiln-grub-stub.cfg'));
    mkdirSync(join(root, 'etc/default'));
    symlinkSync(join(host, 'defaults'), join(root, 'etc/default/grub'));
    mkdirSync(join(root, 'boot/grub'), { recursive: true });
    symlinkSync(join(host, 'grub.cfg'), join(root, 'boot/grub/grub.cfg'));
    mkdirSync(join(root, 'usr/lib/grub/x86_64-efi'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/grub/x86_64-efi/normal.mod'), 'mod');
    symlinkSync(host, join(root, 'boot/grub/x86_64-efi'));
    const esp = join(dir, 'esp'); // the ESP staging directory, writable by the image
    mkdirSync(esp);
    symlinkSync(host, join(esp, 'EFI'));
    writeFileSync(join(root, 'boot/vmlinuz-6.1.0-9-amd64'), '');
    await installBootloader(bootCtx({ KernelCommandLine: { ExtraCommandLine: 'quiet' } }, esp));
    // all of it landed inside the image (the links resolved inside the root) ...
    expect(readFileSync(join(root, host, 'canary'), 'utf8')).toMatch(/^search --no-floppy --fs-uuid --set=root u-root\n/);
    expect(readFileSync(join(root, host, 'defaults'), 'utf8')).toMatch(/^GRUB_DEFAULT=0[\s\S]*GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200 quiet"/);
    expect(readFileSync(join(root, host, 'grub.cfg'), 'utf8')).toContain('root=PARTUUID=p-root ro quiet');
    expect(readFileSync(join(root, host, 'normal.mod'), 'utf8')).toBe('mod');
    expect(readFileSync(join(esp, host, 'BOOT/BOOTX64.EFI'), 'utf8')).toBe('EFI');
    expect(ran.map((a) => a[0])).toEqual(['grub-mkimage', 'grub-mkconfig']);
    // ... and afterEach checks the host directory is untouched
  });

  it("Kiln's own grub.cfg (EnableGrubMkconfig false) through a planted link stays in the image too", async () => {
    mkdirSync(join(root, 'boot/grub'), { recursive: true });
    symlinkSync(join(host, 'canary'), join(root, 'boot/grub/grub.cfg'));
    const esp = join(dir, 'esp');
    mkdirSync(esp);
    await installBootloader(bootCtx({ EnableGrubMkconfig: false }, esp));
    expect(readFileSync(join(root, host, 'canary'), 'utf8')).toContain("menuentry 'Debian GNU/Linux, Linux 6.1.0-9-amd64' {");
    expect(readFileSync(join(esp, 'EFI/BOOT/grub.cfg'), 'utf8')).toContain('configfile');
  });
});

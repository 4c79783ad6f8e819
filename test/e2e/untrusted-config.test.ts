/**
 * A config is untrusted input (e.g. from a pull request): end to end through the real CLI.
 *
 * - Cheap checks (no image): a MountPoint climbing out of the image, a host file as an
 *   AdditionalFiles source, and an SSH key file with a line that is not a key are refused by
 *   `kiln validate` and by `kiln build` (exit 1, before anything is created).
 * - One disk build (EFI, grub-mkconfig, PreserveTdnfCache) whose config tries to escape the image:
 *   an AdditionalFiles directory merged into /var (where /var/run -> /run) carries a file for
 *   /run/kiln, and a PostInstallScript replaces /etc/default/grub, /boot/grub/x86_64-efi and
 *   /var/cache/apt/archives by links to a directory of the build host. Everything must land inside
 *   the image (checked on the built disk) and the host's files must stay as they were.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/core/exec.js';
import { KILN } from './lib/images.js';
import { withPartitionMounted } from './lib/inspect.js';
import { e2eWorkDir } from './lib/workdir.js';

const TAG = randomBytes(4).toString('hex');
const SECRET = `kiln-e2e-secret-${TAG}`;
let work: string;

const kiln = (...args: string[]) => run(KILN, args, { allowFailure: true });

/** A config directory of its own: `config` is written as config.json, `files` as files beside it. */
function configDir(name: string, config: unknown, files: Record<string, string> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return join(dir, 'config.json');
}

const DISK = {
  PartitionTableType: 'gpt',
  MaxSize: 2048,
  Artifacts: [{ Name: 'untrusted', Type: 'raw' }],
  Partitions: [
    { ID: 'esp', Flags: ['esp', 'boot'], Start: 1, End: 65, FsType: 'fat32' },
    { ID: 'rootfs', Start: 65, End: 0, FsType: 'ext4' },
  ],
};
const SYSTEM = {
  Name: 'untrusted',
  BootType: 'efi',
  Distro: { Name: 'debian', Release: 'bookworm' },
  PartitionSettings: [
    { ID: 'esp', MountPoint: '/boot/efi', MountOptions: 'umask=0077' },
    { ID: 'rootfs', MountPoint: '/' },
  ],
  Packages: ['less'],
  KernelOptions: { default: 'linux-image-amd64' },
};

beforeAll(() => {
  work = join(e2eWorkDir(), `untrusted-${TAG}`);
  mkdirSync(work, { recursive: true });
});

describe('refused before anything is built', () => {
  const mountinfo = () => readFileSync('/proc/self/mountinfo', 'utf8');

  it('a MountPoint "/../../../../usr": validate exits 1 naming it; build exits 1 before creating anything', async () => {
    const config = configDir('mountpoint', {
      Disks: [DISK],
      SystemConfigs: [{ ...SYSTEM, PartitionSettings: [{ ID: 'esp', MountPoint: '/../../../../usr' }, { ID: 'rootfs', MountPoint: '/' }] }],
    });
    const v = await kiln('validate', config);
    expect(v.code).toBe(1);
    expect(v.stderrTail).toContain('SystemConfigs[0].PartitionSettings[0].MountPoint: mount point "/../../../../usr" contains ".."');
    const before = mountinfo();
    const out = join(work, 'mountpoint-out');
    const b = await kiln('build', config, '--out', out);
    expect(b.code).toBe(1);
    expect(b.stderrTail).toContain('contains ".."');
    expect(existsSync(out)).toBe(false); // no log, no work directory, no disk: nothing was touched
    expect(mountinfo()).toBe(before);
  });

  it('/etc/shadow as an AdditionalFiles source is refused without --allow-outside-config-dir', async () => {
    const config = configDir('shadow', { SystemConfigs: [{ ...SYSTEM, PartitionSettings: undefined, KernelOptions: undefined, BootType: undefined, AdditionalFiles: { '/etc/shadow': '/root/shadow' } }] });
    const v = await kiln('validate', config);
    expect(v.code).toBe(1);
    expect(v.stderrTail).toContain(`SystemConfigs[0].AdditionalFiles["/etc/shadow"]: additional file "/etc/shadow" is outside the config's directory`);
    expect(v.stderrTail).toContain('--allow-outside-config-dir');
    const out = join(work, 'shadow-out');
    const b = await kiln('build', config, '--out', out);
    expect(b.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    // the flag is an explicit decision of whoever runs the build
    expect((await kiln('validate', '--allow-outside-config-dir', config)).code).toBe(0);
  });

  it('an SSH key file with a line that is not a key: the error names the line number, never the line', async () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII9DxT/qrdE/aIDfHrv4WIj8otTzNc/ska5Yfrss6lQJ a@b';
    const config = configDir(
      'sshkey',
      { SystemConfigs: [{ ...SYSTEM, PartitionSettings: undefined, KernelOptions: undefined, BootType: undefined, Packages: ['passwd'], Users: [{ Name: 'alice', SSHPubKeyPaths: ['keys/alice.pub'] }] }] },
      { 'keys/alice.pub': `${key}\n${SECRET} PRIVATE KEY MATERIAL\n` },
    );
    const v = await kiln('validate', config);
    expect(v.code).toBe(1);
    expect(v.stderrTail).toContain('SystemConfigs[0].Users[0].SSHPubKeyPaths[0]: line 2 of "keys/alice.pub" is not an OpenSSH public key');
    expect(v.stderrTail).not.toContain(SECRET);
    const out = join(work, 'sshkey-out');
    const b = await kiln('build', config, '--out', out);
    expect(b.code).toBe(1);
    expect(b.stderrTail).toContain('line 2');
    expect(b.stderrTail).not.toContain(SECRET);
  });
});

describe('a disk build whose config tries to write outside the image', () => {
  let host: string; // a directory of the build host the image's links point at
  let hostBefore: string[];
  let raw: string;
  let out: string;
  const payload = `kiln-payload-${TAG}`;
  const record = `e2e-payload-${TAG}.json`; // not named scope-*: even if it escaped, `kiln clean` would not read it
  const snapshot = (dir: string) =>
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .map((e) => {
        const p = join(e.parentPath, e.name);
        return `${p.slice(dir.length)} ${e.isFile() ? readFileSync(p, 'utf8') : e.isDirectory() ? '<dir>' : '<other>'} ${statSync(p).mtimeMs}`;
      })
      .sort();

  beforeAll(async () => {
    host = join(work, `host-canary-${TAG}`);
    mkdirSync(host);
    writeFileSync(join(host, 'defaults'), 'HOST DEFAULTS\n');
    mkdirSync(join(host, 'modules'));
    mkdirSync(join(host, 'archives'));
    hostBefore = snapshot(host);
    const config = configDir(
      'escape',
      {
        Disks: [DISK],
        SystemConfigs: [
          {
            ...SYSTEM,
            PreserveTdnfCache: true,
            AdditionalFiles: { 'files/payload': `/var/run/${payload}`, tree: '/var' },
            PostInstallScripts: [{ Path: 'scripts/plant-links.sh', Args: host }],
          },
        ],
      },
      {
        'files/payload': 'payload\n',
        [`tree/run/kiln/${record}`]: '{"forged": true}\n',
        'tree/lib/kiln-e2e/marker': 'merged into /var\n',
        'scripts/plant-links.sh': [
          '#!/bin/sh',
          '# what a malicious config can do before the bootloader step: point files Kiln writes at host paths',
          'set -eu',
          'h="$1"',
          'ln -sfn "$h/defaults" /etc/default/grub',
          'rm -rf /boot/grub/x86_64-efi && mkdir -p /boot/grub && ln -sfn "$h/modules" /boot/grub/x86_64-efi',
          'rm -rf /var/cache/apt/archives && ln -sfn "$h/archives" /var/cache/apt/archives',
          '',
        ].join('\n'),
      },
    );
    chmodSync(join(work, 'escape/scripts/plant-links.sh'), 0o755);
    out = join(work, 'escape-out');
    const b = await run(KILN, ['build', config, '--out', out], { allowFailure: true, captureStdout: false });
    if (b.code !== 0) throw new Error(`kiln build exited ${b.code}:\n${b.stderrTail}`);
    raw = join(out, 'images/config/untrusted.raw');
  });

  afterAll(() => {
    // the files an escape would have left on the host (only if the test failed)
    rmSync(`/run/${payload}`, { force: true });
    rmSync(`/run/kiln/${record}`, { force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("the host's /run and the linked host directory are untouched", () => {
    expect(existsSync(`/run/${payload}`)).toBe(false);
    expect(existsSync(`/run/kiln/${record}`)).toBe(false);
    expect(snapshot(host)).toEqual(hostBefore);
    expect(readFileSync(join(host, 'defaults'), 'utf8')).toBe('HOST DEFAULTS\n');
  });

  it('AdditionalFiles landed in the image: /var/run/x in its /run, the merged tree below its /var', async () => {
    await withPartitionMounted(raw, 2, async (mnt) => {
      expect(readFileSync(join(mnt, 'run', payload), 'utf8')).toBe('payload\n');
      expect(readFileSync(join(mnt, 'run/kiln', record), 'utf8')).toBe('{"forged": true}\n');
      expect(readFileSync(join(mnt, 'var/lib/kiln-e2e/marker'), 'utf8')).toBe('merged into /var\n');
    });
  });

  it('the boot step and the package cache wrote through the links inside the image', async () => {
    await withPartitionMounted(raw, 2, async (mnt) => {
      const inImage = join(mnt, host); // the host path, as a path of the image
      expect(readFileSync(join(inImage, 'defaults'), 'utf8')).toMatch(/GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200"/);
      expect(readdirSync(join(inImage, 'modules'))).toContain('linux.mod');
      expect(readdirSync(join(inImage, 'archives')).some((f) => f.startsWith('less_') && f.endsWith('.deb'))).toBe(true);
      // grub-mkconfig read the defaults through the link, in the image
      expect(readFileSync(join(mnt, 'boot/grub/grub.cfg'), 'utf8')).toMatch(/linux\s+\/boot\/vmlinuz-\S+ root=PARTUUID=\S+ ro console=tty0 console=ttyS0,115200/);
    });
  });
});

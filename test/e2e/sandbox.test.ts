/**
 * The build sandbox (docs/security.md), attacked from both places a config controls code that runs
 * during a build: a PostInstallScript, and the postinst of a package from a repository with
 * GPGCheck false (a local file:// repository, `[trusted=yes]`). Both run the same probe
 * (test/fixtures/e2e/sandbox/scripts/probe.sh): chroot into /proc/1/root and write a marker in its
 * /tmp, list processes, /run, /sys, /dev and network interfaces, mknod a block device, mount, write a
 * kernel setting. The probe writes what it saw into the image; the test reads it from the built tree
 * and checks that the build host was not touched.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostDebianUris } from '../../src/distro/debian/sources.js';
import { buildImage, REPO, type BuiltImage } from './lib/images.js';
import { buildDebRepo } from './lib/debrepo.js';
import { e2eWorkDir } from './lib/workdir.js';

const PROBE = join(REPO, 'test/fixtures/e2e/sandbox/scripts/probe.sh');
const MARKER = `kiln-sandbox-escape-${process.pid}-${Date.now()}`;
const SCRIPT_MARKER = `${MARKER}-script`;
const POSTINST_MARKER = `${MARKER}-postinst`;
const NET_MARKER = `${MARKER}-net`;

let image: BuiltImage;
let tree: string;

/** The probe's `key=value` lines (repeated keys collected in order). */
function observations(path: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  for (const line of readFileSync(join(tree, path), 'utf8').split('\n')) {
    const i = line.indexOf(line.startsWith('CapEff:') ? ':' : '=');
    if (i < 0) continue;
    const key = line.slice(0, i);
    seen.set(key, [...(seen.get(key) ?? []), line.slice(i + 1).trim()]);
  }
  return seen;
}
const one = (seen: Map<string, string[]>, key: string) => seen.get(key)?.[0];
const words = (seen: Map<string, string[]>, key: string) => (one(seen, key) ?? '').split(/\s+/).filter(Boolean);

/** Where an escaped write would have landed on the build host. */
function onHost(marker: string): string[] {
  return ['/tmp', '/var/tmp', '/', '/root', '/run'].flatMap((d) => [join(d, marker), join(d, `${marker}.direct`)]).filter((p) => existsSync(p));
}

beforeAll(async () => {
  // the config names an absolute file:// repository, so it is written for this run
  const dir = join(e2eWorkDir(), 'sandbox-config');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'scripts'), { recursive: true });
  copyFileSync(PROBE, join(dir, 'scripts/probe.sh'));
  chmodSync(join(dir, 'scripts/probe.sh'), 0o755);
  const repo = join(dir, 'repo');
  await buildDebRepo(repo, 'kiln', [
    {
      name: 'kiln-probe',
      version: '1.0',
      files: { '/usr/lib/kiln-probe/probe.sh': { content: readFileSync(PROBE, 'utf8'), executable: true } },
      scripts: {
        postinst: `#!/bin/sh\nset -e\nif [ "$1" = configure ]; then /usr/lib/kiln-probe/probe.sh postinst ${POSTINST_MARKER} /var/lib/kiln-probe/postinst.txt; fi\n`,
      },
    },
  ]);
  const mirror = hostDebianUris().mirror ?? '';
  const config = {
    Disks: [{ Artifacts: [{ Name: 'sandbox', Compression: 'tar.gz' }] }],
    SystemConfigs: [
      {
        Name: 'sandbox',
        Distro: { Name: 'debian', Release: 'bookworm' },
        PackageRepos: [
          { Name: 'debian', BaseUrl: mirror, Suite: 'bookworm' },
          { Name: 'probe', BaseUrl: `file://${repo}`, Suite: 'kiln', GPGCheck: false },
        ],
        Packages: ['procps', 'kiln-probe'],
        PostInstallScripts: [
          { Path: 'scripts/probe.sh', Args: `post-install ${SCRIPT_MARKER} /var/lib/kiln-probe/post-install.txt` },
          { Path: 'scripts/probe.sh', Args: `network ${NET_MARKER} /var/lib/kiln-probe/network.txt`, Network: true },
        ],
      },
    ],
  };
  writeFileSync(join(dir, 'sandbox.json'), `${JSON.stringify(config, null, 2)}\n`);
  // --no-cache: the maintainer scripts must run in this build, not in one whose base tree was cached
  image = await buildImage({ config: join(dir, 'sandbox.json'), args: ['--keep-raw', '--no-cache'] });
  tree = join(image.imageDir, 'sandbox.rootfs');
});

describe('a PostInstallScript runs in the image sandbox', () => {
  it('ran, and its writes through /proc/1/root landed in the image, not on the host', () => {
    const seen = observations('var/lib/kiln-probe/post-install.txt');
    expect(one(seen, 'done')).toBe('yes');
    // PID 1 of the sandbox has the image as its root: chroot works and leads back into the image
    expect(one(seen, 'chroot-proc1')).toBe('ok');
    expect(readFileSync(join(tree, 'tmp', SCRIPT_MARKER), 'utf8')).toBe('post-install\n');
    expect(existsSync(join(tree, 'tmp', `${SCRIPT_MARKER}.direct`))).toBe(true);
    expect(words(seen, 'proc1-root')).toEqual(expect.arrayContaining(['etc', 'usr', 'var']));
    expect(onHost(SCRIPT_MARKER)).toEqual([]);
  });

  it('sees only its own processes, an empty /run, no /sys, a minimal /dev, only loopback', () => {
    const seen = observations('var/lib/kiln-probe/post-install.txt');
    const processes = seen.get('process') ?? [];
    expect(Number(one(seen, 'processes'))).toBeLessThan(12);
    expect(processes).not.toContain('node'); // Kiln itself is not visible
    expect(processes).not.toContain('systemd');
    expect(words(seen, 'ps')).not.toContain('node');
    expect(words(seen, 'run')).toEqual([]);
    expect(words(seen, 'sys')).toEqual([]);
    expect(words(seen, 'dev')).toEqual(expect.arrayContaining(['null', 'zero', 'full', 'random', 'urandom', 'tty']));
    expect(words(seen, 'dev').filter((d) => /^(loop|sd|vd|nvme|xvd|dm-|mapper|mem|kmem|port)/.test(d))).toEqual([]);
    expect(words(seen, 'interfaces')).toEqual(['lo']);
  });

  it('cannot make device nodes, mount, or change kernel settings; holds no admin capabilities', () => {
    const seen = observations('var/lib/kiln-probe/post-install.txt');
    expect(one(seen, 'mknod')).toBe('failed');
    expect(one(seen, 'mount-tmpfs')).toBe('failed');
    expect(one(seen, 'mount-proc')).toBe('failed');
    expect(one(seen, 'sysctl')).toBe('failed');
    const caps = BigInt(`0x${one(seen, 'CapEff')}`);
    for (const bit of [21 /* SYS_ADMIN */, 27 /* MKNOD */, 16 /* SYS_MODULE */, 17 /* SYS_RAWIO */, 2 /* DAC_READ_SEARCH */, 19 /* SYS_PTRACE */, 12 /* NET_ADMIN */]) {
      expect((caps >> BigInt(bit)) & 1n, `capability ${bit}`).toBe(0n);
    }
    expect((caps >> 0n) & 1n).toBe(1n); // CAP_CHOWN: still root for the image's files
  });

  it('gets the host network only when the script asks (Network: true)', () => {
    const seen = observations('var/lib/kiln-probe/network.txt');
    expect(words(seen, 'interfaces').filter((i) => i !== 'lo').length).toBeGreaterThan(0);
    // the rest of the sandbox stays as it was
    expect(one(seen, 'mknod')).toBe('failed');
    expect(Number(one(seen, 'processes'))).toBeLessThan(12);
    expect(onHost(NET_MARKER)).toEqual([]);
  });
});

describe('a package maintainer script (GPGCheck false repository) runs in the tool sandbox', () => {
  it('ran during the install', () => {
    expect(existsSync(join(tree, 'usr/lib/kiln-probe/probe.sh'))).toBe(true);
    const seen = observations('var/lib/kiln-probe/postinst.txt');
    expect(one(seen, 'label')).toBe('postinst');
    expect(one(seen, 'done')).toBe('yes');
  });

  it('reaches only the sandbox view through /proc/1/root: the host is untouched', () => {
    const seen = observations('var/lib/kiln-probe/postinst.txt');
    // /proc/1/root is bubblewrap's view: read-only /usr, a tmpfs /tmp; no home, no host root
    const view = words(seen, 'proc1-root');
    expect(view).toEqual(expect.arrayContaining(['usr', 'tmp']));
    for (const hostOnly of ['root', 'home', 'boot', 'srv', 'opt', 'mnt']) expect(view).not.toContain(hostOnly);
    expect(onHost(POSTINST_MARKER)).toEqual([]);
    // nor in the image's /tmp: the view's /tmp is a tmpfs that died with the sandbox
    expect(existsSync(join(tree, 'tmp', POSTINST_MARKER))).toBe(false);
  });

  it('has no network, no host processes, no device nodes, no mounts, read-only kernel settings', () => {
    const seen = observations('var/lib/kiln-probe/postinst.txt');
    expect(words(seen, 'interfaces')).toEqual(['lo']);
    const processes = seen.get('process') ?? [];
    expect(processes).not.toContain('node');
    expect(processes).toEqual(expect.arrayContaining(['mmdebstrap']));
    expect(one(seen, 'mknod')).toBe('failed');
    expect(one(seen, 'mount-tmpfs')).toBe('failed');
    expect(one(seen, 'mount-proc')).toBe('failed');
    expect(one(seen, 'sysctl')).toBe('failed');
    expect((BigInt(`0x${one(seen, 'CapEff')}`) >> 21n) & 1n).toBe(0n);
  });

  it('the build log names the sandbox of each phase', () => {
    const log = readFileSync(image.log, 'utf8');
    expect(log).toMatch(/\$ apt-get update .*\[tool sandbox, .*host network\]/);
    expect(log).toMatch(/\$ mmdebstrap .*\[tool sandbox, root \S+, .*no network\]/);
    expect(log).toMatch(/\$ \/var\/tmp\/kiln-scripts-\S+\/0-probe\.sh post-install .*\[sandbox: image \S+, no network\]/);
    expect(log).toMatch(/\$ \/var\/tmp\/kiln-scripts-\S+\/1-probe\.sh network .*\[sandbox: image \S+, host network\]/);
  });
});

/**
 * src/system/paths.ts against a scratch root full of the links an untrusted image can plant: every
 * read and write stays inside the root, links included, and nothing outside ("the host", a sibling
 * directory here) is ever read, written, created or removed.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../../src/core/exec.js';
import {
  copyWithinRoot,
  createFileAt,
  existsInRoot,
  listInRoot,
  mkdirInRoot,
  readInRoot,
  removeInRoot,
  resolveInRoot,
  withDirInRoot,
  writeInRoot,
} from '../../../src/system/paths.js';

let dir: string;
let root: string;
let host: string;
const hostFiles = () => readdirSync(host).sort();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-paths-'));
  root = join(dir, 'root');
  host = join(dir, 'host'); // stands for the build host's files
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'run'), { recursive: true });
  mkdirSync(host);
  writeFileSync(join(host, 'canary'), 'host\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('resolution inside the root', () => {
  it('follows absolute and relative links inside the root, never out of it', async () => {
    mkdirSync(join(root, 'run/systemd/resolve'), { recursive: true });
    symlinkSync('/run/systemd/resolve/stub-resolv.conf', join(root, 'etc/resolv.conf'));
    expect(await resolveInRoot(root, '/etc/resolv.conf')).toBe(join(root, 'run/systemd/resolve/stub-resolv.conf'));
    symlinkSync('../../..', join(root, 'run/systemd/up'));
    expect(await resolveInRoot(root, '/run/systemd/up/../../etc/passwd')).toBe(join(root, 'etc/passwd'));
    symlinkSync(host, join(root, 'hostlink')); // an absolute host path is a path of the image
    expect(await resolveInRoot(root, '/hostlink/canary')).toBe(join(root, host, 'canary'));
    symlinkSync('loop', join(root, 'loop'));
    await expect(resolveInRoot(root, '/loop/x')).rejects.toThrow(/too many symbolic links/);
    expect(await resolveInRoot(root, '/../../../../etc/x')).toBe(join(root, 'etc/x'));
    // /tmp -> /tmp/x is a loop inside the image (its /tmp is the link itself): an error, not the host's /tmp
    symlinkSync('/tmp/host-canary', join(root, 'tmp'));
    await expect(writeInRoot(root, '/tmp/kiln-grub-stub.cfg', 'x')).rejects.toThrow(/too many symbolic links/);
  });
});

describe('writes', () => {
  it('a directory link on the way (/var/run -> /run) lands in the image', async () => {
    mkdirSync(join(root, 'var'));
    symlinkSync('/run', join(root, 'var/run'));
    await writeInRoot(root, '/var/run/kiln-payload', 'p');
    expect(readFileSync(join(root, 'run/kiln-payload'), 'utf8')).toBe('p');
  });

  it('a link to a host path, as directory or as the file itself, is resolved inside the root', async () => {
    symlinkSync(host, join(root, 'scratch'));
    symlinkSync(join(host, 'canary'), join(root, 'etc/default-grub'));
    symlinkSync(`../../../../../../../../..${host}/canary`, join(root, 'etc/relative'));
    await writeInRoot(root, '/scratch/kiln-grub-stub.cfg', 'stub');
    await writeInRoot(root, '/etc/default-grub', 'defaults');
    await writeInRoot(root, '/etc/relative', 'relative');
    expect(hostFiles()).toEqual(['canary']);
    expect(readFileSync(join(host, 'canary'), 'utf8')).toBe('host\n');
    expect(readFileSync(join(root, host, 'kiln-grub-stub.cfg'), 'utf8')).toBe('stub');
    expect(readFileSync(join(root, host, 'canary'), 'utf8')).toBe('relative');
  });

  it('mode and owner are applied; parents are created 0755 inside the root', async () => {
    symlinkSync('/srv', join(root, 'home'));
    await writeInRoot(root, '/home/alice/.ssh/authorized_keys', 'k\n', { mode: 0o600, uid: 1234, gid: 2345 });
    const st = statSync(join(root, 'srv/alice/.ssh/authorized_keys'));
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o600, 1234, 2345]);
    expect(statSync(join(root, 'srv/alice')).mode & 0o777).toBe(0o755);
  });

  it('refuses to open a FIFO or a device node (a planted /dev/sda stand-in) instead of writing or reading it', async () => {
    await run('mkfifo', [join(root, 'etc/fifo')]);
    await expect(writeInRoot(root, '/etc/fifo', 'x')).rejects.toThrow(/not a regular file/);
    await expect(readInRoot(root, '/etc/fifo')).rejects.toThrow(/not a regular file/);
    await run('mknod', [join(root, 'etc/null'), 'c', '1', '3']);
    await expect(writeInRoot(root, '/etc/null', 'x')).rejects.toThrow(/not a regular file/);
    await expect(writeInRoot(root, '/etc', 'x')).rejects.toThrow(/is a directory/);
  });

  it('a file in the way of a directory is an error, not a detour', async () => {
    writeFileSync(join(root, 'etc/default'), 'file');
    await expect(writeInRoot(root, '/etc/default/grub', 'x')).rejects.toThrow(/\/etc\/default in the image is not a directory/);
  });
});

describe('reads, listing, removal', () => {
  it('reads through links inside the root only; absent files are undefined', async () => {
    writeFileSync(join(root, 'etc/passwd'), 'image\n');
    symlinkSync(join(host, 'canary'), join(root, 'etc/shadow'));
    symlinkSync('/etc/passwd', join(root, 'etc/alias'));
    expect(await readInRoot(root, '/etc/shadow')).toBeUndefined(); // the host's file is not the image's
    expect(await readInRoot(root, '/etc/alias')).toBe('image\n');
    expect(await readInRoot(root, '/nope/x')).toBeUndefined();
    expect(await existsInRoot(root, '/etc/alias')).toBe(true);
    expect(await existsInRoot(root, '/etc/shadow')).toBe(false);
  });

  it('lists an image directory, never a host directory a link names', async () => {
    symlinkSync(host, join(root, 'boot'));
    expect(await listInRoot(root, '/boot')).toEqual([]);
    mkdirSync(join(root, host), { recursive: true });
    writeFileSync(join(root, host, 'vmlinuz-1'), '');
    expect((await listInRoot(root, '/boot')).map((e) => e.name)).toEqual(['vmlinuz-1']);
  });

  it('removes a link, never what it points to; recursive removal does not follow links', async () => {
    symlinkSync(host, join(root, 'etc/hostdir'));
    await removeInRoot(root, '/etc/hostdir', { recursive: true });
    expect(existsSync(join(root, 'etc/hostdir'))).toBe(false);
    mkdirSync(join(root, 'var/tmp/x'), { recursive: true });
    symlinkSync(host, join(root, 'var/tmp/x/h'));
    await removeInRoot(root, '/var/tmp/x', { recursive: true });
    expect(existsSync(join(root, 'var/tmp/x'))).toBe(false);
    expect(hostFiles()).toEqual(['canary']);
  });

  it('mkdir -p through links stays inside', async () => {
    symlinkSync(`${host}/made`, join(root, 'opt'));
    await mkdirInRoot(root, '/opt/a/b', { mode: 0o700 });
    expect(hostFiles()).toEqual(['canary']);
    expect(statSync(join(root, host, 'made/a/b')).mode & 0o777).toBe(0o700);
  });
});

describe('races: a component swapped for a link after it was opened', () => {
  it('a held directory is written, not the link that replaced its path', async () => {
    mkdirSync(join(root, 'var/tmp'), { recursive: true });
    await withDirInRoot(root, '/var/tmp', {}, async (d) => {
      // what a process left running by a script could do between two steps of Kiln
      renameSync(join(root, 'var/tmp'), join(root, 'var/tmp.old'));
      symlinkSync(host, join(root, 'var/tmp'));
      const fh = await createFileAt(d, 'staged');
      await fh.close();
    });
    expect(hostFiles()).toEqual(['canary']);
    expect(existsSync(join(root, 'var/tmp.old/staged'))).toBe(true);
  });
});

describe('copies inside the image', () => {
  it('copies files by content and links verbatim (never dereferenced)', async () => {
    mkdirSync(join(root, 'usr/lib/grub/x86_64-efi'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/grub/x86_64-efi/normal.mod'), 'mod');
    symlinkSync(join(host, 'canary'), join(root, 'usr/lib/grub/x86_64-efi/leak.mod'));
    symlinkSync(host, join(root, 'boot'));
    expect(await copyWithinRoot(root, '/usr/lib/grub/x86_64-efi', '/boot/grub/x86_64-efi')).toBe(1);
    const dest = join(root, host, 'grub/x86_64-efi');
    expect(readFileSync(join(dest, 'normal.mod'), 'utf8')).toBe('mod');
    expect(lstatSync(join(dest, 'leak.mod')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dest, 'leak.mod'))).toBe(join(host, 'canary'));
    expect(hostFiles()).toEqual(['canary']);
  });
});

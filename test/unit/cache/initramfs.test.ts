/**
 * The initramfs cache on a small made-up tree: an initramfs (an uncompressed early cpio followed by
 * a zstd one, as mkinitramfs writes them) is reused exactly while the files it holds, the
 * generator's settings and the list of modules are unchanged; a file the generator writes itself
 * (fstab) does not count.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { changedSince, changeMark, InitramfsCache, initramfsPaths } from '../../../src/cache/initramfs.js';
import { TreeStore } from '../../../src/cache/store.js';
import { debian } from '../../../src/distro/catalog/debian.js';

const base = mkdtempSync(join(tmpdir(), 'kiln-initramfs-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const K = '6.1.0-99-amd64';

function put(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

function cpio(dir: string, out: string, compress: boolean): void {
  execFileSync('sh', ['-c', `cd "$1" && find . | LC_ALL=C sort | cpio --quiet -o -H newc ${compress ? '| zstd -q -c' : ''} > "$2"`, 'sh', dir, out]);
}

/** A tree with an initramfs made from it. */
function makeTree(): string {
  const root = mkdtempSync(join(base, 'root-'));
  put(root, 'usr/share/initramfs-tools/init', '#!/bin/sh\n');
  put(root, 'etc/initramfs-tools/initramfs.conf', 'MODULES=most\n');
  put(root, `usr/lib/modules/${K}/kernel/a.ko`, 'module a');
  put(root, 'usr/bin/busybox', 'busybox 1');
  put(root, 'etc/fstab', 'PARTUUID=1 / ext4 defaults 0 1\n');
  put(root, `boot/vmlinuz-${K}`, 'kernel');
  const early = mkdtempSync(join(base, 'early-'));
  put(early, 'kernel/x86/microcode/GenuineIntel.bin', 'ucode');
  const main = mkdtempSync(join(base, 'main-'));
  put(main, 'init', '#!/bin/sh\n');
  put(main, 'usr/bin/busybox', 'busybox 1');
  put(main, `usr/lib/modules/${K}/kernel/a.ko`, 'module a');
  put(main, 'etc/fstab', '');
  put(main, 'conf/initramfs.conf', 'MODULES=most\n');
  cpio(early, join(base, 'early.cpio'), false);
  cpio(main, join(base, 'main.cpio.zst'), true);
  mkdirSync(join(root, 'boot'), { recursive: true });
  writeFileSync(join(root, `boot/initrd.img-${K}`), Buffer.concat([readFileSync(join(base, 'early.cpio')), readFileSync(join(base, 'main.cpio.zst'))]));
  return root;
}

describe('initramfs cache', () => {
  it('lists an early cpio followed by a compressed one', async () => {
    const root = makeTree();
    const paths = await initramfsPaths(join(root, `boot/initrd.img-${K}`), join(base, 'scratch'));
    expect(paths).toEqual(expect.arrayContaining(['kernel/x86/microcode/GenuineIntel.bin', 'init', 'usr/bin/busybox', `usr/lib/modules/${K}/kernel/a.ko`, 'etc/fstab']));
  });

  it('reuses a stored initramfs exactly while its inputs are unchanged', async () => {
    const root = makeTree();
    const cache = new InitramfsCache(new TreeStore(join(base, 'store')), debian.initramfs, { fstab: ['/ ext4 defaults 0 1'] });
    const id = await cache.save(root, [K], [`/boot/initrd.img-${K}`], join(base, 'scratch'));
    expect(id).toMatch(/^i-[0-9a-f]{16}-[0-9a-f]{16}$/);
    expect((await cache.find(root, [K]))?.id).toBe(id);
    // the generator writes its own fstab: the image's is not an input
    put(root, 'etc/fstab', 'PARTUUID=2 / ext4 defaults 0 1\n');
    expect((await cache.find(root, [K]))?.id).toBe(id);
    // a file it holds
    put(root, 'usr/bin/busybox', 'busybox 2');
    expect(await cache.find(root, [K])).toBeUndefined();
    put(root, 'usr/bin/busybox', 'busybox 1');
    // a module that appeared (MODULES=most would take it)
    put(root, `usr/lib/modules/${K}/kernel/b.ko`, 'module b');
    expect(await cache.find(root, [K])).toBeUndefined();
    unlinkSync(join(root, `usr/lib/modules/${K}/kernel/b.ko`));
    // a setting its hooks read
    put(root, 'etc/modprobe.d/blacklist.conf', 'blacklist a\n');
    expect(await cache.find(root, [K])).toBeUndefined();
    rmSync(join(root, 'etc/modprobe.d'), { recursive: true });
    const found = await cache.find(root, [K]);
    expect(found?.id).toBe(id);
    // another kernel version or fstab shape is another identity
    expect(await cache.find(root, ['6.1.0-100-amd64'])).toBeUndefined();
    const other = new InitramfsCache(new TreeStore(join(base, 'store')), debian.initramfs, { fstab: ['/ xfs defaults 0 1'] });
    expect(await other.find(root, [K])).toBeUndefined();
    // restoring puts the same bytes back
    const before = readFileSync(join(root, `boot/initrd.img-${K}`));
    unlinkSync(join(root, `boot/initrd.img-${K}`));
    await cache.restore(root, found!);
    expect(readFileSync(join(root, `boot/initrd.img-${K}`)).equals(before)).toBe(true);
  });

  it('finds what changed after a mark (ctime), not what was there before', async () => {
    const root = makeTree();
    const mark = await changeMark(join(base, 'scratch'));
    put(root, `boot/initrd.img-${K}`, 'new');
    put(root, 'var/lib/initramfs-tools/state', 'x');
    expect(await changedSince(root, mark)).toEqual([`/boot/initrd.img-${K}`, '/var/lib/initramfs-tools/state']);
  });
});

/**
 * Every roast format, made from a small real GPT disk (FAT ESP + ext4 root) and a root tree, then
 * read back by an independent tool: qemu-img check/info, the VHD footer parsed here, tar -t, unsquashfs,
 * dump.erofs/fsck.erofs, cpio -t, gzip/xz/zstd -t, e2fsck -fn, rdiff patch; and for every disk
 * format a byte-for-byte round trip back to raw (qemu-img convert -O raw + cmp).
 */
import { mkdir, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { output, run } from '../../src/core/exec.js';
import { KilnError } from '../../src/core/errors.js';
import { withScope } from '../../src/core/scope.js';
import { roast, type ArtifactRequest, type RoastInput } from '../../src/roast/index.js';
import { parseVhdFooter } from '../../src/roast/vhd-footer.js';
import { makeFixture, makeTree, type Fixture } from '../unit/roast/fixture.js';
import { REPO } from './lib/images.js';

const MIB = 1024 * 1024;
let fx: Fixture;
let out: string;
let base: string; // an older version of the rootfs partition, for diff / rdiff

const roastInto = (outDir: string, input: RoastInput, artifacts: ArtifactRequest[], baseImages?: Parameters<typeof roast>[0]['baseImages']) =>
  withScope('roast-test', (scope) => roast({ input, artifacts, outDir, scope, ...(baseImages ? { baseImages } : {}) }));

async function sameBytes(a: string, b: string): Promise<boolean> {
  return (await run('cmp', ['--quiet', a, b], { allowFailure: true })).code === 0;
}
/** Convert any qemu-readable image back to raw and compare it with the original disk. */
async function roundTrips(image: string, format: string, original: string): Promise<boolean> {
  const back = `${image}.back.raw`;
  await run('qemu-img', ['convert', '-f', format, '-O', 'raw', image, back]);
  const same = await sameBytes(back, original);
  await rm(back);
  return same;
}
async function qemuInfo(image: string, format: string): Promise<Record<string, unknown>> {
  return JSON.parse(await output('qemu-img', ['info', '--output=json', '-f', format, image])) as Record<string, unknown>;
}
async function extractRange(src: string, start: number, size: number, dst: string): Promise<void> {
  await run('dd', [`if=${src}`, `of=${dst}`, 'bs=1M', `skip=${start / MIB}`, `count=${size / MIB}`, 'status=none']);
}

beforeAll(async () => {
  fx = await makeFixture();
  out = join(fx.dir, 'out');
  // the "previous release" of the root partition: same size, one file changed, one removed
  const oldTree = join(fx.dir, 'old-tree');
  await mkdir(oldTree);
  await makeTree(oldTree);
  await writeFile(join(oldTree, 'etc/hostname'), 'old-release\n');
  await rm(join(oldTree, 'srv/random.bin'));
  base = join(fx.dir, 'base-rootfs.ext4');
  await run('truncate', ['-s', `${fx.partitions[1]!.sizeBytes}`, base]);
  await run('mkfs.ext4', ['-q', '-F', '-d', oldTree, base]);
});
afterAll(async () => {
  if (fx) await rm(fx.dir, { recursive: true, force: true });
});

describe('disk formats', () => {
  let paths: string[] = [];
  beforeAll(async () => {
    paths = await roastInto(out, { kind: 'disk', path: fx.disk, partitions: fx.partitions }, [
      { Name: 'core', Type: 'raw' },
      { Name: 'core', Type: 'vhd' },
      { Name: 'core', Type: 'vhdx' },
      { Name: 'core', Type: 'qcow2' },
      { Name: 'core', Type: 'vmdk' },
      { Name: 'core', Type: 'ova' },
      { Name: 'core', Compression: 'gz' },
      { Name: 'core', Compression: 'xz' },
      { Name: 'core', Compression: 'zst' },
    ]);
  });

  it('writes every artifact under its final name and nothing else', async () => {
    const names = ['core.raw', 'core.vhd', 'core.vhdx', 'core.qcow2', 'core.vmdk', 'core.ova', 'core.raw.gz', 'core.raw.xz', 'core.raw.zst'];
    expect(paths).toEqual(names.map((n) => join(out, n)));
    expect((await readdir(out)).sort()).toEqual([...names].sort());
  });

  it('raw: identical bytes, still sparse', async () => {
    expect(await sameBytes(join(out, 'core.raw'), fx.disk)).toBe(true);
    const st = await stat(join(out, 'core.raw'));
    expect(st.blocks * 512).toBeLessThan(st.size / 2);
  });

  it('vhd: fixed, footer fields and checksum valid, whole-MiB size, round trip', async () => {
    const file = join(out, 'core.vhd');
    const { size } = await stat(file);
    expect(size).toBe(48 * MIB + 512);
    const fh = await open(file, 'r');
    const footer = Buffer.alloc(512);
    await fh.read(footer, 0, 512, size - 512);
    await fh.close();
    const f = parseVhdFooter(footer);
    expect(f).toMatchObject({ cookie: 'conectix', diskType: 2, currentSize: 48 * MIB, originalSize: 48 * MIB, checksumValid: true });
    expect(f.geometry.cylinders * f.geometry.heads * f.geometry.sectorsPerTrack * 512).toBeLessThanOrEqual(48 * MIB);
    expect((await qemuInfo(file, 'vpc'))['virtual-size']).toBe(48 * MIB);
    expect(await roundTrips(file, 'vpc', fx.disk)).toBe(true);
  });

  it.each([
    ['vhdx', 'vhdx'],
    ['qcow2', 'qcow2'],
    ['vmdk', 'vmdk'],
  ])('%s: qemu-img check and info accept it, round trip', async (ext, format) => {
    const file = join(out, `core.${ext}`);
    await run('qemu-img', ['check', '-q', '-f', format, file]);
    const info = await qemuInfo(file, format);
    expect(info.format).toBe(format);
    expect(info['virtual-size']).toBe(48 * MIB);
    expect(await roundTrips(file, format, fx.disk)).toBe(true);
  });

  it('vhdx is dynamic (a 1 GiB disk with 1 MiB of data stays small), vmdk is stream-optimised', async () => {
    const holes = join(fx.dir, 'holes.raw');
    await run('truncate', ['-s', '1G', holes]);
    await run('dd', ['if=/dev/urandom', `of=${holes}`, 'bs=1M', 'count=1', 'seek=700', 'conv=notrunc', 'status=none']);
    const [vhdx] = await roastInto(join(fx.dir, 'holes-out'), { kind: 'disk', path: holes }, [{ Name: 'h', Type: 'vhdx' }]);
    expect((await stat(vhdx!)).size).toBeLessThan(64 * MIB);
    expect(await roundTrips(vhdx!, 'vhdx', holes)).toBe(true);
    const vmdk = await qemuInfo(join(out, 'core.vmdk'), 'vmdk');
    expect(JSON.stringify(vmdk['format-specific'])).toMatch(/"create-type":"streamOptimized"/);
  });

  it('ova: OVF first, then manifest, then the vmdk; manifest digests and OVF sizes are right', async () => {
    const ova = join(out, 'core.ova');
    const list = (await output('tar', ['-tvf', ova])).split('\n');
    expect(list.map((l) => l.split(/\s+/).pop())).toEqual(['core.ovf', 'core.mf', 'core-disk1.vmdk']);
    expect(await output('file', ['-b', ova]).catch(() => 'POSIX tar archive')).toMatch(/tar archive/);
    const x = join(fx.dir, 'ova-x');
    await mkdir(x);
    await run('tar', ['-xf', ova, '-C', x]);
    await run('sh', ['-c', `cd "${x}" && sed -E 's/^SHA256\\((.*)\\)= (.*)$/\\2  \\1/' core.mf | sha256sum -c --quiet`]);
    const ovf = await readFile(join(x, 'core.ovf'), 'utf8');
    const vmdkSize = (await stat(join(x, 'core-disk1.vmdk'))).size;
    expect(ovf).toContain(`ovf:href="core-disk1.vmdk" ovf:id="file1" ovf:size="${vmdkSize}"`);
    expect(ovf).toContain(`ovf:capacity="${48 * MIB}"`);
    expect(ovf).toContain('vmdk.html#streamOptimized');
    expect(await roundTrips(join(x, 'core-disk1.vmdk'), 'vmdk', fx.disk)).toBe(true);
  });

  it.each([
    ['gz', 'gzip'],
    ['xz', 'xz'],
    ['zst', 'zstd'],
  ])('raw.%s: %s -t passes and it decompresses to the disk', async (ext, tool) => {
    const file = join(out, `core.raw.${ext}`);
    await run(tool, ['-t', file]);
    const back = join(fx.dir, `back-${ext}.raw`);
    await run('sh', ['-c', `${tool} -dc "$1" > "$2"`, 'sh', file, back]);
    expect(await sameBytes(back, fx.disk)).toBe(true);
    await rm(back);
  });
});

describe('partition artifacts', () => {
  const pout = () => join(fx.dir, 'pout');
  let rootfs: string;
  beforeAll(async () => {
    rootfs = join(fx.dir, 'rootfs-range.raw');
    await extractRange(fx.disk, fx.partitions[1]!.startBytes, fx.partitions[1]!.sizeBytes, rootfs);
    await roastInto(pout(), { kind: 'disk', path: fx.disk, partitions: fx.partitions }, [
      { Name: 'rootfs', Type: 'ext4', partitionId: 'rootfs' },
      { Name: 'swuvm', Type: 'ext4', Compression: 'gz', partitionId: 'rootfs' },
      { Name: 'boot', Type: 'raw', partitionId: 'boot' },
      { Name: 'rootfs', Type: 'rdiff', partitionId: 'rootfs' },
      { Name: 'rootfs', Type: 'diff', partitionId: 'rootfs' },
    ], { rootfs: { RdiffBaseImage: base, OverlayBaseImage: base } });
  });

  it('ext4: exactly the partition bytes, sparse, and e2fsck -fn passes', async () => {
    const file = join(pout(), 'rootfs.ext4');
    expect(await sameBytes(file, rootfs)).toBe(true);
    const st = await stat(file);
    expect(st.blocks * 512).toBeLessThan(st.size / 2);
    await run('e2fsck', ['-fn', file]);
    expect(await output('debugfs', ['-R', 'cat /etc/hostname', file])).toBe('kiln-test');
  });

  it('ext4.gz: gzip -t passes and it decompresses to the partition', async () => {
    const file = join(pout(), 'swuvm.ext4.gz');
    await run('gzip', ['-t', file]);
    const back = join(fx.dir, 'swuvm.back');
    await run('sh', ['-c', 'gzip -dc "$1" > "$2"', 'sh', file, back]);
    expect(await sameBytes(back, rootfs)).toBe(true);
  });

  it('raw partition of the FAT ESP reads with mtools', async () => {
    expect(await output('mtype', ['-i', join(pout(), 'boot.raw'), '::/hostname'])).toBe('kiln-test');
  });

  it('rdiff: rdiff patch of the base gives the new partition, and the delta is small', async () => {
    const delta = join(pout(), 'rootfs.rdiff');
    const patched = join(fx.dir, 'patched.ext4');
    await run('rdiff', ['patch', base, delta, patched]);
    expect(await sameBytes(patched, rootfs)).toBe(true);
    expect((await stat(delta)).size).toBeLessThan(fx.partitions[1]!.sizeBytes / 4);
  });

  it('diff: qcow2 backed by the base image (relative reference), only changed clusters, flattens to the partition', async () => {
    const file = join(pout(), 'rootfs.diff.qcow2');
    await run('qemu-img', ['check', '-q', '-f', 'qcow2', file]);
    const info = await qemuInfo(file, 'qcow2');
    expect(info['backing-filename']).toBe('../base-rootfs.ext4');
    expect(info['backing-filename-format']).toBe('raw');
    expect(await roundTrips(file, 'qcow2', rootfs)).toBe(true);
    const map = JSON.parse(await output('qemu-img', ['map', '--output=json', '-f', 'qcow2', file])) as { depth: number; data: boolean; length: number }[];
    const own = map.filter((m) => m.depth === 0 && m.data).reduce((n, m) => n + m.length, 0);
    expect(own).toBeGreaterThan(0);
    expect(own).toBeLessThan(fx.partitions[1]!.sizeBytes / 4);
  });
});

describe('tree formats', () => {
  const tout = () => join(fx.dir, 'tout');
  beforeAll(async () => {
    await roastInto(tout(), { kind: 'tree', path: fx.tree }, [
      { Name: 'core', Compression: 'tar.gz' },
      { Name: 'core', Compression: 'tar.xz' },
      { Name: 'core', Compression: 'tar.zst' },
      { Name: 'core', Type: 'squashfs' },
      { Name: 'core', Type: 'erofs' },
      { Name: 'core', Type: 'initrd' },
      { Name: 'core-gz', Type: 'initrd', Compression: 'gz' },
      { Name: 'core-xz', Type: 'initrd', Compression: 'xz' },
    ]);
  });

  it.each([
    ['gz', 'gzip'],
    ['xz', 'xz'],
    ['zst', 'zstd'],
  ])('tar.%s: %s -t passes; owners, modes, hard links, symlinks and xattrs are kept', async (ext, tool) => {
    const file = join(tout(), `core.tar.${ext}`);
    await run(tool, ['-t', file]);
    const listing = await output('tar', ['-tvf', file, '--numeric-owner']);
    expect(listing).toMatch(/^-rw-r----- 0\/42 .* \.\/etc\/shadow$/m);
    expect(listing).toMatch(/^drwx------ 1234\/2345 .* \.\/home\/alice\/$/m);
    expect(listing).toMatch(/^-rw-r--r-- 1234\/2345 .* \.\/home\/alice\/notes\.txt$/m);
    // one of the two names carries the data, the other is a hard link to it (tar -tv shows "h")
    expect(listing).toMatch(/^-rwsr-xr-x 0\/0 .* \.\/usr\/bin\/tool(-hardlink)?$/m);
    expect(listing).toMatch(/^hrwsr-xr-x 0\/0 .* \.\/usr\/bin\/tool(-hardlink)? link to \.\/usr\/bin\/tool(-hardlink)?$/m);
    expect(listing).toMatch(/\.\/etc\/tool-link -> \.\.\/usr\/bin\/tool$/m);
    const x = join(fx.dir, `tar-x-${ext}`);
    await mkdir(x);
    await run('tar', ['-xf', file, '--xattrs', '--xattrs-include=*', '-C', x]);
    expect(await output('getfattr', ['--only-values', '-n', 'user.kiln', join(x, 'etc/hostname')])).toBe('roasted');
    const a = await stat(join(x, 'usr/bin/tool'));
    expect(a.ino).toBe((await stat(join(x, 'usr/bin/tool-hardlink'))).ino);
  });

  it('squashfs: unsquashfs lists the tree with numeric owners and modes', async () => {
    const listing = await output('unsquashfs', ['-lln', join(tout(), 'core.squashfs')]);
    expect(listing).toMatch(/^-rw-r----- 0\/42 .* squashfs-root\/etc\/shadow$/m);
    expect(listing).toMatch(/^-rw-r--r-- 1234\/2345 .* squashfs-root\/home\/alice\/notes\.txt$/m);
    expect(listing).toMatch(/^-rwsr-xr-x 0\/0 .* squashfs-root\/usr\/bin\/tool$/m);
    expect(listing).toMatch(/squashfs-root\/etc\/tool-link -> \.\.\/usr\/bin\/tool$/m);
  });

  it('erofs: dump.erofs reads the superblock and inodes; fsck.erofs extracts identical content', async () => {
    const img = join(tout(), 'core.erofs');
    expect(await output('dump.erofs', ['-s', img])).toMatch(/Filesystem magic number:\s+0xE0F5E1E2/i);
    const inode = await output('dump.erofs', ['--path=/home/alice/notes.txt', img]);
    expect(inode).toMatch(/Size: 17/);
    expect(inode).toMatch(/Uid: 1234\s+Gid: 2345/);
    const x = join(fx.dir, 'erofs-x');
    await run('fsck.erofs', [`--extract=${x}`, img]);
    expect(await readFile(join(x, 'home/alice/notes.txt'), 'utf8')).toBe('hello from alice\n');
    expect((await stat(join(x, 'home/alice/notes.txt'))).uid).toBe(1234);
  });

  it.each([
    ['core.initrd.img', 'zstd'],
    ['core-gz.initrd.img', 'gzip'],
    ['core-xz.initrd.img', 'xz'],
  ])('initrd %s: %s stream holding one newc archive with /init and /dev/console', async (name, tool) => {
    const file = join(tout(), name);
    await run(tool, ['-t', file]);
    const listing = await output('sh', ['-c', `${tool} -dc "$1" | cpio -itv --quiet`, 'sh', file]);
    expect(listing).toMatch(/^-rwxr-xr-x .* init$/m);
    expect(listing).toMatch(/^crw------- .* 5,\s+1 .* dev\/console$/m);
    expect(listing).toMatch(/^-rw-r----- .* etc\/shadow$/m);
    expect(listing).toMatch(/^-rwsr-xr-x .* usr\/bin\/tool$/m);
    const format = await output('sh', ['-c', `${tool} -dc "$1" | head -c 6`, 'sh', file]);
    expect(format).toBe('070701'); // newc magic
  });
});

describe('inputs, errors and cleanliness', () => {
  it('a tree without /init gets /init -> /sbin/init; one with no init at all is refused', async () => {
    const t = join(fx.dir, 'noinit');
    await mkdir(join(t, 'sbin'), { recursive: true });
    await writeFile(join(t, 'sbin/init'), '#!/bin/sh\n', { mode: 0o755 });
    const [file] = await roastInto(join(fx.dir, 'noinit-out'), { kind: 'tree', path: t }, [{ Name: 'i', Type: 'initrd' }]);
    const listing = await output('sh', ['-c', 'zstd -dc "$1" | cpio -itv --quiet', 'sh', file!]);
    expect(listing).toMatch(/^lrwxrwxrwx .* init -> \/sbin\/init$/m);
    await rm(join(t, 'sbin/init'));
    const err = await roastInto(join(fx.dir, 'noinit-out2'), { kind: 'tree', path: t }, [{ Name: 'i', Type: 'initrd' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).message).toMatch(/no \/init/);
    expect(await readdir(join(fx.dir, 'noinit-out2'))).toEqual([]);
  });

  it('consumeInput: the vhd takes the raw over (made last), other artifacts still come from it', async () => {
    const throwaway = join(fx.dir, 'throwaway.raw');
    await run('cp', ['--sparse=always', fx.disk, throwaway]);
    const cOut = join(fx.dir, 'consume-out');
    const [vhd, qcow2] = await withScope('roast-test', (scope) =>
      roast({ input: { kind: 'disk', path: throwaway }, artifacts: [{ Name: 'c', Type: 'vhd' }, { Name: 'c', Type: 'qcow2' }], outDir: cOut, scope, consumeInput: true }),
    );
    await expect(stat(throwaway)).rejects.toThrow(/ENOENT/);
    expect(await roundTrips(vhd!, 'vpc', fx.disk)).toBe(true);
    expect(await roundTrips(qcow2!, 'qcow2', fx.disk)).toBe(true);
  });

  it('a raw whose size is not a whole MiB becomes a VHD padded with zeros to the next MiB', async () => {
    const odd = join(fx.dir, 'odd.raw');
    await run('truncate', ['-s', String(3 * MIB + 512), odd]);
    await run('dd', ['if=/dev/urandom', `of=${odd}`, 'bs=512', 'count=1', `seek=${(3 * MIB) / 512}`, 'conv=notrunc', 'status=none']);
    const [vhd] = await roastInto(join(fx.dir, 'odd-out'), { kind: 'disk', path: odd }, [{ Name: 'odd', Type: 'vhd' }]);
    expect((await stat(vhd!)).size).toBe(4 * MIB + 512);
    const back = join(fx.dir, 'odd.back');
    await run('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', vhd!, back]);
    expect((await stat(back)).size).toBe(4 * MIB);
    await run('cmp', ['-n', String(3 * MIB + 512), back, odd]);
    await run('cmp', ['-i', `${3 * MIB + 512}:0`, '-n', String(MIB - 512), back, '/dev/zero']);
  });

  it('a rootfs tar is accepted as the tree', async () => {
    const tarOut = join(fx.dir, 'from-tar');
    const [sq] = await roastInto(tarOut, { kind: 'tree', path: join(fx.dir, 'tout', 'core.tar.zst') }, [{ Name: 'c', Type: 'squashfs' }]);
    expect(await output('unsquashfs', ['-lln', sq!])).toMatch(/^-rw-r--r-- 1234\/2345 .* squashfs-root\/home\/alice\/notes\.txt$/m);
    expect(await readdir(tarOut)).toEqual(['c.squashfs']);
  });

  it('a failing conversion leaves no artifact, temporary file or scratch directory', async () => {
    const failOut = join(fx.dir, 'fail-out');
    const err = await roastInto(failOut, { kind: 'disk', path: fx.disk, partitions: fx.partitions }, [
      { Name: 'ok', Type: 'qcow2' },
      { Name: 'bad', Type: 'rdiff', partitionId: 'rootfs' },
    ], { rootfs: { RdiffBaseImage: join(fx.dir, 'missing-base.ext4') } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).message).toMatch(/rdiff/);
    // what completed before the failure stays; nothing of the failed one, no scratch
    expect(await readdir(failOut)).toEqual(['ok.qcow2']);
  });

  it('Ctrl-C during a conversion: exit 130, no artifact, no temporary file, no scratch directory', async () => {
    const noisy = join(fx.dir, 'noisy.raw');
    await run('dd', ['if=/dev/urandom', `of=${noisy}`, 'bs=1M', 'count=96', 'status=none']);
    const intOut = join(fx.dir, 'int-out');
    await run(join(REPO, 'kiln'), ['--version']); // compile first: the signal must reach kiln itself
    const script = `node "$1" roast "$2" -a raw:xz -o "$3" & p=$!
      i=0; until ls -a "$3" 2>/dev/null | grep -q partial; do sleep 0.1; i=$((i+1)); [ $i -lt 200 ] || break; done
      kill -INT $p; wait $p; echo "exit=$?"`;
    const r = await output('sh', ['-c', script, 'sh', join(REPO, 'dist/cli/kiln.js'), noisy, intOut]);
    expect(r).toMatch(/exit=130$/);
    expect(await readdir(intOut)).toEqual([]);
  });
});

/**
 * Small real inputs for roast tests, made with the real tools in a second or two:
 *  - a root tree with owners, modes, a hard link, a symlink, an xattr, a sparse file and an /init;
 *  - a 48 MiB GPT disk: an 8 MiB FAT ESP and an ext4 root made from that tree (mkfs.ext4 -d),
 *    with holes in between, like the imager's output.
 */
import { chmod, chown, link, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/core/exec.js';
import type { DiskPartition } from '../../../src/roast/index.js';

const MIB = 1024 * 1024;

export interface Fixture {
  dir: string;
  tree: string;
  disk: string;
  partitions: DiskPartition[];
}

export async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'home/alice'), { recursive: true });
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await mkdir(join(root, 'srv'), { recursive: true });
  await writeFile(join(root, 'etc/hostname'), 'kiln-test\n');
  await writeFile(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n');
  await chmod(join(root, 'etc/shadow'), 0o640);
  await chown(join(root, 'etc/shadow'), 0, 42);
  await writeFile(join(root, 'home/alice/notes.txt'), 'hello from alice\n');
  await chown(join(root, 'home/alice/notes.txt'), 1234, 2345);
  await chown(join(root, 'home/alice'), 1234, 2345);
  await chmod(join(root, 'home/alice'), 0o700);
  await writeFile(join(root, 'usr/bin/tool'), '#!/bin/sh\necho tool\n');
  await chmod(join(root, 'usr/bin/tool'), 0o4755); // setuid survives
  await link(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool-hardlink'));
  await symlink('../usr/bin/tool', join(root, 'etc/tool-link'));
  await writeFile(join(root, 'init'), '#!/bin/sh\nexec /usr/bin/tool\n');
  await chmod(join(root, 'init'), 0o755);
  await writeFile(join(root, 'srv/random.bin'), Buffer.alloc(256 * 1024, 0x5a));
  await run('truncate', ['-s', '4M', join(root, 'srv/sparse.bin')]);
  await run('setfattr', ['-n', 'user.kiln', '-v', 'roasted', join(root, 'etc/hostname')]);
}

export async function makeFixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-roast-'));
  const tree = join(dir, 'tree');
  await mkdir(tree);
  await makeTree(tree);
  const disk = join(dir, 'disk.raw');
  const esp = { id: 'boot', startBytes: 1 * MIB, sizeBytes: 8 * MIB, fsType: 'vfat' };
  const root = { id: 'rootfs', startBytes: 9 * MIB, sizeBytes: 38 * MIB, fsType: 'ext4' };
  await run('truncate', ['-s', `${48 * MIB}`, disk]);
  await run('sfdisk', ['--quiet', disk], {
    input: `label: gpt\nstart=2048, size=${esp.sizeBytes / 512}, type=uefi, name=esp\nstart=${root.startBytes / 512}, size=${root.sizeBytes / 512}, type=linux, name=rootfs\n`,
  });
  const espFile = join(dir, 'esp.img');
  await run('truncate', ['-s', `${esp.sizeBytes}`, espFile]);
  await run('mkfs.vfat', ['-n', 'ESP', espFile]);
  await run('mcopy', ['-i', espFile, join(tree, 'etc/hostname'), '::/hostname']);
  await run('dd', [`if=${espFile}`, `of=${disk}`, 'bs=1M', `seek=${esp.startBytes / MIB}`, 'conv=notrunc,sparse', 'status=none']);
  await run('mkfs.ext4', ['-q', '-F', '-L', 'rootfs', '-d', tree, '-E', `offset=${root.startBytes}`, disk, `${root.sizeBytes / 1024}k`]);
  return { dir, tree, disk, partitions: [esp, root] };
}

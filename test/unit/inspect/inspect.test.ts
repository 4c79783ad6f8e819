/**
 * kiln inspect on a small disk assembled here (GPT: a FAT32 ESP with a "grub" EFI binary, an ext4
 * root with os-release, a dpkg status file, a kernel and an fstab), as raw and as qcow2: the report
 * matches what was written, and the files are byte-for-byte unchanged afterwards.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/core/exec.js';
import { countDpkgStatus, inspectArtifact, parseOsRelease } from '../../../src/inspect/index.js';
import { parseFstab } from '../../../src/inspect/disk.js';

const MiB = 1024 * 1024;
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('kiln inspect', () => {
  const dir = mkdtempSync(join('/var/tmp', 'kiln-inspect-test-'));
  const raw = join(dir, 'disk.raw');
  const qcow2 = join(dir, 'disk.qcow2');
  const fsUuid = '0b8d5c55-3a4e-4b8e-8a55-5f7a0d8e9d11';
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    const tree = join(dir, 'tree');
    for (const d of ['etc', 'usr/lib', 'var/lib/dpkg', 'boot', 'usr/lib/modules/6.1.0-test/kernel']) mkdirSync(join(tree, d), { recursive: true });
    writeFileSync(join(tree, 'usr/lib/os-release'), 'PRETTY_NAME="Test Linux 1 (unit)"\nNAME="Test Linux"\nVERSION_ID="1"\nID=test\n');
    symlinkSync('../usr/lib/os-release', join(tree, 'etc/os-release'));
    writeFileSync(join(tree, 'var/lib/dpkg/status'), ['Package: a\nStatus: install ok installed\nVersion: 1', 'Package: b\nStatus: install ok installed\nVersion: 2', 'Package: c\nStatus: deinstall ok config-files\nVersion: 3'].join('\n\n') + '\n');
    writeFileSync(join(tree, 'boot/vmlinuz-6.1.0-test'), 'kernel');
    writeFileSync(join(tree, 'etc/fstab'), `UUID=${fsUuid} / ext4 defaults 0 1\nUUID=ABCD-1234 /boot/efi vfat umask=0077 0 2\n`);
    const rootImg = join(dir, 'root.img');
    await run('mkfs.ext4', ['-q', '-F', '-U', fsUuid, '-L', 'rootfs', '-d', tree, rootImg, '24M']);
    const esp = join(dir, 'esp.img');
    await run('truncate', ['-s', '36M', esp]);
    await run('mkfs.vfat', ['-F', '32', '-i', 'ABCD1234', '-n', 'ESP', esp]);
    const efi = join(dir, 'BOOTX64.EFI');
    writeFileSync(efi, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(100), Buffer.from('GNU GRUB  version 2.06')]));
    await run('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    await run('mcopy', ['-i', esp, efi, '::/EFI/BOOT/BOOTX64.EFI'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    await run('truncate', ['-s', '64M', raw]);
    await run('sfdisk', ['--quiet', raw], { input: 'label: gpt\nstart=2048, size=36MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp\nsize=24MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=rootfs\n' });
    await run('dd', [`if=${esp}`, `of=${raw}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none']);
    await run('dd', [`if=${rootImg}`, `of=${raw}`, 'bs=1M', 'seek=37', 'conv=notrunc,sparse', 'status=none']);
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
  });

  for (const [label, file] of [['raw', () => raw], ['qcow2', () => qcow2]] as const) {
    it(`reports partitions, filesystems, boot, OS and checksum of a ${label} image, and leaves it unchanged`, async () => {
      const path = file();
      const before = { sha: sha(path), mtime: statSync(path).mtimeMs };
      const r = await inspectArtifact(path);
      expect(r.artifact).toMatchObject({ path, format: label, sha256: before.sha, virtualSizeBytes: 64 * MiB });
      const [esp, root] = r.disk!.partitionTable.partitions;
      expect(r.disk!.partitionTable.type).toBe('gpt');
      expect(esp).toMatchObject({ number: 1, startBytes: MiB, sizeBytes: 36 * MiB, typeName: 'EFI System', name: 'esp', filesystem: { type: 'vfat', fatType: 'FAT32', uuid: 'ABCD-1234', label: 'ESP' }, mountPoint: '/boot/efi' });
      expect(root).toMatchObject({ number: 2, startBytes: 37 * MiB, name: 'rootfs', filesystem: { type: 'ext4', uuid: fsUuid, label: 'rootfs' }, mountPoint: '/' });
      expect(root!.filesystem!.usedBytes).toBeGreaterThan(0);
      expect(r.disk!.boot).toEqual({ firmware: ['uefi'], loaders: ['grub (EFI /EFI/BOOT/BOOTX64.EFI)'], efiFiles: ['/EFI/BOOT/BOOTX64.EFI'] });
      expect(r.disk!.os).toMatchObject({ rootPartition: 2, osRelease: { PRETTY_NAME: 'Test Linux 1 (unit)', VERSION_ID: '1' }, kernels: ['6.1.0-test'], packages: { manager: 'dpkg', count: 2 } });
      expect({ sha: sha(path), mtime: statSync(path).mtimeMs }).toEqual(before);
    });
  }

  it('vmdk and ova (the vmdk extracted from the tar) read the same disk', async () => {
    const vmdk = join(dir, 'disk.vmdk');
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, vmdk]);
    writeFileSync(join(dir, 'disk.ovf'), '<?xml version="1.0"?><Envelope/>');
    const ova = join(dir, 'disk.ova');
    await run('tar', ['-cf', ova, '-C', dir, 'disk.ovf', 'disk.vmdk']);
    for (const [file, format] of [[vmdk, 'vmdk'], [ova, 'ova']] as const) {
      const r = await inspectArtifact(file);
      expect(r.artifact.format).toBe(format);
      expect(r.disk!.partitionTable.partitions.map((p) => p.filesystem?.type)).toEqual(['vfat', 'ext4']);
      expect(r.disk!.os!.osRelease.ID).toBe('test');
    }
    expect((await inspectArtifact(ova)).ova).toEqual({ files: ['disk.ovf', 'disk.vmdk'], disk: 'disk.vmdk' });
  });

  it('root filesystem tarballs: os-release through the etc symlink, kernels, dpkg or the RemoveRpmDb manifest', async () => {
    const tgz = join(dir, 'tree.tar.gz');
    await run('tar', ['-czf', tgz, '-C', join(dir, 'tree'), '.']);
    const r = await inspectArtifact(tgz);
    expect(r.artifact).toMatchObject({ format: 'tar', compression: 'gz' });
    expect(r.tree!.os).toMatchObject({ osRelease: { ID: 'test' }, kernels: ['6.1.0-test'], packages: { manager: 'dpkg', count: 2 } });
    const rpmTree = join(dir, 'rpmtree');
    mkdirSync(join(rpmTree, 'etc'), { recursive: true });
    mkdirSync(join(rpmTree, 'var/lib/rpmmanifest'), { recursive: true });
    writeFileSync(join(rpmTree, 'etc/os-release'), 'ID=azurelinux\nVERSION_ID="3.0"\n');
    writeFileSync(join(rpmTree, 'var/lib/rpmmanifest/container-manifest-1'), 'bash-5.2.15-3.azl3.x86_64\nfilesystem-1.1-21.azl3.x86_64\ngpg-pubkey-3135ce90-5e6fda74\n');
    const txz = join(dir, 'rpm.tar.xz');
    await run('tar', ['-cJf', txz, '-C', rpmTree, '.']);
    expect((await inspectArtifact(txz)).tree!.os).toMatchObject({ osRelease: { ID: 'azurelinux' }, packages: { manager: 'rpm', count: 2, source: '/var/lib/rpmmanifest/container-manifest-1 (RemoveRpmDb)' } });
  });

  it('a bare filesystem image (a partition artifact): the filesystem and its OS as partition 0', async () => {
    const r = await inspectArtifact(join(dir, 'root.img'));
    expect(r.disk!.partitionTable).toMatchObject({ type: 'none', partitions: [{ number: 0, startBytes: 0, filesystem: { type: 'ext4', uuid: fsUuid } }] });
    expect(r.disk!.os).toMatchObject({ rootPartition: 0, osRelease: { ID: 'test' } });
  });

  it('refuses what is not an artifact, and a file that does not exist, with their codes', async () => {
    const junk = join(dir, 'notes.txt');
    writeFileSync(junk, 'hello');
    await expect(inspectArtifact(junk)).rejects.toMatchObject({ code: 'ARTIFACT_UNSUPPORTED', exitCode: 2 });
    await expect(inspectArtifact(join(dir, 'nope.vhdx'))).rejects.toMatchObject({ code: 'INPUT_NOT_FOUND', exitCode: 2 });
  });

  it('parses os-release, dpkg status and fstab', () => {
    expect(parseOsRelease('NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n# c\n')).toEqual({ NAME: 'Debian GNU/Linux', VERSION_ID: '12', ID: 'debian' });
    expect(countDpkgStatus('Package: a\nStatus: install ok installed\n\nPackage: b\nStatus: deinstall ok config-files\n')).toBe(1);
    expect(parseFstab('# x\nPARTUUID=ab / ext4 defaults 0 1\n/dev/sda1 /boot ext4 defaults\nUUID=1 none swap sw\n')).toEqual([['PARTUUID=ab', '/']]);
  });
});

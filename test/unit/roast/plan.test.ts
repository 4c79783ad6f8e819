import { describe, expect, it } from 'vitest';
import { KilnError } from '../../../src/core/errors.js';
import { planArtifacts, requiredTools, type RoastInput } from '../../../src/roast/index.js';
import { parseSeekOutput } from '../../../src/roast/sparse.js';

const disk: RoastInput = {
  kind: 'disk',
  path: '/x/disk.raw',
  partitions: [
    { id: 'boot', startBytes: 1 << 20, sizeBytes: 8 << 20, fsType: 'fat32' },
    { id: 'rootfs', startBytes: 9 << 20, sizeBytes: 100 << 20, fsType: 'ext4' },
  ],
};
const tree: RoastInput = { kind: 'tree', path: '/x/rootfs' };

function planError(fn: () => unknown): KilnError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KilnError);
    return e as KilnError;
  }
  throw new Error('expected an error');
}

describe('planArtifacts', () => {
  it('names disk artifacts <Name>.<ext>, with outer compression appended', () => {
    const plans = planArtifacts({
      input: disk,
      artifacts: [
        { Name: 'core', Type: 'vhdx' },
        { Name: 'core', Type: 'VHD' },
        { Name: 'core' },
        { Name: 'core', Compression: 'xz' },
        { Name: 'core', Type: 'qcow2', Compression: 'zst' },
        { Name: 'swuvm', Type: 'ext4', Compression: 'gz', partitionId: 'rootfs' },
      ],
    });
    expect(plans.map((p) => p.fileName)).toEqual(['core.vhdx', 'core.vhd', 'core.raw', 'core.raw.xz', 'core.qcow2.zst', 'swuvm.ext4.gz']);
    expect(plans[5]!.inputKind).toBe('partition');
    expect(plans[5]!.partition?.id).toBe('rootfs');
  });

  it('maps upstream rootfs tarballs (Compression tar.gz, no Type) to the tree converter', () => {
    const plans = planArtifacts({ input: tree, artifacts: [{ Name: 'core', Compression: 'tar.gz' }, { Name: 'core', Type: 'initrd', Compression: 'xz' }] });
    expect(plans[0]!.fileName).toBe('core.tar.gz');
    expect(plans[0]!.converter.accepts).toEqual(['tree']);
    // initrd compresses inside the format: the kernel reads it, so the name stays .initrd.img
    expect(plans[1]!.fileName).toBe('core.initrd.img');
    expect(plans[1]!.innerCompression).toBe('xz');
    expect(plans[1]!.compression).toBeUndefined();
  });

  it('takes base images from PartitionSettings for diff and rdiff', () => {
    const plans = planArtifacts({
      input: disk,
      artifacts: [{ Name: 'b', Type: 'rdiff', partitionId: 'boot' }, { Name: 'r', Type: 'diff', partitionId: 'rootfs' }],
      baseImages: { boot: { RdiffBaseImage: '/old/boot.ext4' }, rootfs: { OverlayBaseImage: '/old/root.ext4' } },
    });
    expect(plans.map((p) => [p.fileName, p.baseImage])).toEqual([['b.rdiff', '/old/boot.ext4'], ['r.diff.qcow2', '/old/root.ext4']]);
  });

  it('rejects impossible requests with what to do', () => {
    const unknown = planError(() => planArtifacts({ input: disk, artifacts: [{ Name: 'core', Type: 'vdi' }] }));
    expect(unknown.message).toMatch(/unknown Type "vdi"/);
    expect(unknown.details.join()).toMatch(/vhdx/);
    expect(unknown.exitCode).toBe(1);
    expect(planError(() => planArtifacts({ input: disk, artifacts: [{ Name: 'core', Compression: 'tar.gz' }] })).message).toMatch(/made from a tree, but the input is a disk/);
    expect(planError(() => planArtifacts({ input: tree, artifacts: [{ Name: 'core', Type: 'vhd' }] })).message).toMatch(/input is a tree/);
    expect(planError(() => planArtifacts({ input: disk, artifacts: [{ Name: 'x', Type: 'ext4' }] })).details.join()).toMatch(/Partitions\[\]\.Artifacts/);
    expect(planError(() => planArtifacts({ input: disk, artifacts: [{ Name: 'x', Type: 'ext4', partitionId: 'boot' }] })).message).toMatch(/partition "boot" is fat32/);
    expect(planError(() => planArtifacts({ input: disk, artifacts: [{ Name: 'x', Type: 'ext4', partitionId: 'nope' }] })).details.join()).toMatch(/boot, rootfs/);
    expect(planError(() => planArtifacts({ input: disk, artifacts: [{ Name: 'x', Type: 'rdiff', partitionId: 'rootfs' }] })).message).toMatch(/RdiffBaseImage/);
    expect(planError(() => planArtifacts({ input: disk, artifacts: [{ Name: 'x', Compression: 'bz2' }] })).message).toMatch(/unknown Compression "bz2"/);
    expect(planError(() => planArtifacts({ input: disk, artifacts: [{ Name: 'a/b', Type: 'vhd' }] })).message).toMatch(/plain file name/);
    expect(planError(() => planArtifacts({ input: tree, artifacts: [{ Name: 'core' }] })).message).toMatch(/has no Type/);
    expect(planError(() => planArtifacts({ input: disk, artifacts: [{ Name: 'c', Type: 'raw' }, { Name: 'c' }] })).message).toMatch(/writes c\.raw, as does/);
  });
});

describe('planArtifacts with consumeInput', () => {
  it('lets one whole-disk vhd (preferred) or raw take the input over', () => {
    const plans = planArtifacts({ input: disk, consumeInput: true, artifacts: [{ Name: 'c', Type: 'raw' }, { Name: 'c', Type: 'qcow2' }, { Name: 'c', Type: 'vhd' }] });
    expect(plans.map((p) => p.consumes ?? false)).toEqual([false, false, true]);
  });
  it('never a compressed, partition or tree artifact, and not without the flag', () => {
    const plans = planArtifacts({ input: disk, consumeInput: true, artifacts: [{ Name: 'c', Compression: 'xz' }, { Name: 'p', Type: 'raw', partitionId: 'boot' }] });
    expect(plans.some((p) => p.consumes)).toBe(false);
    expect(planArtifacts({ input: disk, artifacts: [{ Name: 'c', Type: 'vhd' }] })[0]!.consumes).toBeUndefined();
  });
});

describe('requiredTools', () => {
  it('lists the programs of every planned converter and compressor', () => {
    const plans = planArtifacts({ input: disk, artifacts: [{ Name: 'c', Type: 'vhdx' }, { Name: 'c', Compression: 'xz' }, { Name: 'r', Type: 'ext4', partitionId: 'rootfs' }] });
    expect(requiredTools(plans)).toEqual(['qemu-img', 'xfs_io', 'xz']);
    const treePlans = planArtifacts({ input: tree, artifacts: [{ Name: 'c', Compression: 'tar.zst' }, { Name: 'i', Type: 'initrd', Compression: 'gz' }] });
    expect(requiredTools(treePlans)).toEqual(['cpio', 'find', 'mknod', 'pigz', 'sort', 'tar', 'zstd']);
  });
});

describe('parseSeekOutput', () => {
  const text = 'Whence\tResult\nHOLE\t0\nDATA\t1048576\nHOLE\t3145728\nDATA\t10485760\nHOLE\t12582912\n';
  it('returns the data extents', () => {
    expect(parseSeekOutput(text, 0, 1e12)).toEqual([{ start: 1048576, end: 3145728 }, { start: 10485760, end: 12582912 }]);
  });
  it('clips them to the requested range', () => {
    expect(parseSeekOutput(text, 2097152, 11534336)).toEqual([{ start: 2097152, end: 3145728 }, { start: 10485760, end: 11534336 }]);
    expect(parseSeekOutput(text, 4194304, 8388608)).toEqual([]);
  });
});

import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/core/exec.js';
import { chsGeometry, fixedVhdFooter, parseVhdFooter, vhdVirtualSize } from '../../../src/roast/vhd-footer.js';

const MIB = 1024 * 1024;
const dir = await mkdtemp(join(tmpdir(), 'kiln-vhd-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The footer qemu-img writes for a fixed VHD of `size` bytes (the reference implementation). */
async function qemuFooter(size: number, forceSize: boolean): Promise<Buffer> {
  const file = join(dir, `q-${size}-${forceSize}.vhd`);
  const opts = `subformat=fixed${forceSize ? ',force_size=on' : ''}`;
  await run('qemu-img', ['create', '-q', '-f', 'vpc', '-o', opts, file, String(size)]);
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { size: fileSize } = await fh.stat();
    await fh.read(buf, 0, 512, fileSize - 512);
    return buf;
  } finally {
    await fh.close();
  }
}

describe('fixed VHD footer', () => {
  it('rounds the virtual size up to a whole MiB (Azure requirement)', () => {
    expect(vhdVirtualSize(MIB)).toBe(MIB);
    expect(vhdVirtualSize(MIB + 1)).toBe(2 * MIB);
    expect(vhdVirtualSize(10 * 1024 * MIB - 512)).toBe(10 * 1024 * MIB);
    expect(vhdVirtualSize(0)).toBe(MIB);
  });

  const sizes = [MIB, 3 * MIB, 100 * MIB, 2 * 1024 * MIB, 64 * 1024 * MIB];
  it.each(sizes)('writes the same size fields as qemu-img -o subformat=fixed,force_size=on for %i bytes', async (size) => {
    const ours = parseVhdFooter(fixedVhdFooter(size, { uniqueId: Buffer.alloc(16, 7) }));
    const ref = parseVhdFooter(await qemuFooter(size, true));
    expect(ref.checksumValid).toBe(true);
    expect(ours.checksumValid).toBe(true);
    expect(ours.cookie).toBe(ref.cookie);
    expect(ours.diskType).toBe(ref.diskType);
    expect(ours.currentSize).toBe(ref.currentSize);
    expect(ours.originalSize).toBe(ref.originalSize);
    expect(ours.geometry).toEqual(chsGeometry(size));
  });

  // qemu-img (without force_size) grows a disk until the spec's CHS algorithm covers it; for sizes that
  // are exactly C*H*S sectors it must land on the spec's answer. One size per branch of the algorithm.
  const exact = [17 * 4 * 100, 31 * 16 * 1000, 63 * 16 * 5000, 255 * 16 * 40000].map((sectors) => sectors * 512);
  it.each(exact)('computes the same CHS geometry as qemu-img for %i bytes', async (size) => {
    const ref = parseVhdFooter(await qemuFooter(size, false));
    expect(ref.currentSize).toBe(size);
    expect(chsGeometry(size)).toEqual(ref.geometry);
  });

  it('computes the spec example geometry branches', () => {
    expect(chsGeometry(MIB)).toEqual({ cylinders: 30, heads: 4, sectorsPerTrack: 17 });
    expect(chsGeometry(200 * 1024 * MIB)).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
  });

  it('detects a corrupted footer', () => {
    const f = fixedVhdFooter(4 * MIB, { uniqueId: Buffer.alloc(16, 1) });
    f.writeUInt8(f.readUInt8(50) ^ 0xff, 50);
    expect(parseVhdFooter(f).checksumValid).toBe(false);
  });

  it('refuses a size that is not a whole MiB', () => {
    expect(() => fixedVhdFooter(MIB + 512, { uniqueId: Buffer.alloc(16) })).toThrow(/whole MiB/);
  });
});

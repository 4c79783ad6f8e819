/** Every format Kiln roasts, by the `Type` (or tarball `Compression`) that selects it. */
import type { Converter } from './types.js';
import { qcow2, raw, vhd, vhdx, vmdk } from './formats/disk.js';
import { ova } from './formats/ova.js';
import { diff, ext4, rdiff } from './formats/partition.js';
import { erofs, squashfs, tarGz, tarXz, tarZst } from './formats/tree.js';
import { initrd } from './formats/initrd.js';

export const converters: readonly Converter[] = [
  raw, vhd, vhdx, qcow2, vmdk, ova,
  ext4, diff, rdiff,
  tarGz, tarXz, tarZst, squashfs, erofs, initrd,
];

const byName = new Map(converters.map((c) => [c.name, c]));

export function converterFor(name: string): Converter | undefined {
  return byName.get(name.toLowerCase());
}

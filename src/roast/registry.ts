/** Every format Kiln roasts, by the `Type` (or tarball `Compression`) that selects it. */
import type { Converter } from './types.js';
import { COMPRESSIONS } from './compress.js';
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

/**
 * The artifact vocabulary of the image config, derived from the converters above so the config
 * layer (schema enums, validator) and the build planner share one list.
 * `Type`: every converter that is not a rootfs tarball, plus "iso" (made by the ISO maker from the
 * disk images, see iso/). `Compression`: the stream compressors and the rootfs tarballs.
 */
export const ARTIFACT_TYPES: readonly string[] = [...converters.filter((c) => !isTarball(c.name)).map((c) => c.name), 'iso'];
export const ARTIFACT_COMPRESSIONS: readonly string[] = [...COMPRESSIONS, ...converters.filter((c) => isTarball(c.name)).map((c) => c.name)];

function isTarball(name: string): boolean {
  return name.startsWith('tar.');
}

/**
 * Why an artifact Name cannot be an output file name, or undefined when it can: it names a file
 * directly inside the output folder, so no path separator, no NUL, not empty and not starting with
 * "." ("." and ".." would leave the folder; a leading dot hides the file).
 */
export function artifactNameProblem(name: string): string | undefined {
  if (name === '') return 'an artifact Name must not be empty';
  if (name.includes('/')) return 'an artifact Name must not contain "/"';
  if (name.includes('\0')) return 'an artifact Name must not contain a NUL character';
  if (name.startsWith('.')) return 'an artifact Name must not start with "."';
  return undefined;
}

/**
 * Unified kernel images: systemd's EFI stub with the kernel, the initramfs, the command line and
 * os-release added as PE sections (.linux, .initrd, .cmdline, .osrel), assembled with the host's
 * objcopy the way systemd documents it for systems without ukify (Debian 12 has none). Sections
 * are placed after the stub's own, aligned to its SectionAlignment, as ukify places them.
 *
 * The parts come from the image (its kernel, its initramfs, its os-release, its systemd stub) and
 * are gathered before the image is unmounted; the UKI is assembled after the device layers are
 * sealed, because the command line may carry what sealing produced (the verity root hash).
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../core/errors.js';
import { run } from '../core/exec.js';
import { existsInRoot, readBytesInRoot } from '../system/paths.js';

export interface PeLayout {
  imageBase: bigint;
  sectionAlignment: number;
  /** First free relative virtual address after the stub's sections (not yet aligned). */
  endRva: number;
  sections: { name: string; rva: number; size: number }[];
}

/** The stub's PE32+ headers: image base, section alignment, where its sections end. */
export function readPeLayout(pe: Buffer): PeLayout {
  if (pe.readUInt16LE(0) !== 0x5a4d) throw new Error('not a PE file (no MZ header)');
  const peOff = pe.readUInt32LE(0x3c);
  if (pe.readUInt32LE(peOff) !== 0x00004550) throw new Error('not a PE file (no PE signature)');
  const coff = peOff + 4;
  const nSections = pe.readUInt16LE(coff + 2);
  const optSize = pe.readUInt16LE(coff + 16);
  const opt = coff + 20;
  if (pe.readUInt16LE(opt) !== 0x20b) throw new Error('not a PE32+ (64-bit) image');
  const imageBase = pe.readBigUInt64LE(opt + 24);
  const sectionAlignment = pe.readUInt32LE(opt + 32);
  const sections: PeLayout['sections'] = [];
  let endRva = 0;
  for (let i = 0; i < nSections; i++) {
    const at = opt + optSize + i * 40;
    const name = pe.subarray(at, at + 8).toString('latin1').replace(/\0+$/, '');
    const vsize = pe.readUInt32LE(at + 8);
    const rva = pe.readUInt32LE(at + 12);
    const rawSize = pe.readUInt32LE(at + 16);
    const size = Math.max(vsize, rawSize);
    sections.push({ name, rva, size });
    endRva = Math.max(endRva, rva + size);
  }
  return { imageBase, sectionAlignment, endRva, sections };
}

export interface UkiSection {
  name: '.osrel' | '.cmdline' | '.linux' | '.initrd';
  file: string;
  size: number;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** objcopy arguments adding `sections` to `stub` in order, each at the next aligned address (pure). */
export function ukiObjcopyArgs(layout: PeLayout, sections: readonly UkiSection[], stub: string, out: string): string[] {
  const args: string[] = [];
  let rva = align(layout.endRva, layout.sectionAlignment);
  for (const s of sections) {
    const vma = layout.imageBase + BigInt(rva);
    args.push('--add-section', `${s.name}=${s.file}`, '--change-section-vma', `${s.name}=0x${vma.toString(16)}`);
    rva = align(rva + s.size, layout.sectionAlignment);
  }
  return [...args, stub, out];
}

export interface UkiParts {
  dir: string;
  kernelVersion: string;
  stub: string;
  linux: string;
  initrd: string;
  osrel: string;
}

/** Copy the UKI's parts out of the image (before it is unmounted). */
export async function gatherUkiParts(opts: { root: string; dir: string; kernelVersion: string; initrdName: string; stub: string }): Promise<UkiParts> {
  mkdirSync(opts.dir, { recursive: true });
  // read inside the image root (links resolved there, never on the host)
  const take = async (imagePath: string, name: string, what: string) => {
    const data = await readBytesInRoot(opts.root, imagePath);
    if (!data) throw new KilnError(`the image has no ${what} (${imagePath}), so no unified kernel image can be made`);
    const dst = join(opts.dir, name);
    writeFileSync(dst, data);
    return dst;
  };
  const osrelPath = (await existsInRoot(opts.root, '/etc/os-release')) ? '/etc/os-release' : '/usr/lib/os-release';
  return {
    dir: opts.dir,
    kernelVersion: opts.kernelVersion,
    stub: await take(opts.stub, 'linuxx64.efi.stub', "systemd EFI stub"),
    linux: await take(`/boot/vmlinuz-${opts.kernelVersion}`, 'vmlinuz', 'kernel'),
    initrd: await take(`/boot/${opts.initrdName}`, 'initrd', 'initramfs'),
    osrel: await take(osrelPath, 'os-release', 'os-release'),
  };
}

/** Assemble the UKI at `out` with `cmdline`. */
export async function assembleUki(parts: UkiParts, cmdline: string, out: string): Promise<void> {
  const cmdlineFile = join(parts.dir, 'cmdline');
  writeFileSync(cmdlineFile, cmdline);
  const sections: UkiSection[] = [
    { name: '.osrel', file: parts.osrel, size: statSync(parts.osrel).size },
    { name: '.cmdline', file: cmdlineFile, size: statSync(cmdlineFile).size },
    { name: '.linux', file: parts.linux, size: statSync(parts.linux).size },
    { name: '.initrd', file: parts.initrd, size: statSync(parts.initrd).size },
  ];
  const layout = readPeLayout(readFileSync(parts.stub));
  await run('objcopy', ukiObjcopyArgs(layout, sections, parts.stub, out), { hint: 'objcopy comes with the Debian package binutils' });
}

/**
 * Whole-disk formats. raw and fixed VHD are written natively (a sparse copy, plus a 512-byte footer
 * for VHD: no tool can beat not converting). vhdx, qcow2 and vmdk go through `qemu-img convert`,
 * the reference implementation.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from '../../core/exec.js';
import type { Converter, ConvertJob } from '../types.js';
import { copySparse } from '../sparse.js';
import { stabilizeVhdx, stabilizeVmdk } from '../stable-ids.js';
import type { IdSource } from '../../disk/ids.js';
import { fixedVhdFooter, parseVhdFooter, VHD_FOOTER_SIZE, vhdVirtualSize } from '../vhd-footer.js';

const QEMU_IMG_HINT = 'qemu-img comes with the Debian package qemu-utils';

export const raw: Converter = {
  name: 'raw',
  tools: ['xfs_io'],
  extension: 'raw',
  accepts: ['disk', 'partition'],
  description: 'raw image, sparse copy in the kernel (SEEK_DATA + copy_file_range)',
  convert: (job) => takeOrCopy(job),
};

/** The raw bytes at job.output: moved there when the input is a throwaway, else a sparse copy. */
async function takeOrCopy(job: ConvertJob): Promise<void> {
  if (job.consumeSource) await rename(job.source, job.output);
  else await copySparse(job.source, job.output);
}

export const vhd: Converter = {
  name: 'vhd',
  tools: ['xfs_io'],
  extension: 'vhd',
  accepts: ['disk', 'partition'],
  description: 'fixed VHD for Azure (native: raw sparse copy, or the raw itself when consumable, size rounded up to a MiB, 512-byte footer)',
  convert: writeFixedVhd,
};

async function writeFixedVhd(job: ConvertJob): Promise<void> {
  const { size } = await stat(job.source);
  const virtualSize = vhdVirtualSize(size);
  await takeOrCopy(job);
  const r = job.reproducible;
  const footer = fixedVhdFooter(virtualSize, r ? { uniqueId: r.ids.bytes(`vhd:${job.name}`, 16), createdAt: new Date(r.sourceDateEpoch * 1000) } : { uniqueId: randomBytes(16) });
  const fh = await open(job.output, 'r+');
  try {
    await fh.truncate(virtualSize); // the padding up to the MiB boundary stays a hole
    await fh.write(footer, 0, VHD_FOOTER_SIZE, virtualSize);
    const check = Buffer.alloc(VHD_FOOTER_SIZE);
    await fh.read(check, 0, VHD_FOOTER_SIZE, virtualSize);
    if (!parseVhdFooter(check).checksumValid) throw new Error('VHD footer read back with a bad checksum');
  } finally {
    await fh.close();
  }
}

/**
 * qemu-img convert with its defaults: it already skips holes (block status) and zero runs (-S 4k)
 * with 8 coroutines. -W (out-of-order writes) and -m 16 were measured on the 2-core build machine
 * (bench/roast.ts and by hand, 0.5 and 2.8 GiB of data) and gave no consistent gain, so Kiln runs
 * exactly the reference command.
 */
function qemuImg(format: string, options: string[], stabilize?: (path: string, ids: IdSource) => Promise<void>): Converter['convert'] {
  return async (job) => {
    const args = ['convert', '-f', 'raw', '-O', format];
    if (options.length) args.push('-o', options.join(','));
    // written under its final name (a VMDK names its own file in its descriptor), then moved
    const named = join(job.workDir, intendedName(job.output));
    await run('qemu-img', [...args, job.source, named], { hint: QEMU_IMG_HINT });
    await rename(named, job.output);
    // qemu-img writes random identifiers into these formats
    if (job.reproducible && stabilize) await stabilize(job.output, job.reproducible.ids);
  };
}

/** The name a temporary output stands for (".core.vmdk.partial-123" → "core.vmdk"). */
export function intendedName(output: string): string {
  return basename(output).replace(/^\.(.*)\.partial-\d+$/, '$1');
}

export const vhdx: Converter = {
  name: 'vhdx',
  tools: ['qemu-img'],
  extension: 'vhdx',
  accepts: ['disk', 'partition'],
  description: 'dynamic VHDX (qemu-img convert -O vhdx -o subformat=dynamic)',
  convert: qemuImg('vhdx', ['subformat=dynamic'], stabilizeVhdx),
};

export const qcow2: Converter = {
  name: 'qcow2',
  tools: ['qemu-img'],
  extension: 'qcow2',
  accepts: ['disk', 'partition'],
  description: 'qcow2 (qemu-img convert -O qcow2)',
  convert: qemuImg('qcow2', []),
};

/** Stream-optimised VMDK: compressed grains written in order (what OVA and ESXi import expect). */
export const vmdk: Converter = {
  name: 'vmdk',
  tools: ['qemu-img'],
  extension: 'vmdk',
  accepts: ['disk', 'partition'],
  description: 'stream-optimised VMDK (qemu-img convert -O vmdk -o subformat=streamOptimized)',
  convert: qemuImg('vmdk', ['subformat=streamOptimized'], stabilizeVmdk),
};

/**
 * OVA = a USTAR tar of: the OVF descriptor (first, as the OVF spec requires), the manifest
 * (SHA-256 of the other files), then the stream-optimised VMDK. Built in the job's scratch dir.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../core/exec.js';
import type { Converter, ConvertJob } from '../types.js';
import { vmdk } from './disk.js';
import { renderManifest, renderOvf } from './ovf.js';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function writeOva(job: ConvertJob): Promise<void> {
  const base = job.name.replace(/[^A-Za-z0-9._-]/g, '_');
  const files = { ovf: `${base}.ovf`, mf: `${base}.mf`, disk: `${base}-disk1.vmdk` };
  const diskPath = join(job.workDir, files.disk);
  await vmdk.convert({ ...job, output: diskPath });
  const { size: capacity } = await stat(job.source);
  const { size: fileSize } = await stat(diskPath);
  const ovf = renderOvf({ name: job.name, disk: { file: files.disk, fileSize, capacity } });
  await writeFile(join(job.workDir, files.ovf), ovf);
  const manifest = renderManifest([
    { file: files.ovf, sha256: createHash('sha256').update(ovf).digest('hex') },
    { file: files.disk, sha256: await sha256File(diskPath) },
  ]);
  await writeFile(join(job.workDir, files.mf), manifest);
  await run('tar', [
    '--format=ustar', '--owner=0', '--group=0', '--numeric-owner', '--mode=0644',
    ...(job.reproducible ? [`--mtime=@${job.reproducible.sourceDateEpoch}`] : []),
    '-cf', job.output, '-C', job.workDir, files.ovf, files.mf, files.disk,
  ]);
}

export const ova: Converter = {
  name: 'ova',
  tools: ['qemu-img', 'tar'],
  extension: 'ova',
  accepts: ['disk'],
  description: 'OVA: OVF 1.0 descriptor + manifest (SHA-256) + stream-optimised VMDK in a USTAR tar',
  convert: writeOva,
};

/**
 * `kiln inspect ARTIFACT`: what is inside a built artifact, without modifying it. Disk formats
 * other than raw are converted to a temporary raw copy (qemu-img convert: the kernel here has no
 * nbd); a fixed VHD is read in place (raw data plus a footer); an OVA's disk is extracted first;
 * an ISO reports its El Torito entries and inspects each disk image it carries; a rootfs tarball
 * is read with tar.
 */
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { ExitCode, KilnError } from '../core/errors.js';
import { output, run } from '../core/exec.js';
import { withScope, type Scope } from '../core/scope.js';
import { inspectRawDisk, type DiskReport } from './disk.js';
import type { OsInfo } from './osinfo.js';

export type { DiskReport, PartitionInfo, FilesystemInfo, BootInfo } from './disk.js';
export { parseOsRelease, countDpkgStatus } from './osinfo.js';

export interface InspectReport {
  artifact: {
    path: string;
    /** raw, vpc (vhd), vhdx, qcow2, vmdk, ova, iso, tar (with compression) */
    format: string;
    bytes: number;
    sha256: string;
    virtualSizeBytes?: number;
    compression?: string;
  };
  disk?: DiskReport;
  /** Root filesystem tarball. */
  tree?: { entries: number; os?: OsInfo };
  ova?: { files: string[]; disk: string };
  iso?: {
    volumeId?: string;
    uuid?: string;
    elTorito: { platform: string; bootable: boolean }[];
    files: string[];
    /** Disk images the installer carries, each inspected. */
    payloads: { path: string; report: InspectReport }[];
  };
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function magic(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

type Kind = { kind: 'iso' } | { kind: 'tar'; compression?: string } | { kind: 'ova' } | { kind: 'disk'; format: string; virtualSize: number; fixedVhd?: boolean };

async function detect(path: string): Promise<Kind> {
  if ((await magic(path, 32769, 5)).toString('latin1') === 'CD001') return { kind: 'iso' };
  const name = basename(path).toLowerCase();
  if (name.endsWith('.ova')) return { kind: 'ova' };
  const tar = /\.(tar|tar\.gz|tgz|tar\.xz|txz|tar\.zst|tzst)$/.exec(name);
  if (tar) return { kind: 'tar', ...(tar[1] !== 'tar' ? { compression: tar[1]!.replace(/^tar\./, '') } : {}) };
  const ext = name.split('.').pop();
  const forced = ext === 'vhd' ? 'vpc' : undefined;
  const infoText = await output('qemu-img', ['info', '--output=json', ...(forced ? ['-f', forced] : []), path]).catch(() => '');
  if (!infoText) throw new KilnError(`${path}: not an artifact Kiln can inspect (not a disk image qemu-img reads, an ISO, an OVA or a tarball)`, ExitCode.Usage, [], 'ARTIFACT_UNSUPPORTED');
  const info = JSON.parse(infoText) as { format: string; 'virtual-size': number };
  // a fixed VHD is the raw disk followed by a 512-byte footer: readable in place
  const st = await stat(path);
  const fixedVhd = info.format === 'vpc' && (await magic(path, st.size - 512, 8)).toString('latin1') === 'conectix' && (await magic(path, st.size - 512 + 60, 4)).readUInt32BE(0) === 2;
  return { kind: 'disk', format: info.format, virtualSize: info['virtual-size'], ...(fixedVhd ? { fixedVhd } : {}) };
}

export async function inspectArtifact(file: string): Promise<InspectReport> {
  const path = resolve(file);
  if (!existsSync(path)) throw new KilnError(`${file} does not exist`, ExitCode.Usage, [], 'INPUT_NOT_FOUND');
  if (!(await stat(path)).isFile()) throw new KilnError(`${file} is not a file`, ExitCode.Usage, [], 'ARTIFACT_UNSUPPORTED');
  return await withScope('inspect', async (scope) => {
    const work = await mkdtemp(join(process.env.KILN_INSPECT_DIR ?? '/var/tmp', 'kiln-inspect-'));
    scope.add(`inspect directory ${work}`, () => rm(work, { recursive: true, force: true }), { kind: 'path', path: work });
    return await inspectIn(scope, path, work);
  });
}

async function inspectIn(scope: Scope, path: string, work: string): Promise<InspectReport> {
  const kind = await detect(path);
  const st = await stat(path);
  const base = { path, bytes: st.size, sha256: await sha256(path) };
  if (kind.kind === 'disk') {
    let raw = path;
    let rawSize = kind.virtualSize;
    if (kind.format !== 'raw' && !kind.fixedVhd) {
      raw = join(work, `${basename(path)}.raw`);
      await run('qemu-img', ['convert', '-f', kind.format, '-O', 'raw', path, raw]).catch((e: Error) => {
        throw new KilnError(`${path}: qemu-img cannot read the ${kind.format} image to the end`, ExitCode.BuildFailed, [e.message, ...(e instanceof KilnError ? e.details : [])], 'INSPECT_FAILED');
      });
    } else if (kind.fixedVhd) {
      rawSize = st.size - 512;
    }
    const mnt = join(work, 'mnt');
    await mkdir(mnt, { recursive: true });
    // a nested scope: the mounts and loop devices are released before the temporary raw is deleted
    const disk = await withScope(`inspect ${basename(path)}`, (inner) => inspectRawDisk(inner, raw, rawSize, mnt));
    if (disk.partitionTable.type === 'none' && disk.partitionTable.partitions.length === 0) {
      throw new KilnError(`${path}: no partition table and no filesystem: not a disk image Kiln can read`, ExitCode.Usage, [], 'ARTIFACT_UNSUPPORTED');
    }
    return { artifact: { ...base, format: kind.format === 'vpc' && kind.fixedVhd ? 'vpc (fixed)' : kind.format, virtualSizeBytes: kind.virtualSize }, disk };
  }
  if (kind.kind === 'ova') {
    const files = (await output('tar', ['-tf', path])).split('\n').filter(Boolean);
    const vmdk = files.find((f) => f.toLowerCase().endsWith('.vmdk'));
    if (!vmdk) throw new KilnError(`${path}: an OVA without a .vmdk disk`, ExitCode.Usage, [`members: ${files.join(', ')}`], 'ARTIFACT_UNSUPPORTED');
    const dir = join(work, 'ova');
    await mkdir(dir, { recursive: true });
    await run('tar', ['-xf', path, '-C', dir, vmdk]);
    await mkdir(join(work, 'ova-disk'), { recursive: true });
    const inner = await inspectIn(scope, join(dir, vmdk), join(work, 'ova-disk'));
    return { artifact: { ...base, format: 'ova', ...(inner.artifact.virtualSizeBytes ? { virtualSizeBytes: inner.artifact.virtualSizeBytes } : {}) }, ova: { files, disk: vmdk }, ...(inner.disk ? { disk: inner.disk } : {}) };
  }
  if (kind.kind === 'tar') return { artifact: { ...base, format: 'tar', ...(kind.compression ? { compression: kind.compression } : {}) }, tree: await inspectTarball(path, work) };
  return { artifact: { ...base, format: 'iso' }, iso: await inspectIso(scope, path, work) };
}

const TAR_FILES = ['etc/os-release', 'usr/lib/os-release', 'var/lib/dpkg/status', 'var/lib/rpmmanifest/container-manifest-1'];

async function inspectTarball(path: string, work: string): Promise<NonNullable<InspectReport['tree']>> {
  const list = (await output('tar', ['-tf', path])).split('\n').filter(Boolean);
  const norm = (f: string) => f.replace(/^\.\//, '');
  const dir = join(work, 'tree');
  await mkdir(dir, { recursive: true });
  const want = list.filter((f) => TAR_FILES.includes(norm(f)) || /^(\.\/)?var\/lib\/rpm\/[^/]+$/.test(f));
  if (want.length) await run('tar', ['-xf', path, '-C', dir, '--no-same-owner', ...want]);
  const kernels = list.map(norm).filter((f) => /^boot\/vmlinuz-/.test(f)).map((f) => f.slice('boot/vmlinuz-'.length));
  const { osInfo } = await import('./osinfo.js');
  // etc/os-release is usually a symlink to ../usr/lib/os-release: osInfo resolves it inside the tree
  const os = await osInfo(dir);
  if (os) os.kernels = kernels;
  return { entries: list.length, ...(os ? { os } : {}) };
}

async function inspectIso(scope: Scope, path: string, work: string): Promise<NonNullable<InspectReport['iso']>> {
  const blk = await run('blkid', ['-p', '-o', 'export', path], { allowFailure: true });
  const tags = Object.fromEntries(blk.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const report = await run('xorriso', ['-indev', path, '-report_el_torito', 'plain'], { allowFailure: true });
  const elTorito = [...report.stdout.matchAll(/El Torito boot img :\s+\d+\s+(\S+)\s+(y|n)/g)].map((m) => ({ platform: m[1]!, bootable: m[2] === 'y' }));
  const find = await run('xorriso', ['-indev', path, '-find', '/', '-type', 'f'], { allowFailure: true });
  const files = find.stdout.split('\n').map((l) => l.trim().replace(/^'|'$/g, '')).filter((l) => l.startsWith('/'));
  const payloads: { path: string; report: InspectReport }[] = [];
  for (const f of files.filter((x) => /^\/kiln\/images\/[^/]+\.(qcow2|raw|vhdx|vhd|img)$/.test(x))) {
    const dir = join(work, `payload-${payloads.length + 1}`);
    await mkdir(dir, { recursive: true });
    const local = join(dir, basename(f));
    await run('osirrox', ['-indev', path, '-extract', f, local]);
    payloads.push({ path: f, report: await inspectIn(scope, local, dir) });
    await rm(local, { force: true });
  }
  return {
    ...(tags.LABEL ? { volumeId: tags.LABEL } : {}),
    ...(tags.UUID ? { uuid: tags.UUID } : {}),
    elTorito,
    files,
    payloads,
  };
}

/** The text form of a report. */
export function formatReport(r: InspectReport, indent = ''): string {
  const out: string[] = [];
  const mib = (b: number) => `${(b / 1024 / 1024).toFixed(b < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
  const a = r.artifact;
  out.push(`${indent}${basename(a.path)}: ${a.format}${a.compression ? ` (${a.compression})` : ''}, ${mib(a.bytes)} on disk${a.virtualSizeBytes ? `, ${mib(a.virtualSizeBytes)} virtual` : ''}`);
  out.push(`${indent}  sha256 ${a.sha256}`);
  if (r.ova) out.push(`${indent}  OVA members: ${r.ova.files.join(', ')}`);
  if (r.disk) {
    const t = r.disk.partitionTable;
    out.push(`${indent}  partition table: ${t.type}${t.id ? ` ${t.id}` : ''}`);
    for (const p of t.partitions) {
      const fs = p.filesystem;
      out.push(
        `${indent}    ${String(p.number).padStart(2)}  ${mib(p.sizeBytes).padStart(9)}  ${(p.typeName ?? p.type).padEnd(17)} ${p.name ? `"${p.name}" ` : ''}` +
          (fs ? `${fs.fatType ?? fs.type}${fs.uuid ? ` UUID=${fs.uuid}` : ''}${fs.label ? ` LABEL=${fs.label}` : ''}${fs.usedBytes !== undefined && fs.sizeBytes ? ` (${mib(fs.usedBytes)} of ${mib(fs.sizeBytes)} used)` : ''}` : '(no filesystem)') +
          (p.mountPoint ? `  ${p.mountPoint}` : ''),
      );
    }
    const b = r.disk.boot;
    out.push(`${indent}  boot: ${b.firmware.length ? b.firmware.join(' + ').toUpperCase() : 'not bootable'}${b.loaders.length ? `, ${b.loaders.join(', ')}` : ''}`);
  }
  const os = r.disk?.os ?? r.tree?.os;
  if (os) {
    out.push(`${indent}  os: ${os.osRelease.PRETTY_NAME ?? os.osRelease.NAME ?? '?'}${os.osRelease.VERSION_ID ? ` (VERSION_ID ${os.osRelease.VERSION_ID})` : ''}`);
    if (os.kernels.length) out.push(`${indent}  kernel: ${os.kernels.join(', ')}`);
    if (os.packages) out.push(`${indent}  packages: ${os.packages.count} (${os.packages.manager}, ${os.packages.source})`);
  }
  if (r.tree) out.push(`${indent}  tree: ${r.tree.entries} entries`);
  if (r.iso) {
    out.push(`${indent}  ISO volume ${r.iso.volumeId ?? '?'}${r.iso.uuid ? ` (${r.iso.uuid})` : ''}; El Torito: ${r.iso.elTorito.map((e) => e.platform).join(', ') || 'none'}`);
    for (const p of r.iso.payloads) {
      out.push(`${indent}  carries ${p.path}:`);
      out.push(formatReport(p.report, indent + '    '));
    }
  }
  return out.join('\n');
}


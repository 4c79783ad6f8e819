/**
 * `kiln diff A B`: why two images are not byte for byte the same.
 *
 * A and B are disk images (raw, vhdx, vhd, qcow2, vmdk: anything qemu-img reads), root filesystem
 * trees (directories) or tarballs. The report goes from the outside in and stops explaining where
 * things are equal:
 *   container (vhdx/vhd/… headers: which bytes, and what they hold) → disk contents → partition
 *   table (label id, each partition's GUID, type, range, name) → each partition (same, or: its
 *   filesystem's superblock fields, the files that differ and how — content, mode, owner, size,
 *   mtime, link target, xattrs —, and for blocks that differ while every file is the same, which
 *   inodes or files those blocks belong to).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { output, run } from '../core/exec.js';
import type { Scope } from '../core/scope.js';
import { imageDigest } from '../cache/payload.js';
import { describeContainerBytes } from './containers.js';
import { partitionTableIfAny, type SfdiskPartition, type SfdiskTable } from '../disk/sfdisk.js';

export interface DiffReport {
  same: boolean;
  lines: string[];
}

interface Input {
  path: string;
  kind: 'disk' | 'tree' | 'tarball';
  format?: string;
}

const MAX_ITEMS = 40;

export async function diffImages(a: string, b: string, scope: Scope): Promise<DiffReport> {
  const lines: string[] = [];
  const A = await classify(resolve(a));
  const B = await classify(resolve(b));
  lines.push(`A: ${A.path} (${A.format ?? A.kind})`, `B: ${B.path} (${B.format ?? B.kind})`);
  if (A.kind === 'disk' && B.kind === 'disk' && (await sameFile(A.path, B.path))) return { same: true, lines: [...lines, 'identical (every byte)'] };
  // named like a build's work directory: `kiln clean` releases its loops and mounts after a kill
  const work = await mkdtemp(join(tmpdir(), '.work-diff-'));
  scope.add(`diff scratch ${work}`, () => rm(work, { recursive: true, force: true }), { kind: 'path', path: work });
  if (A.kind === 'disk' && B.kind === 'disk') {
    if (A.format !== 'raw' || B.format !== 'raw') {
      if (A.format === B.format) lines.push(...(await describeContainerBytes(A.path, B.path, A.format!)));
      else lines.push(`containers differ in format (${A.format} / ${B.format})`);
    }
    const rawA = await asRaw(A, work, 'a');
    const rawB = await asRaw(B, work, 'b');
    if (rawA !== A.path || rawB !== B.path) {
      if (await sameFile(rawA, rawB)) {
        lines.push('disk contents: identical (only the container differs)');
        return { same: false, lines };
      }
      lines.push('disk contents differ:');
    }
    await diffRaw(await inWork(rawA, work, 'a'), await inWork(rawB, work, 'b'), work, scope, lines);
    return { same: false, lines };
  }
  const treeA = A.kind === 'tree' ? A.path : await unpack(A.path, join(work, 'a'));
  const treeB = B.kind === 'tree' ? B.path : await unpack(B.path, join(work, 'b'));
  const n = await diffTrees(treeA, treeB, lines, '');
  if (A.kind === 'tarball' && B.kind === 'tarball' && !n) lines.push('same files; the archives differ in member order, headers or compression');
  return { same: false, lines: n || A.kind !== 'tree' ? lines : [...lines, 'no differences in files, modes, owners, times, links or xattrs'] };
}

async function classify(path: string): Promise<Input> {
  const st = statSync(path);
  if (st.isDirectory()) return { path, kind: 'tree' };
  if (/\.(tar|tar\.(gz|xz|zst)|tgz)$/.test(path)) return { path, kind: 'tarball', format: 'tar' };
  const info = JSON.parse(await output('qemu-img', ['info', '--output=json', path])) as { format: string };
  return { path, kind: 'disk', format: info.format };
}

async function sameFile(a: string, b: string): Promise<boolean> {
  if (statSync(a).size !== statSync(b).size) return false;
  const [x, y] = await Promise.all([fileHash(a), fileHash(b)]);
  return x === y;
}

async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function asRaw(input: Input, work: string, tag: string): Promise<string> {
  if (input.format === 'raw') return input.path;
  const out = join(work, `${tag}.raw`);
  await run('qemu-img', ['convert', '-O', 'raw', input.path, out]);
  return out;
}

/**
 * The raw file under a name inside the work directory (a hard link; a sparse copy across
 * filesystems), so the loop devices attached to it are backed by a file `kiln clean` may release.
 */
async function inWork(raw: string, work: string, tag: string): Promise<string> {
  if (raw.startsWith(`${work}/`)) return raw;
  const name = join(work, `${tag}.input.raw`);
  try {
    await link(raw, name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await run('cp', ['--sparse=always', '--reflink=auto', raw, name]);
  }
  return name;
}

async function unpack(tarball: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await run('tar', ['--extract', '--file', tarball, '--numeric-owner', '--same-owner', '--preserve-permissions', '--xattrs', '--xattrs-include=*', '--acls', '-C', dir]);
  return dir;
}

// ---- raw disks ------------------------------------------------------------------------------------

async function diffRaw(a: string, b: string, work: string, scope: Scope, lines: string[]): Promise<void> {
  const [sa, sb] = [statSync(a).size, statSync(b).size];
  if (sa !== sb) lines.push(`  size: ${sa} / ${sb} bytes`);
  const [ta, tb] = await Promise.all([partitionTableIfAny(a), partitionTableIfAny(b)]);
  if (!ta || !tb) {
    lines.push('  no partition table on ' + (!ta ? 'A' : 'B') + ': compared as one filesystem');
    await diffRegion(a, b, 0, Math.min(sa, sb), 'whole disk', work, scope, lines);
    return;
  }
  const fields = (t: SfdiskTable) => ({ label: t.label, 'label-id': t.id, partitions: String(t.partitions.length) });
  const tableDiffs = compareFields(fields(ta), fields(tb));
  ta.partitions.forEach((p, i) => {
    const q = tb.partitions[i];
    if (!q) return;
    for (const d of compareFields(partFields(p), partFields(q))) tableDiffs.push(`partition ${i + 1} ${d}`);
  });
  lines.push(tableDiffs.length ? `  partition table differs:` : '  partition table: same');
  for (const d of tableDiffs) lines.push(`    ${d}`);
  // bytes outside the partitions (protective MBR, GPT headers and entries, gaps)
  const outside = await outsideDiffers(a, b, ta, Math.min(sa, sb));
  if (outside) lines.push(`    bytes outside the partitions differ (${outside})${tableDiffs.length ? '' : ': headers or gaps, not the table fields'}`);
  for (const [i, p] of ta.partitions.entries()) {
    const q = tb.partitions[i];
    const label = `partition ${i + 1}${p.name ? ` "${p.name}"` : ''}`;
    if (!q || q.start !== p.start || q.size !== p.size) {
      lines.push(`  ${label}: at a different place in B; not compared`);
      continue;
    }
    await diffRegion(a, b, p.start * 512, p.size * 512, label, work, scope, lines);
  }
}

function partFields(p: SfdiskPartition): Record<string, string> {
  return { start: String(p.start), size: String(p.size), type: p.type, uuid: p.uuid ?? '', name: p.name ?? '', attrs: p.attrs ?? '' };
}

function compareFields(a: Record<string, string>, b: Record<string, string>): string[] {
  return Object.keys(a)
    .filter((k) => a[k] !== b[k])
    .map((k) => `${k}: ${a[k]} / ${b[k]}`);
}

async function outsideDiffers(a: string, b: string, t: SfdiskTable, size: number): Promise<string | undefined> {
  const ranges: [number, number][] = [];
  let at = 0;
  for (const p of [...t.partitions].sort((x, y) => x.start - y.start)) {
    if (p.start * 512 > at) ranges.push([at, p.start * 512 - at]);
    at = Math.max(at, (p.start + p.size) * 512);
  }
  if (at < size) ranges.push([at, size - at]);
  const differing: string[] = [];
  for (const [off, len] of ranges) {
    const [x, y] = await Promise.all([imageDigest(a, off, len), imageDigest(b, off, len)]);
    if (x.sha256 !== y.sha256) differing.push(`${off}+${len}`);
  }
  return differing.length ? differing.join(', ') : undefined;
}

async function diffRegion(a: string, b: string, offset: number, size: number, label: string, work: string, scope: Scope, lines: string[]): Promise<void> {
  const [x, y] = await Promise.all([imageDigest(a, offset, size), imageDigest(b, offset, size)]);
  const fs = await probe(a, offset, size);
  if (x.sha256 === y.sha256) {
    lines.push(`  ${label} (${fs || 'no filesystem'}): same`);
    return;
  }
  lines.push(`  ${label} (${fs || 'no filesystem'}): differs`);
  if (fs.startsWith('ext')) await diffExt(a, b, offset, size, work, scope, lines);
  else if (fs === 'vfat') await diffFat(a, b, offset, work, lines);
  else lines.push(`    ${await differingBlocks(a, b, offset, size, 4096)}`);
}

async function probe(raw: string, offset: number, size: number): Promise<string> {
  const r = await run('blkid', ['-p', '-o', 'value', '-s', 'TYPE', '--offset', String(offset), '--size', String(size), raw], { allowFailure: true });
  return r.stdout.trim();
}

/** "N blocks of SIZE differ: first at …" for a region, and the block numbers (relative) for callers. */
async function differingBlocks(a: string, b: string, offset: number, size: number, block: number, list?: number[]): Promise<string> {
  const { open } = await import('node:fs/promises');
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  const chunk = 4 << 20;
  const [ba, bb] = [Buffer.alloc(chunk), Buffer.alloc(chunk)];
  let count = 0;
  try {
    for (let at = 0; at < size; at += chunk) {
      const n = Math.min(chunk, size - at);
      await Promise.all([fa.read(ba, 0, n, offset + at), fb.read(bb, 0, n, offset + at)]);
      if (ba.subarray(0, n).equals(bb.subarray(0, n))) continue;
      for (let k = 0; k < n; k += block) {
        if (!ba.subarray(k, k + block).equals(bb.subarray(k, k + block))) {
          count++;
          list?.push((at + k) / block);
        }
      }
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
  return `${count} block(s) of ${block} bytes differ${list?.length ? ` (first: ${list.slice(0, 8).join(', ')})` : ''}`;
}

async function loop(raw: string, offset: number, size: number, scope: Scope): Promise<string> {
  return await scope.acquire(
    `loop ${raw}@${offset}`,
    () => output('losetup', ['--find', '--show', '--read-only', '--offset', String(offset), '--sizelimit', String(size), raw]),
    (dev) => run('losetup', ['-d', dev], { allowFailure: true }).then(() => undefined),
    (dev) => ({ kind: 'loop', device: dev, backingFile: raw }),
  );
}

async function mountRo(device: string, dir: string, scope: Scope): Promise<void> {
  await mkdir(dir, { recursive: true });
  await scope.acquire(
    `mount ${dir}`,
    () => run('mount', ['-o', 'ro,noload', device, dir]),
    () => run('umount', [dir], { allowFailure: true }).then(() => undefined),
    () => ({ kind: 'mount', path: dir }),
  );
}

const SUPERBLOCK_FIELDS = /^(Filesystem UUID|Filesystem volume name|Directory Hash Seed|Filesystem created|Last mount time|Last write time|Mount count|Last checked|Lifetime writes|Filesystem state|Filesystem features|Free blocks|Free inodes|Inode count|Block count|Journal UUID|Checksum seed|Default directory hash|Filesystem flags)\s*:\s*(.*)$/;

async function superblock(device: string): Promise<Record<string, string>> {
  const text = await output('dumpe2fs', ['-h', device], { allowFailure: true });
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = SUPERBLOCK_FIELDS.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

async function diffExt(a: string, b: string, offset: number, size: number, work: string, scope: Scope, lines: string[]): Promise<void> {
  const [da, db] = [await loop(a, offset, size, scope), await loop(b, offset, size, scope)];
  const sbDiffs = compareFields(await superblock(da), await superblock(db));
  if (sbDiffs.length) {
    lines.push('    superblock:');
    for (const d of sbDiffs) lines.push(`      ${d}`);
  }
  const [ma, mb] = [await mkdtemp(join(work, 'ma-')), await mkdtemp(join(work, 'mb-'))];
  await mountRo(da, ma, scope);
  await mountRo(db, mb, scope);
  const n = await diffTrees(ma, mb, lines, '    ');
  if (!n) {
    lines.push('    files: the same (content, mode, owner, size, mtime, links, xattrs)');
    const blocks: number[] = [];
    const bs = Number((await superblock(da))['Block size'] ?? 4096) || 4096;
    lines.push(`    ${await differingBlocks(a, b, offset, size, bs, blocks)}`);
    for (const l of await explainBlocks(da, blocks.slice(0, 32))) lines.push(`      ${l}`);
  }
}

/** Which inodes (by their paths) the differing blocks hold: inode tables (times, sizes) or file data. */
async function explainBlocks(device: string, blocks: number[]): Promise<string[]> {
  if (!blocks.length) return [];
  const dump = await output('dumpe2fs', [device], { allowFailure: true });
  const perGroup = Number(/^Inodes per group:\s*(\d+)/m.exec(dump)?.[1]);
  const inodeSize = Number(/^Inode size:\s*(\d+)/m.exec(dump)?.[1]);
  const blockSize = Number(/^Block size:\s*(\d+)/m.exec(dump)?.[1]);
  const tables: { group: number; start: number; end: number }[] = [];
  for (const m of dump.matchAll(/^Group (\d+):[\s\S]*?Inode table at (\d+)-(\d+)/gm)) tables.push({ group: Number(m[1]), start: Number(m[2]), end: Number(m[3]) });
  const out: string[] = [];
  const inodes = new Set<number>();
  const data: number[] = [];
  for (const b of blocks) {
    const t = tables.find((x) => b >= x.start && b <= x.end);
    if (!t) {
      data.push(b);
      continue;
    }
    const first = t.group * perGroup + ((b - t.start) * blockSize) / inodeSize + 1;
    for (let i = 0; i < blockSize / inodeSize; i++) inodes.add(first + i);
  }
  if (data.length) {
    const icheck = await output('debugfs', ['-R', `icheck ${data.join(' ')}`, device], { allowFailure: true });
    for (const l of icheck.split('\n').slice(1)) {
      const [blk, ino] = l.trim().split(/\s+/);
      if (ino && /^\d+$/.test(ino)) inodes.add(Number(ino));
      else if (blk) out.push(`block ${blk}: filesystem metadata (no file)`);
    }
  }
  if (inodes.size) {
    const ncheck = await output('debugfs', ['-R', `ncheck ${[...inodes].slice(0, 256).join(' ')}`, device], { allowFailure: true });
    const paths = ncheck
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\t/))
      .filter((f) => f.length >= 2);
    out.push(`inodes in the differing blocks (their metadata — times, sizes, extents — or data): ${paths.length ? paths.slice(0, 12).map((f) => `${f[1]} (${f[0]})`).join(', ') : [...inodes].slice(0, 12).join(', ')}`);
  }
  return out;
}

async function diffFat(a: string, b: string, offset: number, work: string, lines: string[]): Promise<void> {
  const dirs = [join(work, 'fat-a'), join(work, 'fat-b')];
  for (const [i, img] of [a, b].entries()) {
    await mkdir(dirs[i]!, { recursive: true });
    await run('mcopy', ['-s', '-p', '-m', '-n', '-Q', '-i', `${img}@@${offset}`, '::/*', dirs[i]!], { allowFailure: true, env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  }
  const n = await diffTrees(dirs[0]!, dirs[1]!, lines, '    ');
  const boot = await Promise.all([a, b].map((f) => readBytes(f, offset, 512)));
  const id = (s: Buffer) => {
    const fat32 = s.toString('latin1', 82, 87) === 'FAT32';
    return s.subarray(fat32 ? 67 : 39, fat32 ? 71 : 43).toString('hex');
  };
  if (id(boot[0]!) !== id(boot[1]!)) lines.push(`    volume id: ${id(boot[0]!)} / ${id(boot[1]!)}`);
  if (!n) lines.push('    files: the same; the difference is in FAT metadata (directory entries\' times, allocation)');
}

async function readBytes(file: string, at: number, n: number): Promise<Buffer> {
  const { open } = await import('node:fs/promises');
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    await fh.read(buf, 0, n, at);
    return buf;
  } finally {
    await fh.close();
  }
}

// ---- trees --------------------------------------------------------------------------------------

interface Entry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  target?: string;
  nlink: number;
}

async function walk(root: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const visit = async (dir: string, rel: string) => {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(dir, name);
      const r = `${rel}/${name}`;
      const st = await lstat(p);
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'socket';
      out.set(r, { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0, mtime: Math.floor(st.mtimeMs / 1000), nlink: type === 'dir' ? 0 : st.nlink, ...(type === 'link' ? { target: await readlink(p) } : {}) });
      if (type === 'dir') await visit(p, r);
    }
  };
  await visit(root, '');
  return out;
}

async function xattrs(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!existsSync('/usr/bin/getfattr')) return out;
  const text = (await run('getfattr', ['-R', '-P', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], { allowFailure: true })).stdout;
  for (const block of text.split('\n\n')) {
    const [head, ...attrs] = block.trim().split('\n');
    if (!head?.startsWith('# file: ')) continue;
    out.set(head.slice('# file: '.length).slice(root.length) || '/', attrs.sort().join(' '));
  }
  return out;
}

/** Report differing entries of two trees; returns how many differ. */
async function diffTrees(a: string, b: string, lines: string[], indent: string): Promise<number> {
  const [wa, wb, xa, xb] = await Promise.all([walk(a), walk(b), xattrs(a), xattrs(b)]);
  const paths = [...new Set([...wa.keys(), ...wb.keys()])].sort();
  const diffs: string[] = [];
  for (const p of paths) {
    const x = wa.get(p);
    const y = wb.get(p);
    if (!x || !y) {
      diffs.push(`${p}: only in ${x ? 'A' : 'B'}`);
      continue;
    }
    const what: string[] = [];
    if (x.type !== y.type) what.push(`type ${x.type} / ${y.type}`);
    if (x.mode !== y.mode) what.push(`mode ${x.mode.toString(8)} / ${y.mode.toString(8)}`);
    if (x.uid !== y.uid || x.gid !== y.gid) what.push(`owner ${x.uid}:${x.gid} / ${y.uid}:${y.gid}`);
    if (x.target !== y.target) what.push(`link → ${x.target} / ${y.target}`);
    if (x.size !== y.size) what.push(`size ${x.size} / ${y.size}`);
    else if (x.type === 'file' && (await fileHash(join(a, p))) !== (await fileHash(join(b, p)))) what.push('content');
    if (x.mtime !== y.mtime && x.type !== 'link') what.push(`mtime ${iso(x.mtime)} / ${iso(y.mtime)}`);
    if (x.nlink !== y.nlink) what.push(`hard links ${x.nlink} / ${y.nlink}`);
    if ((xa.get(p) ?? '') !== (xb.get(p) ?? '')) what.push('xattrs');
    if (what.length) diffs.push(`${p}: ${what.join(', ')}`);
  }
  if (diffs.length) {
    lines.push(`${indent}files: ${diffs.length} differ`);
    for (const d of diffs.slice(0, MAX_ITEMS)) lines.push(`${indent}  ${d}`);
    if (diffs.length > MAX_ITEMS) lines.push(`${indent}  … and ${diffs.length - MAX_ITEMS} more`);
  }
  return diffs.length;
}

function iso(s: number): string {
  return new Date(s * 1000).toISOString().replace('.000Z', 'Z');
}

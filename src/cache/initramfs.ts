/**
 * The initramfs cache: a generated initramfs is reused when nothing it was made from changed.
 *
 * The pipeline makes the initramfs after system configuration (so it sees the final settings), and
 * making it is the slowest step left once packages come from the tree cache. Its inputs are
 * knowable: every file it contains that comes from the image (binaries, libraries, modules,
 * firmware, scripts), the generator's settings and the files its hooks read (the catalog's
 * `initramfs.inputs.config`), and which modules and firmware exist (`initramfs.inputs.listings`).
 * After generating, Kiln lists the archive's contents (cpio, possibly an early uncompressed part
 * followed by a compressed one), records a digest of each input, and stores the generator's
 * output files (every file it changed: the initramfs, its state files). A later build with the
 * same kernels, fstab shape and SOURCE_DATE_EPOCH checks the recorded inputs against its own tree
 * and, when every one is unchanged, puts the stored files in place instead of running the generator.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { run } from '../core/exec.js';
import { logToFile } from '../core/log.js';
import type { InitramfsConvention } from '../distro/catalog/index.js';
import { openForWriteInRoot, readBytesInRoot, resolveInRoot, statInRoot } from '../system/paths.js';
import { canonicalJson } from './key.js';
import { fileSha256, PayloadMismatch } from './payload.js';
import type { TreeStore } from './store.js';

export interface InputRecord {
  path: string;
  kind: 'file' | 'link' | 'dir' | 'absent' | 'other';
  /** file: content; dir: names of its entries */
  sha256?: string;
  target?: string;
  mode?: number;
}

export interface OutputFile {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  sha256: string;
}

export interface VariantMeta {
  id: string;
  generator: string;
  kernels: string[];
  created: string;
  /** The files the generator wrote (stored as files/<n>, n = index). */
  outputs: OutputFile[];
  inputs: InputRecord[];
  listings: { path: string; sha256: string }[];
}

const MAX_CANDIDATES = 4;
/** Never outputs: scratch and runtime directories. */
const SCRATCH = ['/proc', '/sys', '/dev', '/run', '/tmp', '/var/tmp'];

export class InitramfsCache {
  constructor(
    private readonly store: TreeStore,
    private readonly convention: InitramfsConvention,
    /** What else the generator's result depends on: fstab shape, SOURCE_DATE_EPOCH. */
    private readonly context: Record<string, unknown>,
  ) {}

  private prefix(kernels: readonly string[]): string {
    const identity = canonicalJson({ generator: this.convention.generator, kernels, context: this.context });
    return `i-${createHash('sha256').update(identity).digest('hex').slice(0, 16)}-`;
  }

  /** A stored variant whose every input matches this tree, or undefined. */
  async find(root: string, kernels: readonly string[]): Promise<VariantMeta | undefined> {
    if (!kernels.length) return undefined;
    const prefix = this.prefix(kernels);
    const candidates = this.store
      .initramfsIds()
      .filter((id) => id.startsWith(prefix))
      .map((id) => ({ id, at: safeMtime(join(this.store.initramfsDir(id), 'last-used')) }))
      .sort((a, b) => b.at - a.at)
      .slice(0, MAX_CANDIDATES);
    for (const c of candidates) {
      let meta: VariantMeta;
      try {
        meta = JSON.parse(readFileSync(join(this.store.initramfsDir(c.id), 'variant.json'), 'utf8')) as VariantMeta;
      } catch {
        continue;
      }
      const changed = await this.firstChange(root, kernels, meta);
      if (!changed) return meta;
      logToFile(`initramfs cache: ${c.id} does not fit: ${changed}`);
    }
    return undefined;
  }

  /**
   * Put a variant's files in place (written through the image-root helpers: a link in the image
   * never leads outside it). Throws PayloadMismatch when a stored file is damaged (and drops the variant).
   */
  async restore(root: string, meta: VariantMeta): Promise<void> {
    const dir = this.store.initramfsDir(meta.id);
    const lock = await this.store.lock(meta.id, true, true);
    try {
      const files: Buffer[] = [];
      for (const [i, o] of meta.outputs.entries()) {
        const data = await readFile(join(dir, 'files', String(i)));
        if (sha(data) !== o.sha256) {
          await rm(dir, { recursive: true, force: true });
          throw new PayloadMismatch(`initramfs ${meta.id}: ${o.path} does not match its hash (removed)`);
        }
        files.push(data);
      }
      for (const [i, o] of meta.outputs.entries()) {
        const fh = await openForWriteInRoot(root, o.path, { mode: o.mode & 0o7777, uid: o.uid, gid: o.gid });
        try {
          await fh.writeFile(files[i]!);
          await fh.utimes(new Date(o.mtimeMs), new Date(o.mtimeMs));
        } finally {
          await fh.close();
        }
      }
      touch(join(dir, 'last-used'));
    } finally {
      await lock!.release();
    }
  }

  /** Record what the generator just made (its output files) under the inputs it was made from. */
  async save(root: string, kernels: readonly string[], outputs: readonly string[], scratch: string): Promise<string | undefined> {
    const images = kernels.map((k) => `/boot/${this.convention.fileName(k)}`);
    if (!kernels.length || !images.every((p) => outputs.includes(p))) return undefined;
    const contained = new Set<string>();
    const generated = this.patterns(this.convention.inputs.generated, kernels);
    for (const image of images) {
      for (const p of await initramfsPaths(await resolveInRoot(root, image), scratch)) if (!generated.some((g) => g.test(`/${p}`))) contained.add(`/${p}`);
    }
    const { inputs, listings } = await this.describe(root, kernels, [...contained]);
    const id = this.prefix(kernels) + createHash('sha256').update(canonicalJson({ inputs, listings })).digest('hex').slice(0, 16);
    const target = this.store.initramfsDir(id);
    if (existsSync(target)) {
      touch(join(target, 'last-used'));
      return id;
    }
    const stagedDir = await this.store.initramfsStaging(id);
    const staged = stagedDir.path;
    try {
      await mkdir(join(staged, 'files'));
      const files: OutputFile[] = [];
      for (const [i, path] of outputs.entries()) {
        const st = await statInRoot(root, path);
        const data = await readBytesInRoot(root, path);
        if (!st || !data) throw new Error(`${path} vanished`);
        await writeFile(join(staged, 'files', String(i)), data, { mode: 0o600 });
        files.push({ path, mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, sha256: sha(data) });
      }
      const meta: VariantMeta = { id, generator: this.convention.generator, kernels: [...kernels], created: new Date().toISOString(), outputs: files, inputs, listings };
      await writeFile(join(staged, 'variant.json'), JSON.stringify(meta) + '\n');
      await writeFile(join(staged, 'last-used'), '');
      if (existsSync(target)) return id; // stored meanwhile by another build
      await rename(staged, target);
      return id;
    } finally {
      await stagedDir.done();
    }
  }

  /** Path patterns (`{kver}` expanded, a trailing `*` matching one name). */
  private patterns(list: readonly string[], kernels: readonly string[]): RegExp[] {
    const esc = (x: string) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    return list
      .flatMap((p) => (p.includes('{kver}') ? kernels.map((k) => p.replaceAll('{kver}', k)) : [p]))
      .map((p) => new RegExp(`^${esc(p).replace(/\*$/, '[^/]*')}$`));
  }

  /** Why `meta` does not fit this tree (the first difference), or undefined when it does. */
  private async firstChange(root: string, kernels: readonly string[], meta: VariantMeta): Promise<string | undefined> {
    const { inputs, listings } = await this.describe(root, kernels, meta.inputs.map((r) => r.path));
    const now = new Map(inputs.map((r) => [r.path, canonicalJson(r)]));
    for (const r of meta.inputs) if (now.get(r.path) !== canonicalJson(r)) return `${r.path} changed`;
    if (inputs.length !== meta.inputs.length) return 'a configuration file of the generator appeared';
    const recorded = new Map(meta.listings.map((l) => [l.path, l.sha256]));
    for (const l of listings) if (recorded.get(l.path) !== l.sha256) return `the contents of ${l.path} changed`;
    return undefined;
  }

  /**
   * Records of the configuration inputs (directories recursively, with the names they hold) and
   * of `paths` (the files an initramfs holds: directories among them are not inputs), and digests
   * of the listings.
   */
  private async describe(root: string, kernels: readonly string[], paths: readonly string[]): Promise<{ inputs: InputRecord[]; listings: { path: string; sha256: string }[] }> {
    const expand = (list: readonly string[]) => list.flatMap((p) => (p.includes('{kver}') ? kernels.map((k) => p.replaceAll('{kver}', k)) : [p]));
    const records = new Map<string, InputRecord>();
    const resolver = new RootResolver(root);
    const add = async (imagePath: string, config: boolean) => {
      if (records.has(imagePath)) return;
      const rec = await record(resolver, imagePath, config);
      if (rec.kind === 'dir' && !config) return;
      records.set(imagePath, rec);
      if (config && rec.kind === 'dir') {
        for (const name of await readdir(await resolver.resolve(imagePath))) await add(`${imagePath}/${name}`, true);
      }
    };
    for (const p of expand(this.convention.inputs.config)) await add(p, true);
    // the initramfs' files: many small ones, hashed a few at a time
    const pending = paths.filter((p) => !records.has(p));
    for (let i = 0; i < pending.length; i += 16) await Promise.all(pending.slice(i, i + 16).map((p) => add(p, false)));
    const listings: { path: string; sha256: string }[] = [];
    for (const p of expand(this.convention.inputs.listings)) listings.push({ path: p, sha256: await listingDigest(await resolver.resolve(p)) });
    return { inputs: [...records.values()].sort((a, b) => (a.path < b.path ? -1 : 1)), listings };
  }
}

/**
 * resolveInRoot with each parent directory resolved once (usrmerge: /lib → usr/lib and friends
 * are followed for a thousand paths). The last component is not followed: a link is an input as
 * a link.
 */
class RootResolver {
  private readonly dirs = new Map<string, Promise<string>>();
  constructor(private readonly root: string) {}

  async resolve(imagePath: string): Promise<string> {
    const slash = imagePath.lastIndexOf('/');
    const parent = imagePath.slice(0, slash) || '/';
    let dir = this.dirs.get(parent);
    if (!dir) {
      dir = resolveInRoot(this.root, parent);
      this.dirs.set(parent, dir);
    }
    return join(await dir, imagePath.slice(slash + 1));
  }
}

async function record(resolver: RootResolver, imagePath: string, listDirs: boolean): Promise<InputRecord> {
  const host = await resolver.resolve(imagePath);
  let st;
  try {
    st = await lstat(host);
  } catch {
    return { path: imagePath, kind: 'absent' };
  }
  if (st.isSymbolicLink()) return { path: imagePath, kind: 'link', target: await readlink(host) };
  if (st.isDirectory()) return { path: imagePath, kind: 'dir', mode: st.mode, ...(listDirs ? { sha256: sha((await readdir(host)).sort().join('\n')) } : {}) };
  if (st.isFile()) return { path: imagePath, kind: 'file', mode: st.mode, sha256: st.size < 8 * 1024 * 1024 ? sha(await readFile(host)) : await fileSha256(host) };
  return { path: imagePath, kind: 'other', mode: st.mode };
}

function sha(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Names and types below `dir` (not contents): which modules or firmware exist. */
async function listingDigest(dir: string): Promise<string> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    return sha('(absent)');
  }
  const lines = entries.map((e) => `${relative(dir, join(e.parentPath, e.name))} ${e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : 'f'}`);
  return sha(lines.sort().join('\n'));
}

function safeMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function touch(path: string): void {
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    // best effort (LRU order)
  }
}

// ---- what changed in a tree ------------------------------------------------------------------

/**
 * A point in time to compare ctimes with: a file written now (in `scratch`, on the host: every
 * filesystem's ctimes come from the same kernel clock), its ctime read back, then a pause so later
 * changes get a later ctime.
 */
export async function changeMark(scratch: string): Promise<bigint> {
  await mkdir(scratch, { recursive: true });
  const dir = await mkdtemp(join(scratch, 'kiln-mark-'));
  try {
    const f = join(dir, 'mark');
    await writeFile(f, '');
    const t = (await lstat(f, { bigint: true })).ctimeNs;
    await new Promise((r) => setTimeout(r, 20));
    return t;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Image paths of files and symbolic links changed (ctime) after `mark`, scratch directories excluded. */
export async function changedSince(root: string, mark: bigint): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, imageDir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const imagePath = `${imageDir}/${name}`;
      if (SCRATCH.includes(imagePath)) continue;
      const p = join(dir, name);
      let st;
      try {
        st = await lstat(p, { bigint: true });
      } catch {
        continue;
      }
      if (st.isDirectory()) await walk(p, imagePath);
      else if (st.ctimeNs > mark) out.push(imagePath);
    }
  };
  await walk(root, '');
  return out.sort();
}

// ---- the contents of an initramfs ---------------------------------------------------------------

const DECOMPRESSORS: [Buffer, string][] = [
  [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd -dc'],
  [Buffer.from([0x1f, 0x8b]), 'gzip -dc'],
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a]), 'xz -dc'],
  [Buffer.from([0x02, 0x21, 0x4c, 0x18]), 'lz4 -dc'],
  [Buffer.from('BZh'), 'bzip2 -dc'],
];

/**
 * Paths in an initramfs (no leading slash): uncompressed cpio archives (early microcode) followed
 * by at most one compressed part, which is decompressed into `scratch` to be read.
 */
export async function initramfsPaths(file: string, scratch: string): Promise<string[]> {
  const names: string[] = [];
  let pos = 0;
  const size = statSync(file).size;
  while (pos < size) {
    const head = await readAt(file, pos, 6);
    if (head.toString('latin1').startsWith('07070')) {
      pos = await readCpio(file, pos, names);
      pos = await skipZeros(file, pos, size);
      continue;
    }
    const tool = DECOMPRESSORS.find(([magic]) => head.subarray(0, magic.length).equals(magic))?.[1];
    if (!tool) break;
    await mkdir(scratch, { recursive: true });
    const out = await mkdtemp(join(scratch, 'initramfs-'));
    try {
      const cpio = join(out, 'main.cpio');
      await run('sh', ['-c', `tail -c +$(($1 + 1)) "$2" | ${tool} > "$3"`, 'sh', String(pos), file, cpio]);
      const n = statSync(cpio).size;
      let p = 0;
      while (p < n) {
        if (!(await readAt(cpio, p, 6)).toString('latin1').startsWith('07070')) break;
        p = await readCpio(cpio, p, names);
        p = await skipZeros(cpio, p, n);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    break;
  }
  return names.filter((n) => n && n !== '.').map((n) => n.replace(/^\.?\/+/, ''));
}

async function readAt(file: string, pos: number, n: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, pos);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

const pad4 = (n: number) => (n + 3) & ~3;

/** Read one newc archive starting at `pos`; returns the offset after its trailer. */
async function readCpio(file: string, pos: number, names: string[]): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const header = Buffer.alloc(110);
    for (;;) {
      const { bytesRead } = await fh.read(header, 0, 110, pos);
      if (bytesRead < 110) return pos + bytesRead;
      const field = (i: number) => parseInt(header.toString('latin1', 6 + i * 8, 14 + i * 8), 16);
      const fileSize = field(6);
      const nameSize = field(11);
      const nameBuf = Buffer.alloc(nameSize);
      await fh.read(nameBuf, 0, nameSize, pos + 110);
      const name = nameBuf.toString('utf8', 0, Math.max(0, nameSize - 1));
      pos = pad4(pos + 110 + nameSize);
      pos = pad4(pos + fileSize);
      if (name === 'TRAILER!!!') return pos;
      names.push(name);
    }
  } finally {
    await fh.close();
  }
}

async function skipZeros(file: string, pos: number, size: number): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(65536);
    while (pos < size) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (!bytesRead) return size;
      const i = buf.subarray(0, bytesRead).findIndex((b) => b !== 0);
      if (i >= 0) return pos + i;
      pos += bytesRead;
    }
    return pos;
  } finally {
    await fh.close();
  }
}

/**
 * Paths inside the image, resolved as the image would resolve them and never outside its root.
 *
 * An image is untrusted: its packages and the config's scripts can plant symbolic links anywhere
 * (`/var/run -> /run`, `/etc/default/grub -> /etc/shadow`, `/tmp -> /`), device nodes and FIFOs.
 * Every read and write Kiln does in an image root goes through this module:
 *
 * - Paths are walked one component at a time from an open directory descriptor of the root.
 *   Each step opens the next directory with O_NOFOLLOW|O_DIRECTORY relative to the previous one
 *   (`/proc/self/fd/<fd>/<name>`, which the kernel resolves from that descriptor like openat(2);
 *   Node has no openat, and openat2's RESOLVE_IN_ROOT is not reachable from it).
 * - A symbolic link met on the way is read and followed *inside the root*: an absolute target
 *   restarts from the root descriptor, a relative one from the directory holding the link, and
 *   ".." never climbs above the root. At most 40 links per path, as the kernel.
 * - The final component is opened with O_NOFOLLOW (and O_NONBLOCK), then fstat'ed: only regular
 *   files are read or written (a device node or FIFO in the image is refused, not opened for I/O).
 *
 * Because every step opens a directory the previous step already holds, swapping a component for
 * a link between checks (a process left running by a script) cannot redirect the walk: the swap
 * makes the open fail (ELOOP/ENOTDIR) instead of following it out of the image.
 */
import { constants as C, existsSync, type Dirent, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rmdir, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { KilnError } from '../core/errors.js';

const MAX_LINKS = 40;
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const COPY_CHUNK = 1 << 20;

/** `name` (one component, no "/") inside the directory open as `dir`: resolved by the kernel from that descriptor. */
function at(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

function components(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

let procChecked = false;
function needProc(): void {
  if (procChecked) return;
  if (!existsSync('/proc/self/fd')) throw new KilnError('writing into an image needs /proc mounted on the build host (/proc/self/fd is missing)');
  procChecked = true;
}

/** What a walk ends on: a directory it holds open (the root, or after ".."), or a name in an open directory. */
type Target =
  | { kind: 'dir'; dir: FileHandle; names: string[] }
  | { kind: 'entry'; parent: FileHandle; name: string; st: Stats | undefined; names: string[] };

interface WalkOptions {
  /** Create missing directories on the way with this mode. */
  create?: number;
  /** Follow a symbolic link in the final component (inside the root). Default true. */
  followLast?: boolean;
  /** Missing intermediate directory (no `create`): throw ENOENT (default) or call `missing`. */
  missing?: (names: string[], rest: string[]) => unknown;
}

class NotFound extends Error {
  readonly code = 'ENOENT';
}

/**
 * Walk `imagePath` inside `root` and call `fn` on where it ends; every descriptor opened on the way
 * is closed afterwards. `names` are the host-side components below the root (for messages).
 */
async function walk<T>(root: string, imagePath: string, opts: WalkOptions, fn: (t: Target) => Promise<T>): Promise<T> {
  needProc();
  const rootFh = await open(root, C.O_RDONLY | C.O_DIRECTORY);
  const dirs: FileHandle[] = [rootFh];
  const names: string[] = [];
  const pending = components(imagePath).reverse(); // a stack: next component last
  let links = 0;
  const followLast = opts.followLast ?? true;
  const pushLink = async (p: string) => {
    if (++links > MAX_LINKS) throw new KilnError(`too many symbolic links resolving ${imagePath} in the image`);
    const target = await readlink(p);
    if (target.startsWith('/')) {
      while (dirs.length > 1) await dirs.pop()!.close();
      names.length = 0;
    }
    pending.push(...components(target).reverse());
  };
  try {
    for (;;) {
      const part = pending.pop();
      if (part === undefined) return await fn({ kind: 'dir', dir: dirs[dirs.length - 1]!, names: [...names] });
      if (part === '..') {
        if (dirs.length > 1) {
          await dirs.pop()!.close();
          names.pop();
        }
        continue;
      }
      const dir = dirs[dirs.length - 1]!;
      const p = at(dir, part);
      if (pending.length === 0) {
        // the final component: look, follow a link inside the root, else hand it over
        let st: Stats | undefined;
        try {
          st = await lstat(p);
        } catch (e) {
          if (code(e) !== 'ENOENT') throw e;
        }
        if (st?.isSymbolicLink() && followLast) {
          await pushLink(p);
          continue;
        }
        return await fn({ kind: 'entry', parent: dir, name: part, st, names: [...names, part] });
      }
      // an intermediate component: must be a directory (or a link, followed inside the root)
      try {
        dirs.push(await open(p, DIR_FLAGS));
        names.push(part);
        continue;
      } catch (e) {
        const c = code(e);
        if (c === 'ENOENT') {
          if (opts.create !== undefined) {
            await mkdir(p, opts.create).catch((m: unknown) => {
              if (code(m) !== 'EEXIST') throw m;
            });
            pending.push(part); // open it on the next turn (or follow what raced in)
            continue;
          }
          if (opts.missing) return opts.missing([...names, part], pending.reverse()) as T;
          throw new NotFound(`${imagePath}: /${[...names, part].join('/')} does not exist in the image`);
        }
        if (c !== 'ENOTDIR' && c !== 'ELOOP') throw e;
      }
      const st = await lstat(p);
      if (!st.isSymbolicLink()) throw new KilnError(`${imagePath}: /${[...names, part].join('/')} in the image is not a directory`);
      await pushLink(p);
    }
  } finally {
    for (const d of dirs.reverse()) await d.close().catch(() => undefined);
  }
}

/**
 * The host path `imagePath` resolves to inside `root` (links followed inside the root). Only for
 * messages and for handing a path to a program: Kiln itself reads and writes through the
 * functions below, which do not re-resolve a path string.
 */
export async function resolveInRoot(root: string, imagePath: string): Promise<string> {
  return await walk(root, imagePath, {
    missing: (names, rest) => {
      // the rest does not exist yet: nothing more to follow, ".." taken lexically (never above the root)
      const out = [...names];
      for (const r of rest) {
        if (r === '..') out.pop();
        else out.push(r);
      }
      return join(root, ...out);
    },
  }, async (t) => join(root, ...t.names));
}

export interface WriteOptions {
  /** Mode of the file (applied even when it existed); new files get 0644 otherwise. */
  mode?: number;
  uid?: number;
  gid?: number;
}

/** Refuse anything but a regular file (or nothing) as a final component. */
function regularOrAbsent(imagePath: string, t: Target): asserts t is Extract<Target, { kind: 'entry' }> {
  if (t.kind === 'dir' || t.st?.isDirectory()) throw new KilnError(`${imagePath} is a directory in the image; expected a file`);
  if (t.st && !t.st.isFile()) throw new KilnError(`${imagePath} in the image is not a regular file (a device, FIFO or socket); refusing to open it`);
}

async function openRegular(p: string, flags: number, mode: number, imagePath: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(p, flags | C.O_NOFOLLOW | C.O_NONBLOCK, mode);
  } catch (e) {
    if (code(e) === 'ELOOP') throw new KilnError(`${imagePath} became a symbolic link while Kiln was opening it in the image; refusing to follow it`);
    throw e;
  }
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw new KilnError(`${imagePath} in the image is not a regular file; refusing to use it`);
  }
  return fh;
}

/** Open (create, truncate) a file for writing at an image path; parents are created 0755. The caller closes it. */
export async function openForWriteInRoot(root: string, imagePath: string, opts: WriteOptions = {}): Promise<FileHandle> {
  return await walk(root, imagePath, { create: 0o755 }, async (t) => {
    regularOrAbsent(imagePath, t);
    const fh = await openRegular(at(t.parent, t.name), C.O_WRONLY | C.O_CREAT, opts.mode ?? 0o644, imagePath);
    try {
      await fh.truncate(0);
      if (opts.mode !== undefined) await fh.chmod(opts.mode); // the umask narrowed open's mode
      if (opts.uid !== undefined && opts.gid !== undefined) await fh.chown(opts.uid, opts.gid);
      return fh;
    } catch (e) {
      await fh.close();
      throw e;
    }
  });
}

/** Write a file at an image path (parents created 0755), with mode and owner when given. */
export async function writeInRoot(root: string, imagePath: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  const fh = await openForWriteInRoot(root, imagePath, opts);
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}

/** A file's bytes at an image path; undefined when it (or a directory above it) does not exist. */
export async function readBytesInRoot(root: string, imagePath: string): Promise<Buffer | undefined> {
  try {
    return await walk(root, imagePath, {}, async (t) => {
      regularOrAbsent(imagePath, t);
      if (!t.st) return undefined;
      const fh = await openRegular(at(t.parent, t.name), C.O_RDONLY, 0, imagePath);
      try {
        return await fh.readFile();
      } finally {
        await fh.close();
      }
    });
  } catch (e) {
    if (e instanceof NotFound) return undefined;
    throw e;
  }
}

export async function readInRoot(root: string, imagePath: string): Promise<string | undefined> {
  return (await readBytesInRoot(root, imagePath))?.toString('utf8');
}

/** Whether something exists at the image path (a link is followed inside the root; a dangling one does not exist). */
export async function existsInRoot(root: string, imagePath: string): Promise<boolean> {
  try {
    return await walk(root, imagePath, {}, async (t) => t.kind === 'dir' || t.st !== undefined);
  } catch (e) {
    if (e instanceof NotFound || e instanceof KilnError) return false;
    throw e;
  }
}

/** lstat of what an image path resolves to (links followed inside the root); undefined when absent. */
export async function statInRoot(root: string, imagePath: string): Promise<Stats | undefined> {
  try {
    return await walk(root, imagePath, {}, async (t) => (t.kind === 'dir' ? await t.dir.stat() : t.st));
  } catch (e) {
    if (e instanceof NotFound) return undefined;
    throw e;
  }
}

export interface DirOptions extends WriteOptions {
  /** Create it (and its parents, 0755) when missing. Default true. */
  create?: boolean;
  /** Mode for the directory when it is created (default: `mode`, else 0755); unlike `mode`, an existing directory keeps its own. */
  createMode?: number;
}

/** Open a directory `name` of `parent` without following a link there; created with `mode` when missing. */
async function openDirAt(parent: FileHandle, name: string, create: number | undefined, what: string): Promise<FileHandle> {
  try {
    return await open(at(parent, name), DIR_FLAGS);
  } catch (e) {
    if (code(e) === 'ENOENT' && create !== undefined) {
      await mkdir(at(parent, name), create).catch((m: unknown) => {
        if (code(m) !== 'EEXIST') throw m;
      });
      return await open(at(parent, name), DIR_FLAGS);
    }
    if (code(e) === 'ENOTDIR' || code(e) === 'ELOOP') throw new KilnError(`${what} in the image is not a directory (or became a link); refusing to use it`);
    throw e;
  }
}

/**
 * Run `fn` with a directory of the image open (created with its parents when missing). The handle
 * is what `listDir`, `writeFileAt`, `removeAt` ... work on: names below it are never re-resolved
 * from a path string. Mode and owner, when given, are applied to the directory.
 */
export async function withDirInRoot<T>(root: string, imagePath: string, opts: DirOptions, fn: (dir: FileHandle) => Promise<T>): Promise<T> {
  const create = opts.create ?? true;
  return await walk(root, imagePath, create ? { create: 0o755 } : {}, async (t) => {
    let dir: FileHandle;
    let own = false;
    if (t.kind === 'dir') dir = t.dir;
    else {
      if (t.st && !t.st.isDirectory()) throw new KilnError(`${imagePath} in the image is not a directory`);
      if (!t.st && !create) throw new NotFound(`${imagePath} does not exist in the image`);
      dir = await openDirAt(t.parent, t.name, opts.createMode ?? opts.mode ?? 0o755, imagePath);
      own = true;
    }
    try {
      if (opts.mode !== undefined) await dir.chmod(opts.mode);
      if (opts.uid !== undefined && opts.gid !== undefined) await dir.chown(opts.uid, opts.gid);
      return await fn(dir);
    } finally {
      if (own) await dir.close();
    }
  });
}

/** mkdir -p inside the image; mode and owner (when given) applied to the last directory. */
export async function mkdirInRoot(root: string, imagePath: string, opts: WriteOptions = {}): Promise<void> {
  await withDirInRoot(root, imagePath, opts, async () => undefined);
}

/** Entries of an image directory; [] when it does not exist. */
export async function listInRoot(root: string, imagePath: string): Promise<Dirent[]> {
  try {
    return await withDirInRoot(root, imagePath, { create: false }, listDir);
  } catch (e) {
    if (e instanceof NotFound) return [];
    throw e;
  }
}

/** Entries of an open directory (names only are meaningful: use them with the *At functions). */
export async function listDir(dir: FileHandle): Promise<Dirent[]> {
  return await readdir(`/proc/self/fd/${dir.fd}`, { withFileTypes: true });
}

/** lstat of `name` in an open directory (undefined when absent). */
export async function lstatAt(dir: FileHandle, name: string): Promise<Stats | undefined> {
  try {
    return await lstat(at(dir, name));
  } catch (e) {
    if (code(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** Open the subdirectory `name` of an open directory (never through a link); create it when `create` is a mode. */
export async function openDirAtName(dir: FileHandle, name: string, create?: number): Promise<FileHandle> {
  return await openDirAt(dir, name, create, name);
}

/** Create (truncate) the regular file `name` in an open directory, never through a link. The caller closes it. */
export async function createFileAt(dir: FileHandle, name: string, mode = 0o644): Promise<FileHandle> {
  const st = await lstatAt(dir, name);
  if (st && !st.isFile()) throw new KilnError(`${name} exists in the image and is not a regular file`);
  const fh = await openRegular(at(dir, name), C.O_WRONLY | C.O_CREAT, mode, name);
  await fh.truncate(0);
  return fh;
}

/** Open the regular file `name` of an open directory for reading, never through a link. The caller closes it. */
export async function openFileAt(dir: FileHandle, name: string): Promise<FileHandle> {
  return await openRegular(at(dir, name), C.O_RDONLY, 0, name);
}

/** Make a symbolic link `name` → `target` (verbatim) in an open directory. */
export async function symlinkAt(dir: FileHandle, name: string, target: string): Promise<void> {
  await symlink(target, at(dir, name));
}

/** Remove `name` from an open directory without following it: a link is removed, not its target; directories with `recursive`. */
export async function removeAt(dir: FileHandle, name: string, opts: { recursive?: boolean } = {}): Promise<void> {
  const st = await lstatAt(dir, name);
  if (!st) return;
  if (!st.isDirectory()) {
    await unlink(at(dir, name)).catch((e: unknown) => {
      if (code(e) !== 'ENOENT') throw e;
    });
    return;
  }
  if (!opts.recursive) throw new KilnError(`${name} is a directory`);
  const sub = await openDirAt(dir, name, undefined, name);
  try {
    for (const e of await listDir(sub)) await removeAt(sub, e.name, opts);
  } finally {
    await sub.close();
  }
  await rmdir(at(dir, name));
}

/** Remove an image path without following a link in its last component (links above it are followed inside the root). */
export async function removeInRoot(root: string, imagePath: string, opts: { recursive?: boolean } = {}): Promise<void> {
  try {
    await walk(root, imagePath, { followLast: false }, async (t) => {
      if (t.kind === 'dir') throw new KilnError(`refusing to remove ${imagePath}: it resolves to a directory above it or the image root`);
      await removeAt(t.parent, t.name, opts);
    });
  } catch (e) {
    if (e instanceof NotFound) return;
    throw e;
  }
}

/** A fresh directory `<prefix>XXXXXX` in an open directory (mode 0700); returns its name and handle. */
export async function mkdtempAt(dir: FileHandle, prefix: string): Promise<{ name: string; dir: FileHandle }> {
  for (let i = 0; i < 100; i++) {
    const name = `${prefix}${randomBytes(6).toString('base64url').slice(0, 6)}`;
    try {
      await mkdir(at(dir, name), 0o700);
    } catch (e) {
      if (code(e) === 'EEXIST') continue;
      throw e;
    }
    return { name, dir: await openDirAt(dir, name, undefined, name) };
  }
  throw new KilnError(`could not create a temporary directory ${prefix}XXXXXX in the image`);
}

/** Copy all bytes of `from` to `to` (both open), then keep `from`'s timestamps when asked. */
export async function copyBytes(from: FileHandle, to: FileHandle, times?: Stats): Promise<void> {
  const buf = Buffer.allocUnsafe(COPY_CHUNK);
  let pos = 0;
  for (;;) {
    const { bytesRead } = await from.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    let off = 0;
    while (off < bytesRead) off += (await to.write(buf, off, bytesRead - off)).bytesWritten;
    pos += bytesRead;
  }
  if (times) await to.utimes(times.atime, times.mtime);
}

/** Copy a host file (Kiln's own, or one the config may refer to) to an image path; parents created 0755. */
export async function copyIntoRoot(hostFile: string, root: string, imagePath: string, opts: WriteOptions = {}): Promise<void> {
  const from = await open(hostFile, 'r');
  try {
    const to = await openForWriteInRoot(root, imagePath, opts);
    try {
      await copyBytes(from, to);
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}

/**
 * Copy a tree of the image into another place of the same image (e.g. grub's modules into /boot):
 * regular files by content, links verbatim (never dereferenced), directories recursively; devices,
 * FIFOs and sockets are skipped.
 */
export async function copyWithinRoot(root: string, fromImage: string, toImage: string): Promise<number> {
  let copied = 0;
  const copyDir = async (src: FileHandle, dst: FileHandle): Promise<void> => {
    for (const e of await listDir(src)) {
      const st = await lstatAt(src, e.name);
      if (!st) continue;
      if (st.isDirectory()) {
        const s = await openDirAt(src, e.name, undefined, e.name);
        try {
          const d = await openDirAt(dst, e.name, st.mode & 0o7777, e.name);
          try {
            await copyDir(s, d);
          } finally {
            await d.close();
          }
        } finally {
          await s.close();
        }
      } else if (st.isSymbolicLink()) {
        await removeAt(dst, e.name);
        await symlinkAt(dst, e.name, await readlink(at(src, e.name)));
      } else if (st.isFile()) {
        const s = await openFileAt(src, e.name);
        try {
          const d = await createFileAt(dst, e.name, st.mode & 0o7777);
          try {
            await copyBytes(s, d, st);
            await d.chmod(st.mode & 0o7777);
          } finally {
            await d.close();
          }
        } finally {
          await s.close();
        }
        copied++;
      }
    }
  };
  await withDirInRoot(root, fromImage, { create: false }, (src) => withDirInRoot(root, toImage, {}, (dst) => copyDir(src, dst)));
  return copied;
}

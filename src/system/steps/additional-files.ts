import { lstat, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { KilnError } from '../../core/errors.js';
import { additionalFiles } from '../../config/index.js';
import { confinedSource } from '../../config/containment.js';
import { copyBytes, existsInRoot, mkdirInRoot, openForWriteInRoot, withDirInRoot } from '../paths.js';
import { configPath } from '../where.js';
import type { AdditionalFile } from '../../config/model.js';
import type { SystemContext, SystemStep } from '../types.js';

/**
 * AdditionalFiles: each source (file or directory) copied to each destination in the image, owned by
 * root; Permissions (octal) applied when given, else the source's mode is kept.
 *
 * Sources come from the build host and must lie under the config's directory (checked again here,
 * on real paths). Links inside a source directory are followed when they lead to a place inside the
 * config's directory and refused otherwise (unless --allow-outside-config-dir): the copy holds the
 * files they point to, never a link. Destinations are resolved inside the image root, links of the
 * image included (`/var/run/x` with `/var/run -> /run` lands in the image's /run), and every file
 * is created without following a link (src/system/paths.ts).
 */
export const additionalFilesStep: SystemStep = {
  name: 'additional-files',
  applies: (ctx) => Object.keys(ctx.sc.AdditionalFiles ?? {}).length > 0,
  run: (ctx) => copyAdditionalFiles(ctx, additionalFiles(ctx.sc)),
};

export async function copyAdditionalFiles(ctx: SystemContext, files: readonly AdditionalFile[]): Promise<void> {
  for (const f of files) {
    const where = `${configPath(ctx)}.AdditionalFiles["${f.source}"]`;
    const real = confinedSource(ctx.loaded, f.source, where);
    let src: Stats;
    try {
      src = await stat(real);
    } catch {
      throw new KilnError(`${configPath(ctx)}.AdditionalFiles: source '${f.source}' does not exist (paths are relative to the config file)`);
    }
    if (!f.destination.startsWith('/')) {
      throw new KilnError(`${where}: destination '${f.destination}' must be an absolute path`);
    }
    if (src.isDirectory()) {
      await mkdirInRoot(ctx.root, f.destination);
      await copyDirInto(ctx, where, real, f.destination, new Set([`${src.dev}:${src.ino}`]));
      await withDirInRoot(ctx.root, f.destination, { mode: f.permissions ?? src.mode & 0o7777 }, (d) => d.utimes(src.atime, src.mtime));
    } else if (src.isFile()) {
      await copyFileTo(real, src, await openForWriteInRoot(ctx.root, f.destination, { mode: f.permissions ?? src.mode & 0o7777 }));
    } else {
      throw new KilnError(`${where}: '${f.source}' is neither a file nor a directory`);
    }
  }
}

/** Copy an open host file into `to` (closed afterwards), keeping its timestamps. */
async function copyFileTo(source: string, st: Stats, to: FileHandle): Promise<void> {
  try {
    const from = await open(source, 'r');
    try {
      await copyBytes(from, to, st);
    } finally {
      await from.close();
    }
  } finally {
    await to.close();
  }
}

/**
 * A source directory's contents into the image directory `dest` (each entry resolved inside the
 * root as the image would, like the destination itself); `seen` stops link loops.
 */
async function copyDirInto(ctx: SystemContext, where: string, source: string, dest: string, seen: Set<string>): Promise<void> {
  for (const name of await readdir(source)) {
    let path = join(source, name);
    let st = await lstat(path);
    if (st.isSymbolicLink()) {
      // a link is copied as what it points to, and only when that lies inside the config's directory
      path = confinedSource(ctx.loaded, path, where);
      st = await stat(path);
    }
    const to = posix.join(dest, name);
    if (st.isDirectory()) {
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) throw new KilnError(`${where}: '${join(source, name)}' loops back to a directory being copied`);
      // a directory the image already has (e.g. /var/run) keeps its mode and times, as with cp
      const created = !(await existsInRoot(ctx.root, to));
      if (created) await mkdirInRoot(ctx.root, to, { mode: st.mode & 0o7777 });
      await copyDirInto(ctx, where, path, to, new Set([...seen, key]));
      const dirSt = st;
      if (created) await withDirInRoot(ctx.root, to, {}, (d) => d.utimes(dirSt.atime, dirSt.mtime));
    } else if (st.isFile()) {
      await copyFileTo(path, st, await openForWriteInRoot(ctx.root, to, { mode: st.mode & 0o7777 }));
    } else {
      throw new KilnError(`${where}: '${join(source, name)}' is neither a file nor a directory`);
    }
  }
}

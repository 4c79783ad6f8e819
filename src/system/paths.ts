import { lstat, mkdir, readFile, readlink, writeFile, chmod, chown } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KilnError } from '../core/errors.js';

/**
 * Paths inside the image, resolved as the image would resolve them: a symbolic link in the image
 * (absolute or relative) is followed relative to the image root, never to the build host's files.
 * (e.g. /etc/resolv.conf → /run/systemd/resolve/stub-resolv.conf must not write the host's /run.)
 */
export async function resolveInRoot(root: string, imagePath: string): Promise<string> {
  const pending = imagePath.split('/').filter(Boolean).reverse(); // a stack: next component last
  const done: string[] = [];
  let hops = 0;
  let missing = false;
  while (pending.length) {
    const part = pending.pop()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    if (!missing) {
      const host = join(root, ...done, part);
      let link: string | undefined;
      try {
        const st = await lstat(host);
        if (st.isSymbolicLink()) link = await readlink(host);
      } catch {
        missing = true; // the rest does not exist yet: nothing more to follow
      }
      if (link !== undefined) {
        if (++hops > 40) throw new KilnError(`too many symbolic links resolving ${imagePath} in the image`);
        if (link.startsWith('/')) done.length = 0;
        pending.push(...link.split('/').filter(Boolean).reverse());
        continue;
      }
    }
    done.push(part);
  }
  return join(root, ...done);
}

export interface WriteOptions {
  mode?: number;
  uid?: number;
  gid?: number;
}

/** Write a file at an image path (parents created 0755), with mode and owner when given. */
export async function writeInRoot(root: string, imagePath: string, text: string, opts: WriteOptions = {}): Promise<string> {
  const host = await resolveInRoot(root, imagePath);
  await mkdir(dirname(host), { recursive: true, mode: 0o755 });
  await writeFile(host, text, opts.mode !== undefined ? { mode: opts.mode } : {});
  if (opts.mode !== undefined) await chmod(host, opts.mode); // the umask narrowed writeFile's mode
  if (opts.uid !== undefined && opts.gid !== undefined) await chown(host, opts.uid, opts.gid);
  return host;
}

export async function readInRoot(root: string, imagePath: string): Promise<string | undefined> {
  try {
    return await readFile(await resolveInRoot(root, imagePath), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function existsInRoot(root: string, imagePath: string): Promise<boolean> {
  try {
    await lstat(await resolveInRoot(root, imagePath));
    return true;
  } catch {
    return false;
  }
}

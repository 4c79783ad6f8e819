import { chmod, cp, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KilnError } from '../../core/errors.js';
import { additionalFiles } from '../../config/index.js';
import { resolveInRoot } from '../paths.js';
import { configPath } from '../where.js';
import type { AdditionalFile } from '../../config/model.js';
import type { SystemContext, SystemStep } from '../types.js';

/**
 * AdditionalFiles: each source (file or directory) copied to each destination in the image, owned by
 * root; Permissions (octal) applied when given, else the source's mode is kept.
 */
export const additionalFilesStep: SystemStep = {
  name: 'additional-files',
  applies: (ctx) => Object.keys(ctx.sc.AdditionalFiles ?? {}).length > 0,
  run: (ctx) => copyAdditionalFiles(ctx, additionalFiles(ctx.sc)),
};

export async function copyAdditionalFiles(ctx: SystemContext, files: readonly AdditionalFile[]): Promise<void> {
  for (const f of files) {
    let src;
    try {
      src = await stat(f.source);
    } catch {
      throw new KilnError(`${configPath(ctx)}.AdditionalFiles: source '${f.source}' does not exist (paths are relative to the config file)`);
    }
    if (!f.destination.startsWith('/')) {
      throw new KilnError(`${configPath(ctx)}.AdditionalFiles["${f.source}"]: destination '${f.destination}' must be an absolute path`);
    }
    const dest = await resolveInRoot(ctx.root, f.destination);
    await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
    await cp(f.source, dest, { recursive: src.isDirectory(), force: true, preserveTimestamps: true, dereference: true });
    await chmod(dest, f.permissions ?? src.mode & 0o7777);
  }
}

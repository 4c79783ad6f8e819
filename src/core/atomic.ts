import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Scope } from './scope.js';

/**
 * Artifacts appear under their final name only when complete: write to a hidden temporary sibling,
 * then rename. The temporary path is registered with the scope so a failure (or Ctrl-C) deletes it.
 */
export function partialPath(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.partial-${process.pid}`);
}

export async function writeAtomically<T>(
  scope: Scope,
  finalPath: string,
  write: (tempPath: string) => Promise<T>,
): Promise<T> {
  const temp = partialPath(finalPath);
  const release = scope.add(`temporary ${temp}`, () => rm(temp, { force: true, recursive: true }), {
    kind: 'path',
    path: temp,
  });
  const result = await write(temp);
  await rename(temp, finalPath);
  await release(); // nothing left to delete: rm of a missing path is a no-op
  return result;
}

import { run } from '../core/exec.js';

/**
 * `Package=Version` of installed host packages (dpkg hosts; an empty list elsewhere): the versions
 * of the tools whose behaviour decides an install or a filesystem, for cache keys.
 */
export async function hostPackageVersions(names: readonly string[]): Promise<string[]> {
  const r = await run('dpkg-query', ['-W', '-f', '${Package}=${Version}\n', ...names], { allowFailure: true });
  return r.stdout.split('\n').filter(Boolean).sort();
}

/**
 * A forced check of an unmounted ext filesystem (e2fsck -f), as resize2fs, tune2fs -U and a
 * stored copy need. Exit 0 (clean) and 1 (errors corrected) are success; anything higher means
 * the filesystem is still inconsistent.
 */
import { run } from '../core/exec.js';

export async function fsckExt(device: string, opts: { repair?: 'yes' | 'preen'; env?: NodeJS.ProcessEnv; what?: string } = {}): Promise<void> {
  const fsck = await run('e2fsck', ['-f', opts.repair === 'preen' ? '-p' : '-y', device], { allowFailure: true, ...(opts.env ? { env: opts.env } : {}) });
  if (fsck.code > 1) throw new Error(`e2fsck found errors it could not correct on ${opts.what ?? device} (exit ${fsck.code})`);
}

import { stat } from 'node:fs/promises';
import { logToFile } from '../../core/log.js';
import { existsInRoot, listDir, removeAt, withDirInRoot, writeInRoot } from '../../system/paths.js';
import type { PackageStateRequest } from '../backend.js';

/**
 * PreserveTdnfCache / RemoveRpmDb, the Debian way (see docs/system.md):
 * - unless PreserveTdnfCache: what `tdnf clean all` drops — downloaded .debs, apt's binary caches and
 *   the repository metadata (/var/lib/apt/lists); `apt-get update` brings the metadata back.
 * - RemoveRpmDb: the package database proper (/var/lib/dpkg/status, info/) is KEPT — without it dpkg
 *   believes nothing is installed and the next upgrade overwrites the system. Removed instead is
 *   what only records or serves changing the package set: dpkg's "available" database, its *-old
 *   backups and the package logs. PreserveTdnfCache still keeps the caches (the build pipeline may
 *   fill /var/cache/apt/archives afterwards for it).
 */
export async function finishDebianPackageState(ctx: PackageStateRequest): Promise<void> {
    if (ctx.sc.PreserveTdnfCache !== true) {
      await clean(ctx, '/var/cache/apt/archives', (n) => n.endsWith('.deb'));
      await clean(ctx, '/var/cache/apt/archives/partial', () => true);
      await clean(ctx, '/var/cache/apt', (n) => n.endsWith('.bin'));
      await clean(ctx, '/var/lib/apt/lists', (n) => n !== 'lock' && n !== 'partial');
      await clean(ctx, '/var/lib/apt/lists/partial', () => true);
    }
    if (ctx.sc.RemoveRpmDb !== true) return;
    await clean(ctx, '/var/lib/dpkg', (n) => n.endsWith('-old'));
    await clean(ctx, '/var/cache/debconf', (n) => n.endsWith('-old'));
    await clean(ctx, '/var/log/apt', () => true);
    await clean(ctx, '/var/log', (n) => n === 'dpkg.log' || n === 'alternatives.log');
    await writeInRoot(ctx.root, '/var/lib/dpkg/available', ''); // what `dpkg --clear-avail` leaves
}

/** Delete the matching entries of one image directory; never inside a mount (e.g. a bound host package cache). */
async function clean(ctx: Pick<PackageStateRequest, 'root'>, imageDir: string, match: (name: string) => boolean): Promise<void> {
  if (!(await existsInRoot(ctx.root, imageDir))) return;
  await withDirInRoot(ctx.root, imageDir, { create: false }, async (dir) => {
    const [self, parent] = await Promise.all([dir.stat(), stat(`/proc/self/fd/${dir.fd}/..`)]);
    if (self.dev !== parent.dev) {
      logToFile(`package-cache: ${imageDir} is a mount point; left alone`);
      return;
    }
    for (const e of await listDir(dir)) {
      if (!match(e.name) || e.isDirectory()) continue;
      await removeAt(dir, e.name); // a link is removed, never what it points to
    }
  });
}

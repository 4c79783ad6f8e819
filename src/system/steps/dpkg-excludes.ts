import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { info } from '../../core/log.js';
import { DPKG_EXCLUDES_FILE, dpkgExcludes, excludedBy, removesDocs } from '../render/dpkg-excludes.js';
import { resolveInRoot, writeInRoot } from '../paths.js';
import { located } from '../where.js';
import type { SystemStep } from '../types.js';

/** Only these trees are ever filtered: pruning never walks the whole image. */
const FILTERED_TREES = ['/usr/share/doc', '/usr/share/man', '/usr/share/info', '/usr/share/groff', '/usr/share/lintian', '/usr/share/linda', '/usr/share/locale'];

/**
 * DisableRpmDocs / OverrideRpmLocales: the dpkg filter stays in the image (packages installed later
 * honour it too, as upstream keeps its rpm macros file), and files unpacked before the filter was in
 * place (mmdebstrap's essential packages) are pruned by the same rules.
 */
export const dpkgExcludesStep: SystemStep = {
  name: 'dpkg-excludes',
  applies: (ctx) => ctx.distro.docFilter === 'dpkg-path-excludes' && (removesDocs(ctx.sc) || ctx.sc.OverrideRpmLocales !== undefined),
  async run(ctx) {
    const fragment = located(ctx, () => dpkgExcludes(ctx.sc));
    if (!fragment) return; // e.g. OverrideRpmLocales "all"
    await writeInRoot(ctx.root, DPKG_EXCLUDES_FILE, fragment, { mode: 0o644 });
    const excluded = excludedBy(fragment);
    let removed = 0;
    for (const tree of FILTERED_TREES) {
      const host = await resolveInRoot(ctx.root, tree);
      let entries;
      try {
        entries = await readdir(host, { recursive: true, withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (e.isDirectory()) continue;
        const hostPath = join(e.parentPath, e.name);
        const imagePath = tree + hostPath.slice(host.length);
        if (excluded(imagePath)) {
          await rm(hostPath, { force: true });
          removed++;
        }
      }
    }
    info(`dpkg path filters: removed ${removed} already-installed documentation/locale files`);
  },
};

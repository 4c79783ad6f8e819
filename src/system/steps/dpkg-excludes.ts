import type { FileHandle } from 'node:fs/promises';
import { info } from '../../core/log.js';
import { DPKG_EXCLUDES_FILE, dpkgExcludes, excludedBy, removesDocs } from '../render/dpkg-excludes.js';
import { existsInRoot, listDir, openDirAtName, removeAt, withDirInRoot, writeInRoot } from '../paths.js';
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
    // walked through open directory handles: nothing below a filtered tree is reached through a link
    const prune = async (dir: FileHandle, imageDir: string): Promise<void> => {
      for (const e of await listDir(dir)) {
        const imagePath = `${imageDir}/${e.name}`;
        if (e.isDirectory()) {
          const sub = await openDirAtName(dir, e.name);
          try {
            await prune(sub, imagePath);
          } finally {
            await sub.close();
          }
        } else if (excluded(imagePath)) {
          await removeAt(dir, e.name);
          removed++;
        }
      }
    };
    for (const tree of FILTERED_TREES) {
      if (!(await existsInRoot(ctx.root, tree))) continue;
      await withDirInRoot(ctx.root, tree, { create: false }, (dir) => prune(dir, tree));
    }
    info(`dpkg path filters: removed ${removed} already-installed documentation/locale files`);
  },
};

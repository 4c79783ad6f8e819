import { KilnError } from '../../core/errors.js';
import { parseGroup, groupaddArgs } from '../render/users.js';
import { readInRoot } from '../paths.js';
import { configPath, located } from '../where.js';
import type { SystemStep } from '../types.js';

/** Groups (with GID) through groupadd/groupmod in the image, before Users that may reference them. */
export const groupsStep: SystemStep = {
  name: 'groups',
  applies: (ctx) => (ctx.sc.Groups?.length ?? 0) > 0,
  async run(ctx) {
    const existing = parseGroup((await readInRoot(ctx.root, '/etc/group')) ?? '');
    for (const [i, g] of (ctx.sc.Groups ?? []).entries()) {
      const argv = located(ctx, () => groupaddArgs(g, `Groups[${i}]`, existing.has(g.Name)));
      if (!argv) continue;
      const r = await ctx.chroot(argv, { allowFailure: true });
      if (r.code !== 0) {
        throw new KilnError(
          `${configPath(ctx)}.Groups[${i}]: ${argv[0]} '${g.Name}' failed (exit ${r.code}); is the name valid and the GID free?`,
          undefined,
          r.stderrTail.split('\n').map((l) => `  | ${l}`),
        );
      }
    }
  },
};

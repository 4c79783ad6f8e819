import { KilnError } from '../core/errors.js';
import type { SystemContext } from './types.js';

/** "<config file>: SystemConfigs[i]" — the prefix every user-facing error of a step starts with. */
export function configPath(ctx: SystemContext): string {
  const i = ctx.loaded.config.SystemConfigs.indexOf(ctx.sc);
  return `${ctx.loaded.file}: SystemConfigs[${i < 0 ? 0 : i}]`;
}

/** Run a renderer; its KilnError (which names the key) gets the config file and system config in front. */
export function located<T>(ctx: SystemContext, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KilnError && e.constructor === KilnError) {
      // a message naming a config key ("Users[1].UID: ...") continues the JSON path
      const sep = /^[A-Z][A-Za-z]*[[.:]/.test(e.message) ? '.' : ': ';
      throw new KilnError(`${configPath(ctx)}${sep}${e.message}`, e.exitCode, e.details);
    }
    throw e;
  }
}

/**
 * Keys the selected distribution cannot apply (its catalog entry's `unsupportedKeys`) are errors
 * naming the key and the distribution: accepting and ignoring them would build a different image
 * than the config describes. KernelCommandLine.EnableFIPS is checked with the FIPS package rule.
 */
import { DEFAULT_DISTRO, distroFor } from '../../distro/catalog/index.js';
import type { SystemConfig } from '../model.js';
import type { RuleContext } from './context.js';

export function checkDistroKeys(ctx: RuleContext): void {
  ctx.config.SystemConfigs.forEach((sc, i) => {
    const decl = distroFor(sc);
    for (const [key, reason] of Object.entries(decl.unsupportedKeys)) {
      if (key.includes('.')) continue;
      const value = sc[key as keyof SystemConfig];
      if (value === undefined || value === false || (Array.isArray(value) && value.length === 0)) continue;
      // on upstream's own distribution (no Distro) upstream accepts the key: a warning kiln build refuses
      (decl.name === DEFAULT_DISTRO ? ctx.kiln : ctx.report)(['SystemConfigs', i, key], `${key} cannot be applied on ${decl.prettyName}: ${reason}`, `remove ${key}, or build another distribution with "Distro"`);
    }
  });
}

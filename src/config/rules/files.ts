/**
 * Files the config refers to: they must exist (relative to the base directory), and
 * AdditionalFiles destinations must be absolute paths inside the image.
 */
import type { FileConfig, SystemConfig } from '../model.js';
import type { Segment } from '../findings.js';
import type { RuleContext } from './context.js';

export function checkFiles(ctx: RuleContext): void {
  (ctx.config.Disks ?? []).forEach((d, di) =>
    (d.RawBinaries ?? []).forEach((b, bi) => mustExist(ctx, b.BinPath, ['Disks', di, 'RawBinaries', bi, 'BinPath'], 'raw binary')),
  );
  ctx.config.SystemConfigs.forEach((sc, i) => checkScFiles(ctx, sc, ['SystemConfigs', i]));
}

export function mustExist(ctx: RuleContext, path: string, at: readonly Segment[], what: string): void {
  if (ctx.exists(path)) return;
  const abs = ctx.resolve(path);
  ctx.report(at, `${what} "${path}" does not exist (looked for ${abs})`, `relative paths are resolved against ${ctx.baseDir}; fix the path or pass --base-dir`);
}

function checkScFiles(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  for (const key of ['PreInstallScripts', 'PostInstallScripts', 'FinalizeImageScripts'] as const) {
    (sc[key] ?? []).forEach((s, i) => mustExist(ctx, s.Path, [...at, key, i, 'Path'], 'script'));
  }
  (sc.Users ?? []).forEach((u, ui) =>
    (u.SSHPubKeyPaths ?? []).forEach((k, ki) => mustExist(ctx, k, [...at, 'Users', ui, 'SSHPubKeyPaths', ki], 'SSH public key file')),
  );
  (sc.PackageRepos ?? []).forEach((r, ri) => {
    if (r.SignedBy !== undefined) mustExist(ctx, r.SignedBy, [...at, 'PackageRepos', ri, 'SignedBy'], 'keyring');
  });
  const destinations = new Map<string, string>();
  for (const [src, target] of Object.entries(sc.AdditionalFiles ?? {})) {
    const here: Segment[] = [...at, 'AdditionalFiles', src];
    mustExist(ctx, src, here, 'additional file');
    const list: (string | FileConfig)[] = Array.isArray(target) ? target : [target];
    list.forEach((t, ti) => {
      const dst = typeof t === 'string' ? t : t.Path;
      const where: Segment[] = Array.isArray(target) ? [...here, ti] : here;
      const dstAt = typeof t === 'string' ? where : [...where, 'Path'];
      if (!dst.startsWith('/')) {
        ctx.report(dstAt, `destination "${dst}" is not an absolute path`, `use "/${dst.replace(/^\.?\/*/, '')}"`);
      } else if (dst.split('/').includes('..')) {
        ctx.report(dstAt, `destination "${dst}" contains ".." and could escape the image root`, 'write the destination without ".." segments');
      } else if (destinations.has(dst)) {
        ctx.report(dstAt, `destination "${dst}" is also written from "${destinations.get(dst)}"`, 'each destination can receive only one file');
      }
      destinations.set(dst, src);
    });
  }
}

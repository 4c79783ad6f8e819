/**
 * Files the config refers to, and AdditionalFiles destinations. Upstream's validator does not look
 * at scripts, SSH key files or additional files (its build fails on a missing one), so a missing or
 * unusable one is a warning `kiln build` refuses; keyrings (SignedBy) are Kiln's extension and
 * must exist. Destinations follow upstream's FileConfig rules (not empty; permission bits only),
 * plus Kiln's: absolute, and never ".." (an error: the file would be written outside the image).
 * Package lists are read (and checked) by the package rules.
 */
import type { FileConfig, SystemConfig } from '../model.js';
import type { Segment } from '../findings.js';
import type { FileKind, RuleContext } from './context.js';

export function checkFiles(ctx: RuleContext): void {
  (ctx.config.Disks ?? []).forEach((d, di) =>
    (d.RawBinaries ?? []).forEach((b, bi) => {
      if (b.BinPath !== '') usable(ctx, b.BinPath, ['Disks', di, 'RawBinaries', bi, 'BinPath'], 'raw binary', ['file']);
    }),
  );
  ctx.config.SystemConfigs.forEach((sc, i) => checkScFiles(ctx, sc, ['SystemConfigs', i]));
}

const KIND_NAMES: Record<FileKind, string> = { file: 'a file', directory: 'a directory', other: 'a device, FIFO or socket', missing: 'missing' };

/** The path must exist and be one of `kinds`; `strict`: an error (Kiln's extensions), else a warning the build refuses. */
function usable(ctx: RuleContext, path: string, at: readonly Segment[], what: string, kinds: FileKind[], strict = false): void {
  const kind = ctx.kind(path);
  if (kinds.includes(kind)) return;
  const abs = ctx.resolve(path);
  const report = strict ? ctx.report : ctx.kiln;
  if (kind === 'missing') {
    report(at, `${what} "${path}" does not exist (looked for ${abs})`, `relative paths are resolved against ${ctx.baseDir}; fix the path or pass --base-dir`);
  } else {
    report(at, `${what} "${path}" is ${KIND_NAMES[kind]}, not ${kinds.map((k) => KIND_NAMES[k]).join(' or ')} (${abs})`, 'point it at a regular file');
  }
}

function checkScFiles(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  for (const key of ['PreInstallScripts', 'PostInstallScripts', 'FinalizeImageScripts'] as const) {
    (sc[key] ?? []).forEach((s, i) => {
      if (s.Path !== '') usable(ctx, s.Path, [...at, key, i, 'Path'], 'script', ['file']);
    });
  }
  (sc.Users ?? []).forEach((u, ui) =>
    (u.SSHPubKeyPaths ?? []).forEach((k, ki) => {
      if (k !== '') usable(ctx, k, [...at, 'Users', ui, 'SSHPubKeyPaths', ki], 'SSH public key file', ['file']);
    }),
  );
  (sc.PackageRepos ?? []).forEach((r, ri) => {
    if (r.SignedBy !== undefined) usable(ctx, r.SignedBy, [...at, 'PackageRepos', ri, 'SignedBy'], 'keyring', ['file'], true);
  });
  const destinations = new Map<string, string>();
  for (const [src, target] of Object.entries(sc.AdditionalFiles ?? {})) {
    const here: Segment[] = [...at, 'AdditionalFiles', src];
    usable(ctx, src, here, 'additional file', ['file', 'directory']);
    const list: (string | FileConfig)[] = Array.isArray(target) ? target : [target];
    if (list.length === 0) ctx.report(here, 'the list of destinations is empty', 'give at least one destination path, or remove the entry');
    list.forEach((t, ti) => {
      const dst = typeof t === 'string' ? t : t.Path;
      const where: Segment[] = Array.isArray(target) ? [...here, ti] : here;
      const dstAt = typeof t === 'string' ? where : [...where, 'Path'];
      if (typeof t !== 'string' && t.Permissions !== undefined && /^[0-7]+$/.test(t.Permissions) && parseInt(t.Permissions, 8) > 0o777) {
        ctx.report([...where, 'Permissions'], `"${t.Permissions}" sets bits other than the permission bits (at most 777)`, 'setuid, setgid and sticky bits cannot be set here: use a PostInstallScripts script');
      }
      if (dst === '') {
        ctx.report(dstAt, 'the destination path is empty', 'give the absolute path in the image, e.g. "/etc/motd"');
      } else if (dst.split('/').includes('..')) {
        ctx.report(dstAt, `destination "${dst}" contains ".." and could escape the image root`, 'write the destination without ".." segments');
      } else if (!dst.startsWith('/')) {
        ctx.kiln(dstAt, `destination "${dst}" is not an absolute path`, `use "/${dst.replace(/^\.?\/*/, '')}"`);
      } else if (destinations.has(dst)) {
        ctx.kiln(dstAt, `destination "${dst}" is also written from "${destinations.get(dst)}"`, 'each destination can receive only one file');
      }
      destinations.set(dst, src);
    });
  }
}

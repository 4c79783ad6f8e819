/** Every path field of a config made absolute against the base directory (upstream's LoadWithAbsolutePaths, plus Kiln's). */
import { isAbsolute, resolve } from 'node:path';
import type { AdditionalFileTarget, Config } from './model.js';

export function withAbsolutePaths(config: Config, baseDir: string): Config {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const copy = structuredClone(config);
  for (const disk of copy.Disks ?? []) for (const b of disk.RawBinaries ?? []) b.BinPath = abs(b.BinPath);
  for (const sc of copy.SystemConfigs) {
    if (sc.PackageLists) sc.PackageLists = sc.PackageLists.map(abs);
    for (const key of ['PreInstallScripts', 'PostInstallScripts', 'FinalizeImageScripts'] as const) {
      for (const s of sc[key] ?? []) s.Path = abs(s.Path);
    }
    if (sc.AdditionalFiles) {
      const files: Record<string, AdditionalFileTarget> = {};
      for (const [src, dst] of Object.entries(sc.AdditionalFiles)) files[abs(src)] = dst;
      sc.AdditionalFiles = files;
    }
    for (const u of sc.Users ?? []) if (u.SSHPubKeyPaths) u.SSHPubKeyPaths = u.SSHPubKeyPaths.map(abs);
    for (const r of sc.PackageRepos ?? []) {
      if (r.SignedBy !== undefined) r.SignedBy = abs(r.SignedBy);
      // GPGKeys: blank-separated URLs or paths; a relative path is the config's, like every other
      if (r.GPGKeys !== undefined) r.GPGKeys = r.GPGKeys.split(/\s+/).filter(Boolean).map((k) => (/^[a-z][a-z0-9+.-]*:/i.test(k) ? k : abs(k))).join(' ');
    }
    if (sc.SecureBoot?.SigningKey) sc.SecureBoot.SigningKey = abs(sc.SecureBoot.SigningKey);
    if (sc.SecureBoot?.SigningCertificate) sc.SecureBoot.SigningCertificate = abs(sc.SecureBoot.SigningCertificate);
    for (const ps of sc.PartitionSettings ?? []) {
      if (ps.RdiffBaseImage) ps.RdiffBaseImage = abs(ps.RdiffBaseImage);
      if (ps.OverlayBaseImage) ps.OverlayBaseImage = abs(ps.OverlayBaseImage);
    }
  }
  return copy;
}

/**
 * Files the config refers to must lie under its directory (config/containment.ts), unless
 * --allow-outside-config-dir is given; links that lead outside count as outside, including links
 * inside an AdditionalFiles source directory. SSH public key files are checked line by line; a
 * finding names the line number, never the line (it may be a private key).
 */
import { readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { ALLOW_OUTSIDE_FLAG, escapingLinks, realPathOf } from '../containment.js';
import type { Segment } from '../findings.js';
import { isPublicKeyLine } from '../ssh-keys.js';
import type { RuleContext } from './context.js';

/**
 * Upstream's configs name RPM public keys where RPM distributions keep them, /etc/pki/rpm-gpg/NAME;
 * Kiln uses its shipped copy of its distributions' keys, else the build host's file there. That
 * directory holds public keys only, so a direct entry of it (one that does not lead elsewhere
 * through a link) is not a "file of the config".
 */
const RPM_KEY_DIR = '/etc/pki/rpm-gpg';
function isRpmKeyDirEntry(path: string): boolean {
  const norm = posix.normalize(path);
  return posix.dirname(norm) === RPM_KEY_DIR && norm === path && realPathOf(path).startsWith(`${realPathOf(RPM_KEY_DIR)}/`);
}

const HINT = `move it next to the config (relative paths resolve against the config's directory), or pass ${ALLOW_OUTSIDE_FLAG} if you trust this config`;

export function checkReferencedFiles(ctx: RuleContext): void {
  const refs: { path: string; at: Segment[]; what: string }[] = [];
  (ctx.config.Disks ?? []).forEach((d, di) =>
    (d.RawBinaries ?? []).forEach((b, bi) => refs.push({ path: b.BinPath, at: ['Disks', di, 'RawBinaries', bi, 'BinPath'], what: 'raw binary' })),
  );
  ctx.config.SystemConfigs.forEach((sc, i) => {
    const at: Segment[] = ['SystemConfigs', i];
    for (const key of ['PreInstallScripts', 'PostInstallScripts', 'FinalizeImageScripts'] as const) {
      (sc[key] ?? []).forEach((s, k) => refs.push({ path: s.Path, at: [...at, key, k, 'Path'], what: 'script' }));
    }
    for (const src of Object.keys(sc.AdditionalFiles ?? {})) refs.push({ path: src, at: [...at, 'AdditionalFiles', src], what: 'additional file' });
    (sc.Users ?? []).forEach((u, ui) =>
      (u.SSHPubKeyPaths ?? []).forEach((k, ki) => refs.push({ path: k, at: [...at, 'Users', ui, 'SSHPubKeyPaths', ki], what: 'SSH public key file' })),
    );
    (sc.PackageRepos ?? []).forEach((r, ri) => {
      if (r.SignedBy !== undefined) refs.push({ path: r.SignedBy, at: [...at, 'PackageRepos', ri, 'SignedBy'], what: 'keyring' });
      // RPM keys: URLs are fetched, local paths are read on the host and copied into the image
      for (const key of (r.GPGKeys ?? '').split(/\s+/).filter(Boolean)) {
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(key) && !key.startsWith('file://')) continue;
        const path = key.startsWith('file://') ? decodeURIComponent(key.slice('file://'.length)) : key;
        if (isRpmKeyDirEntry(path)) continue;
        refs.push({ path, at: [...at, 'PackageRepos', ri, 'GPGKeys'], what: 'repository key' });
      }
    });
    (sc.PartitionSettings ?? []).forEach((ps, pi) => {
      for (const key of ['RdiffBaseImage', 'OverlayBaseImage'] as const) {
        const p = ps[key];
        if (p !== undefined && p !== '') refs.push({ path: p, at: [...at, 'PartitionSettings', pi, key], what: 'base image' });
      }
    });
  });
  // PackageLists are checked where they are read (validate.ts): an outside list is never opened
  for (const r of refs) {
    const real = ctx.outside(r.path);
    if (real !== undefined) {
      const leads = real !== ctx.resolve(r.path) ? ` (it leads to ${real})` : '';
      ctx.report(r.at, `${r.what} "${r.path}" is outside the config's directory ${ctx.baseDir}${leads}`, HINT);
      continue;
    }
    if (r.what === 'additional file' && !ctx.allowOutsideConfigDir) checkSourceTree(ctx, r.path, r.at);
    if (r.what === 'SSH public key file') checkKeyFile(ctx, r.path, r.at);
  }
}

/** A directory copied into the image: its links must not lead outside the config's directory either. */
function checkSourceTree(ctx: RuleContext, path: string, at: Segment[]): void {
  const abs = ctx.resolve(path);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    return; // a missing source is reported by the files rule
  }
  if (!isDir) return;
  for (const link of escapingLinks(abs, ctx.baseDir)) {
    ctx.report(at, `"${path}" holds the link "${link}", which leads outside the config's directory ${ctx.baseDir}`, `replace the link by the file it points to, or pass ${ALLOW_OUTSIDE_FLAG} if you trust this config`);
  }
}

/** Every non-comment line of a key file must be a public key; the finding names the line number only. */
function checkKeyFile(ctx: RuleContext, path: string, at: Segment[]): void {
  let text: string;
  try {
    const abs = ctx.resolve(path);
    if (!statSync(abs).isFile() || statSync(abs).size > 1024 * 1024) return;
    text = readFileSync(abs, 'utf8');
  } catch {
    return; // a missing file is reported by the files rule
  }
  text.split('\n').forEach((line, n) => {
    const l = line.trim();
    if (l && !l.startsWith('#') && !isPublicKeyLine(l)) {
      ctx.report(at, `line ${n + 1} of "${path}" is not an OpenSSH public key (is it a private key?)`, 'each line must be "<type> <base64> [comment]", the content of a .pub file');
    }
  });
}

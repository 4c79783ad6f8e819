/**
 * Files a config refers to (package lists, scripts, AdditionalFiles sources, SSH key files,
 * repository keyrings, raw binaries, diff base images) must lie under the config's directory — the
 * directory relative paths resolve against (the config file's, or --base-dir) — unless the user
 * passes --allow-outside-config-dir. A config is untrusted input (e.g. from a pull request): without
 * this, "/etc/shadow" or "../../.ssh/id_ed25519" would be copied into an image that gets published.
 * Symbolic links count where they lead: the check is made on real paths (realpath).
 */
import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ExitCode, KilnError } from '../core/errors.js';

/** The flag that lifts the rule (one spelling for the CLI, the docs and every message). */
export const ALLOW_OUTSIDE_FLAG = '--allow-outside-config-dir';

/** Real path of `path`; for a path that does not exist (yet), the real path of its nearest existing ancestor plus the rest. */
export function realPathOf(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    if (parent === abs) return abs;
    return join(realPathOf(parent), basename(abs));
  }
}

/** Whether `path` (after following every link) lies in `baseDir` or below it. */
export function isInside(path: string, baseDir: string): boolean {
  const base = realPathOf(baseDir);
  const real = realPathOf(path);
  return real === base || real.startsWith(base.endsWith(sep) ? base : base + sep);
}

/**
 * Entries of a directory tree that are symbolic links leading outside `baseDir` (at most `limit`),
 * as paths relative to `dir`. Links are not followed while walking: a link to a directory inside
 * the base is checked where it leads when that directory itself is walked.
 */
export function escapingLinks(dir: string, baseDir: string, limit = 5): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      if (out.length >= limit) return;
      const p = join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isSymbolicLink()) {
        if (!isInside(p, baseDir)) out.push(r);
      } else if (st.isDirectory()) walk(p, r);
    }
  };
  walk(dir, '');
  return out;
}

/** What the build needs to enforce the rule again (defence in depth: files can change after validation). */
export interface ContainmentPolicy {
  baseDir: string;
  allowOutsideConfigDir?: boolean;
}

/**
 * The real path of a config-referenced file, or a KilnError naming the key when it lies outside the
 * config's directory and the flag was not given. `where` is the message prefix (file and JSON path).
 */
export function confinedSource(policy: ContainmentPolicy, path: string, where: string): string {
  const real = realPathOf(path);
  if (policy.allowOutsideConfigDir || isInside(real, policy.baseDir)) return real;
  throw new KilnError(
    `${where}: '${path}' is outside the config's directory ${policy.baseDir}${real !== resolve(path) ? ` (it leads to ${real})` : ''}`,
    ExitCode.InvalidConfig,
    [`copy the file next to the config, or pass ${ALLOW_OUTSIDE_FLAG} if you trust this config`],
  );
}

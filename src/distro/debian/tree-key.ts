/**
 * What decides the tree the Debian backend installs, for the tree cache's key: the apt sources and
 * the package indexes they offer right now (the SHA-256 lines of each suite's InRelease that name
 * a Packages index of a component and architecture we install from: any new package version
 * changes them), the package set with the implicit packages, everything written into the root
 * before dpkg runs, the mmdebstrap command line and the host's mmdebstrap, apt and dpkg versions.
 */
import { createHash } from 'node:crypto';
import { run } from '../../core/exec.js';
import { fetchText } from '../fetch.js';

/** A source line's parts: "deb [opts] URI SUITE [COMPONENT...]". */
export function parseSourceLine(line: string): { uri: string; suite: string; components: string[] } | undefined {
  const words = line.replace(/\[[^\]]*\]\s*/, '').trim().split(/\s+/);
  if (words[0] !== 'deb' || words.length < 3) return undefined;
  return { uri: words[1]!.replace(/\/+$/, ''), suite: words[2]!, components: words.slice(3) };
}

/** InRelease (then Release) URLs of a source: dists/SUITE/ for a normal suite, SUITE itself for a flat repository. */
export function releaseUrls(line: string): string[] {
  const s = parseSourceLine(line);
  if (!s) return [];
  const base = s.suite.endsWith('/') ? `${s.uri}/${s.suite.replace(/^\.?\/+/, '')}` : `${s.uri}/dists/${s.suite}/`;
  const dir = base.endsWith('/') ? base : `${base}/`;
  return [`${dir}InRelease`, `${dir}Release`];
}

/**
 * The lines of a Release file's SHA256 section that name the Packages indexes of `components`
 * for `arch` and for "all" (a flat repository: every Packages index).
 */
export function indexLines(release: string, components: readonly string[], arch: string): string[] {
  const sha = release.split(/^SHA256:\s*$/m)[1]?.split(/^\S/m)[0] ?? '';
  const wanted = (path: string) => {
    if (!components.length) return /(^|\/)Packages(\.\w+)?$/.test(path);
    return components.some((c) => new RegExp(`^${escape(c)}/binary-(${escape(arch)}|all)/Packages(\\.\\w+)?$`).test(path));
  };
  return sha
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && wanted(l.split(/\s+/)[2] ?? ''))
    .sort();
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Fingerprint of what the sources offer now; undefined when a source cannot be read. */
export async function debianSnapshot(sources: readonly string[], arch: string, auth?: string): Promise<string | undefined> {
  const parts = await Promise.all(
    sources.map(async (line) => {
      const s = parseSourceLine(line);
      if (!s) return undefined;
      for (const url of releaseUrls(line)) {
        const text = await fetchText(url, auth);
        if (text === undefined) continue;
        const lines = indexLines(text, s.components, arch);
        // no SHA256 index lines (an unusual repository): the whole Release file decides
        return `${line}\n${lines.length ? lines.join('\n') : createHash('sha256').update(text).digest('hex')}`;
      }
      return undefined;
    }),
  );
  if (parts.some((p) => p === undefined)) return undefined;
  return createHash('sha256').update(parts.join('\n\n')).digest('hex');
}

/** The host's dpkg architecture (apt installs this architecture's packages). */
export async function dpkgArch(): Promise<string> {
  const r = await run('dpkg', ['--print-architecture'], { allowFailure: true });
  return r.stdout.trim() || 'amd64';
}

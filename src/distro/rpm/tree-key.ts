/**
 * What decides the tree the RPM backend installs, for the tree cache's key: the repositories (their
 * rendered repo files, with the content of local key files) and the metadata they publish now
 * (repodata/repomd.xml names the checksum of every metadata file, so any new package changes it),
 * the package set with implicit packages, the rpm macros written before the transaction, the
 * package manager's command line and the host's rpm and dnf/tdnf versions.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from '../../core/exec.js';
import { authFor, fetchText } from '../fetch.js';
import { renderRepoFile, type RpmRepo } from './repos.js';

/** $releasever / $basearch as dnf expands them in a baseurl. */
export function expandRepoVars(url: string, release: string, basearch = rpmArch()): string {
  return url.replace(/\$releasever|\$\{releasever\}/g, release).replace(/\$basearch|\$\{basearch\}/g, basearch);
}

export function rpmArch(): string {
  return ({ x64: 'x86_64', arm64: 'aarch64' } as Record<string, string>)[process.arch] ?? process.arch;
}

/** Repo files as they are written for the install, local keys by content. */
export function repoInputs(repos: readonly RpmRepo[]): string[] {
  return repos.map((r) => {
    const keys = r.gpgkeys.map((k) => {
      if (!k.startsWith('file:')) return k;
      try {
        return `${k} sha256:${createHash('sha256').update(readFileSync(fileURLToPath(k))).digest('hex')}`;
      } catch {
        return `${k} (unreadable)`;
      }
    });
    return `${renderRepoFile(r)}install=${r.install}\nkeys=${keys.join(' ')}\n`;
  });
}

/** Fingerprint of every repository's repomd.xml; undefined when one cannot be read. */
export async function rpmSnapshot(repos: readonly RpmRepo[], release: string): Promise<string | undefined> {
  const texts = await Promise.all(
    repos.map((r) => {
      const root = expandRepoVars(r.baseurl, release).replace(/\/+$/, '');
      return fetchText(`${root}/repodata/repomd.xml`, authFor([{ url: root, ...(r.username !== undefined ? { username: r.username } : {}), ...(r.password !== undefined ? { password: r.password } : {}) }]));
    }),
  );
  if (texts.some((t) => t === undefined)) return undefined;
  const hash = createHash('sha256');
  repos.forEach((r, i) => hash.update(`${r.id}\n${texts[i]}\n`));
  return hash.digest('hex');
}

/** First line of `tool --version` (rpm, dnf, tdnf). */
export async function toolVersion(tool: string): Promise<string> {
  const r = await run(tool, ['--version'], { allowFailure: true });
  return `${tool} ${r.stdout.split('\n')[0]?.trim() ?? '?'}`;
}

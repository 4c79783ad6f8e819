/**
 * Debian (the catalog's entry, default release) as the installer's and the boot tools' base: the
 * apt sources (the host's mirror, or KILN_DEBIAN_MIRROR as a mirror root), and a fingerprint of the
 * package versions they offer right now (the InRelease files list the hash of every Packages
 * index, so any new package version changes the fingerprint). Fetched with apt's own helper
 * (proxies and mirrors configured for apt apply); a few hundred kilobytes, well under a second.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../core/exec.js';
import { warn } from '../core/log.js';
import { debian } from '../distro/catalog/debian.js';
import { sourceLines } from '../distro/debian/sources.js';

/** The installer environment is the catalog's Debian, its default release, from the host's mirror. */
export const SUITE = debian.releases[0]!.name;

/** Computed when an ISO is built (a host without Debian sources gets an error then, not at start-up). */
export function aptSources(): string[] {
  return sourceLines([], SUITE, process.env.KILN_DEBIAN_MIRROR);
}

/** dists/<suite>/InRelease of every source line ("deb URI SUITE COMPONENTS"). */
function releaseUrls(): string[] {
  return aptSources().map((line) => {
    const [, uri, suite] = line.replace(/\[[^\]]*\]\s*/, '').split(/\s+/);
    return `${uri!.replace(/\/+$/, '')}/dists/${suite}/InRelease`;
  });
}

/** The part of an InRelease file that changes when a package of main/amd64 changes. */
export function packagesIndexLines(inRelease: string): string[] {
  const sha = inRelease.split(/^SHA256:$/m)[1] ?? '';
  return sha
    .split('\n')
    .filter((l) => /\smain\/binary-amd64\/Packages(\.xz)?$/.test(l))
    .map((l) => l.trim());
}

/** Fingerprint of the suite's package versions; undefined when the mirror cannot be reached. */
export async function suiteFingerprint(): Promise<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-inrelease-'));
  try {
    const hash = createHash('sha256');
    for (const [i, url] of releaseUrls().entries()) {
      const file = join(dir, String(i));
      const r = await run('/usr/lib/apt/apt-helper', ['download-file', url, file], { allowFailure: true });
      if (r.code !== 0) {
        warn(`cannot read ${url}: package versions unknown, a cached installer initrd is reused as is`);
        return undefined;
      }
      hash.update(packagesIndexLines(readFileSync(file, 'utf8')).join('\n'));
    }
    return hash.digest('hex').slice(0, 16);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Read a small repository file (InRelease, repomd.xml) by URL: file:// from disk, anything else
 * with apt's own helper (the host's apt proxy and mirror settings apply), or Node's fetch where the
 * host has no apt. Returns undefined when it cannot be read (the caller decides what that means).
 * Repository credentials never appear in the URL or a command line: `auth` is apt_auth.conf(5)
 * text, written into the helper's private (0700) scratch directory for that one download.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../core/exec.js';

const APT_HELPER = '/usr/lib/apt/apt-helper';

export async function fetchText(url: string, auth?: string): Promise<string | undefined> {
  if (url.startsWith('file:')) {
    try {
      return await readFile(fileURLToPath(url), 'utf8');
    } catch {
      return undefined;
    }
  }
  if (existsSync(APT_HELPER)) {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-fetch-'));
    try {
      const file = join(dir, 'f');
      const netrc = join(dir, 'auth.conf');
      if (auth) await writeFile(netrc, auth, { mode: 0o600 });
      const r = await run(APT_HELPER, [...(auth ? ['-o', `Dir::Etc::netrc=${netrc}`] : []), 'download-file', url, file], { allowFailure: true, redact: credentialsOf(url) });
      return r.code === 0 ? await readFile(file, 'utf8') : undefined;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  try {
    const res = await fetch(url);
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * apt_auth.conf(5) lines for repository roots with credentials (`machine` = scheme, host and
 * path: it matches every file below the root), or undefined when none has any.
 */
export function authFor(repos: readonly { url: string; username?: string; password?: string }[]): string | undefined {
  const lines = repos
    .filter((r) => r.username !== undefined || r.password !== undefined)
    .map((r) => ['machine', r.url.replace(/\/+$/, ''), ...(r.username ? ['login', r.username] : []), ...(r.password ? ['password', r.password] : [])].join(' '));
  return lines.length ? `${lines.join('\n')}\n` : undefined;
}

/** user:password of a URL, for log redaction. */
function credentialsOf(url: string): string[] {
  const m = /^[a-z+]+:\/\/([^/@]+)@/i.exec(url);
  return m ? [m[1]!] : [];
}

/** A URL or text with any user:password@ replaced (for what is stored or printed). */
export function withoutCredentials(text: string): string {
  return text.replace(/([a-z+]+:\/\/)[^/@\s]+@/gi, '$1***@');
}

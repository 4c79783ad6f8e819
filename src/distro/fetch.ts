/**
 * Read a small repository file (InRelease, repomd.xml) by URL: file:// from disk, anything else
 * with apt's own helper (the host's apt proxy and mirror settings apply), or Node's fetch where the
 * host has no apt. Returns undefined when it cannot be read (the caller decides what that means).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../core/exec.js';

const APT_HELPER = '/usr/lib/apt/apt-helper';

export async function fetchText(url: string): Promise<string | undefined> {
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
      const r = await run(APT_HELPER, ['download-file', url, file], { allowFailure: true, redact: credentialsOf(url) });
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

/** user:password of a URL, for log redaction. */
function credentialsOf(url: string): string[] {
  const m = /^[a-z+]+:\/\/([^/@]+)@/i.exec(url);
  return m ? [m[1]!] : [];
}

/** A URL or text with any user:password@ replaced (for what is stored or printed). */
export function withoutCredentials(text: string): string {
  return text.replace(/([a-z+]+:\/\/)[^/@\s]+@/gi, '$1***@');
}

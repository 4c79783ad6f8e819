/**
 * Secrets in configs, kept out of argv, logs, errors, manifests and images.
 *
 * - Repository URLs may carry credentials (`https://user:pass@host/path`). Every backend calls
 *   `splitCredentials` and hands the user name and password to its package manager through a
 *   root-only file (apt: an auth.conf passed as Dir::Etc::netrc; dnf: username=/password= in a
 *   root-only repo file outside the image); only the URL without them goes anywhere else.
 * - Whatever is printed (build log, console, error messages) goes through `redactSecrets`: URL
 *   credentials are masked wherever they appear, and so is every value registered with
 *   `registerSecret` (user passwords, passphrases, repository credentials of the build).
 *
 * Pure apart from the process-wide registry of secrets.
 */

export interface SplitUrl {
  /** The URL without user name and password. */
  url: string;
  /** Decoded (percent-escapes resolved); absent when the URL has no credentials. */
  username?: string;
  password?: string;
}

/** scheme://userinfo@ — userinfo may be "user", "user:", "user:pass" (percent-encoded). */
const USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#@\s]*)@/;

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a lone "%": take it literally
  }
}

/** Separate the credentials from a repository URL. URLs without userinfo come back unchanged. */
export function splitCredentials(url: string): SplitUrl {
  const m = USERINFO.exec(url);
  if (!m) return { url };
  const info = m[2]!;
  const colon = info.indexOf(':');
  const user = colon < 0 ? info : info.slice(0, colon);
  const pass = colon < 0 ? undefined : info.slice(colon + 1);
  return {
    url: m[1]! + url.slice(m[0].length),
    ...(user ? { username: decode(user) } : {}),
    ...(pass !== undefined && pass !== '' ? { password: decode(pass) } : {}),
  };
}

/** The URL with its credentials masked (for messages: still shows which user and host). */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, (_m, scheme: string) => `${scheme}***@`);
}

/** Anywhere in a text: `scheme://user:pass@` → `scheme://***@`. */
const USERINFO_ANYWHERE = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#@\s"'<>]+@/g;

/** Secrets shorter than this are not searched for in text (they would mask ordinary words). */
export const MIN_REGISTERED_SECRET = 6;
const secrets = new Set<string>();

/** Mask `value` wherever it appears in logs and messages from now on (values shorter than 6 characters are ignored). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= MIN_REGISTERED_SECRET) secrets.add(value);
}

/** Forget every registered secret (tests). */
export function clearSecrets(): void {
  secrets.clear();
}

export function redactSecrets(text: string): string {
  let out = text.includes('://') ? text.replace(USERINFO_ANYWHERE, '$1***@') : text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

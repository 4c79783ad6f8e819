/**
 * Where packages come from: the config's PackageRepos as apt source lines, or, when it lists none,
 * the host's Debian mirror (read from the host's apt sources) for the release, its -updates suite
 * and the security archive.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PackageRepo } from '../../config/model.js';
import { debian } from '../catalog/debian.js';
import type { DistroDecl } from '../catalog/index.js';
import { splitCredentials } from '../../core/credentials.js';
import { ExitCode, KilnError } from '../../core/errors.js';
import { assertNoControl } from '../../core/safe-text.js';

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
export const DEFAULT_SECURITY = 'http://deb.debian.org/debian-security';

/**
 * One field of a one-line apt source: apt splits the line on blanks and options end at "]", so a
 * field holding either would become fields of its own (another suite, an option such as
 * trusted=yes), and a line feed a whole source. Refused: the line is never written.
 */
function field(value: string, what: string): string {
  assertNoControl(value, what);
  if (value === '' || /[\s\]]/.test(value)) throw new KilnError(`${what}: '${value}' is empty or contains a blank or "]", which an apt source line cannot hold`);
  return value;
}

/** One apt source line per repository ("deb [opts] URI SUITE COMPONENTS"). */
export function repoLines(repos: readonly PackageRepo[], release: string): string[] {
  return repos.map((r) => {
    const what = `PackageRepos "${r.Name}"`;
    const opts: string[] = [];
    if (r.SignedBy) opts.push(`signed-by=${field(r.SignedBy, `${what}: SignedBy`)}`);
    if (r.GPGCheck === false && !r.SignedBy) opts.push('trusted=yes');
    const components = r.Components?.length ? r.Components : ['main'];
    // credentials never go into a source line: it is logged, and written into the image
    const rest = [field(splitCredentials(r.BaseUrl).url, `${what}: BaseUrl`), field(r.Suite ?? release, `${what}: Suite`), ...components.map((c) => field(c, `${what}: Components`))];
    return `deb ${opts.length ? `[${opts.join(' ')}] ` : ''}${rest.join(' ')}`;
  });
}

/**
 * apt_auth.conf(5) entries for the repositories whose BaseUrl carries credentials
 * (`https://user:pass@host/path`), or undefined when none does. The machine token names the
 * scheme (without one apt would match https only), host, port and path of the repository. The
 * format is whitespace-separated tokens: a user name or password containing white space cannot be
 * expressed, and is refused rather than cut.
 */
export function authConf(repos: readonly PackageRepo[]): string | undefined {
  const lines: string[] = [];
  for (const r of repos) {
    const { url, username, password } = splitCredentials(r.BaseUrl);
    if (username === undefined && password === undefined) continue;
    if (/[\s"]/.test(`${username ?? ''}${password ?? ''}`)) {
      throw new KilnError(
        `PackageRepos "${r.Name}": the user name or password in BaseUrl contains white space or a quote, which apt's auth.conf cannot express`,
        ExitCode.InvalidConfig,
      );
    }
    const machine = url.replace(/\/+$/, '');
    lines.push(['machine', machine, ...(username ? ['login', username] : []), ...(password ? ['password', password] : [])].join(' '));
  }
  return lines.length ? lines.join('\n') + '\n' : undefined;
}

/** The default sources for `release`: the mirror (from the host when it names one), updates, security. */
export function defaultLines(release: string, hostMirror = DEFAULT_MIRROR, hostSecurity = DEFAULT_SECURITY): string[] {
  return [
    `deb ${hostMirror} ${release} main`,
    `deb ${hostMirror} ${release}-updates main`,
    `deb ${hostSecurity} ${release}-security main`,
  ];
}

/** URIs of Debian archives in apt sources text (one-line or deb822 format). */
export function debianUris(text: string): { mirror?: string; security?: string } {
  const uris: string[] = [];
  for (const line of text.split('\n')) {
    const one = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
    if (one?.[1]) uris.push(one[1]);
    const d822 = /^\s*URIs:\s*(.+)$/i.exec(line);
    if (d822?.[1]) uris.push(...d822[1].trim().split(/\s+/));
  }
  const clean = (u: string) => u.replace(/\/+$/, '');
  const mirror = uris.map(clean).find((u) => /\/debian$/.test(u));
  const security = uris.map(clean).find((u) => /\/debian-security$/.test(u));
  return { ...(mirror ? { mirror } : {}), ...(security ? { security } : {}) };
}

/** Read the host's apt sources; Debian mirror URIs found there replace deb.debian.org. */
export function hostDebianUris(): { mirror?: string; security?: string } {
  const texts: string[] = [];
  try {
    texts.push(readFileSync('/etc/apt/sources.list', 'utf8'));
  } catch {
    // not every host has the one-line file
  }
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d')) {
      if (f.endsWith('.list') || f.endsWith('.sources')) texts.push(readFileSync(join('/etc/apt/sources.list.d', f), 'utf8'));
    }
  } catch {
    // not a Debian-family host: the defaults apply
  }
  return debianUris(texts.join('\n'));
}

/** The repositories packages are installed from (Install is not false). */
export function installRepos(repos: readonly PackageRepo[]): PackageRepo[] {
  return repos.filter((r) => r.Install !== false);
}

/** What needs an auth.conf entry: the repositories used, or the mirror root when it replaces the defaults. */
export function authSources(repos: readonly PackageRepo[], mirror?: string): PackageRepo[] {
  const used = installRepos(repos);
  return used.length || !mirror ? used : [{ Name: 'mirror', BaseUrl: mirror }];
}

/**
 * The config's repositories; else the catalog's defaults below `mirror` (a mirror root holding
 * debian/ and debian-security/, as mkosi's Mirror=); else the host's Debian mirror.
 */
export function sourceLines(repos: readonly PackageRepo[], release: string, mirror?: string, decl: DistroDecl = debian): string[] {
  const used = installRepos(repos);
  if (used.length) return repoLines(used, release);
  if (mirror) {
    const root = splitCredentials(mirror).url.replace(/\/+$/, '');
    return decl.repositories(release).map((r) => `deb ${root}/${r.path} ${r.suite} ${(r.components ?? ['main']).join(' ')}`);
  }
  const host = hostDebianUris();
  return defaultLines(release, host.mirror, host.security);
}

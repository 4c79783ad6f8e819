/**
 * Where RPMs come from: the config's PackageRepos, else the catalog's default repositories (below
 * `--mirror` / `Distro.Mirror` when given), rendered as dnf/tdnf repo files. The keys of the
 * default repositories ship with Kiln (resources/distro/<name>/); an administrator who re-signs a
 * mirror adds its key to the host's trusted-key directory (never the config: a config is untrusted).
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PackageRepo } from '../../config/model.js';
import { registerSecret, splitCredentials } from '../../core/credentials.js';
import type { DistroDecl } from '../catalog/index.js';
import { assertNoControl } from '../../core/safe-text.js';

export const RESOURCES = resolve(import.meta.dirname, '../../../resources/distro');

/** Host directory of extra trusted keys for a distribution's default repositories. */
export function trustedKeyDir(distro: string): string {
  return join(process.env.KILN_TRUSTED_KEYS ?? '/etc/kiln/trusted-keys', distro);
}

export interface RpmRepo {
  id: string;
  name: string;
  baseurl: string;
  gpgcheck: boolean;
  repoGpgcheck: boolean;
  /** Key URLs (file:// on the host, or http(s)). */
  gpgkeys: string[];
  /** Write this repo file into the image (/etc/yum.repos.d). */
  install: boolean;
  /** From the BaseUrl's userinfo (splitCredentials): only in the build's own root-only copy. */
  username?: string;
  password?: string;
}

/** A config's key reference: a URL, or a path (already absolute in a loaded config). */
export function keyUrl(key: string, decl: DistroDecl): string {
  if (/^(https?|ftp):\/\//.test(key)) return key;
  const path = key.startsWith('file://') ? decodeURIComponent(key.slice('file://'.length)) : key;
  // upstream's configs name keys where Azure Linux installs them (/etc/pki/rpm-gpg/...): Kiln ships those
  const shipped = join(RESOURCES, decl.name, basename(path));
  if (!existsSync(path) && existsSync(shipped)) return pathToFileURL(shipped).href;
  return pathToFileURL(isAbsolute(path) ? path : resolve(path)).href;
}

export function rpmRepos(decl: DistroDecl, release: string, configRepos: readonly PackageRepo[], mirror?: string): RpmRepo[] {
  if (configRepos.length) {
    return configRepos.map((r) => ({
      ...credentialsOf(r.BaseUrl),
      id: repoId(r.Name),
      name: r.Name,
      gpgcheck: r.GPGCheck ?? true,
      repoGpgcheck: r.RepoGPGCheck ?? false,
      gpgkeys: (r.GPGKeys ?? '').split(/\s+/).filter(Boolean).map((k) => keyUrl(k, decl)),
      install: r.Install === true,
    }));
  }
  const root = (mirror ?? decl.defaultMirror ?? '').replace(/\/+$/, '');
  const trusted = trustedKeys(decl.name);
  return decl.repositories(release).map((r) => ({
    ...credentialsOf(`${root}/${r.path}`),
    id: r.id,
    name: r.name,
    gpgcheck: r.gpgCheck,
    repoGpgcheck: r.repoGpgCheck,
    gpgkeys: [...r.keys.map((k) => pathToFileURL(join(RESOURCES, decl.name, k)).href), ...trusted],
    install: false,
  }));
}

function trustedKeys(distro: string): string[] {
  const dir = trustedKeyDir(distro);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort()
    .map((f) => pathToFileURL(join(dir, f)).href);
}

/** baseurl without credentials, and the credentials apart (never in the image's copy, logs or messages). */
function credentialsOf(url: string): Pick<RpmRepo, 'baseurl' | 'username' | 'password'> {
  const { url: baseurl, username, password } = splitCredentials(url);
  registerSecret(password);
  return { baseurl, ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}

export function repoId(name: string): string {
  return name.replace(/[^A-Za-z0-9._:-]+/g, '-');
}

/**
 * One repo file; `local` options are for the build's own copy (never written into the image),
 * which alone carries the repository's credentials (`username=`/`password=`) and is root-only.
 */
export function renderRepoFile(r: RpmRepo, local: { metadataExpire?: string; credentials?: boolean } = {}): string {
  // an INI file: a line feed in a value would add settings of the config's choosing (gpgcheck=0 ...)
  for (const [what, v] of [['Name', r.name], ['BaseUrl', r.baseurl], ['GPGKeys', r.gpgkeys.join(' ')], ['id', r.id]] as const) assertNoControl(v, `PackageRepos "${r.id}": ${what}`);
  const lines = [
    `[${r.id}]`,
    `name=${r.name}`,
    `baseurl=${r.baseurl}`,
    `enabled=1`,
    `gpgcheck=${r.gpgcheck ? 1 : 0}`,
    `repo_gpgcheck=${r.repoGpgcheck ? 1 : 0}`,
    ...(r.gpgkeys.length ? [`gpgkey=${r.gpgkeys.join(' ')}`] : []),
    'skip_if_unavailable=False',
    ...(local.metadataExpire !== undefined ? [`metadata_expire=${local.metadataExpire}`] : []),
    ...(local.credentials && r.username !== undefined ? [`username=${r.username}`] : []),
    ...(local.credentials && r.password !== undefined ? [`password=${r.password}`] : []),
  ];
  return lines.join('\n') + '\n';
}

/** "name (url)" for error messages. */
export function describeRepos(repos: readonly RpmRepo[]): string {
  return repos.map((r) => `${r.id} (${r.baseurl})`).join(', ');
}

/**
 * The copy of the config that travels on the ISO (kiln/config/<file>, for reference): the
 * document as written, minus every clear-text secret. An ISO is a file people pass around; the
 * images on it already hold only password hashes, and so must the config beside them.
 *
 * - `Users[].Password` in clear text → its SHA-512 crypt hash (`openssl passwd -6`, reading the
 *   password on stdin: never on argv, never in the log), with `PasswordHashed: true`;
 * - credentials in `PackageRepos[].BaseUrl` and `Distro.Mirror` → removed from the URL;
 * - `Encryption.Password` (a passphrase) → removed.
 */
import { parse as parseJsonc } from 'jsonc-parser';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { splitCredentials } from '../core/credentials.js';
import { output } from '../core/exec.js';
import { KilnError } from '../core/errors.js';

type Json = Record<string, unknown>;

/** SHA-512 crypt ($6$) of `password` with a random salt, made by the host's openssl. */
export async function sha512Crypt(password: string): Promise<string> {
  if (/[\n\r]/.test(password)) throw new KilnError('a password must be a single line');
  const hash = await output('openssl', ['passwd', '-6', '-stdin'], { input: `${password}\n`, hint: 'openssl comes with the Debian package openssl' });
  if (!/^\$6\$[^\s$]+\$[./A-Za-z0-9]+$/.test(hash)) throw new KilnError('openssl passwd -6 did not print a SHA-512 crypt hash');
  return hash;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const objects = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** The config document with its secrets hashed or removed (`hash` is injectable for tests). */
export async function sanitizeConfig(doc: unknown, hash: (password: string) => Promise<string> = sha512Crypt): Promise<unknown> {
  const copy = structuredClone(doc);
  if (!isObject(copy)) return copy;
  for (const sc of objects(copy.SystemConfigs)) {
    for (const user of objects(sc.Users)) {
      if (typeof user.Password === 'string' && user.Password !== '' && user.PasswordHashed !== true) {
        user.Password = await hash(user.Password);
        user.PasswordHashed = true;
      }
    }
    for (const repo of objects(sc.PackageRepos)) {
      if (typeof repo.BaseUrl === 'string') repo.BaseUrl = splitCredentials(repo.BaseUrl).url;
    }
    if (isObject(sc.Distro) && typeof sc.Distro.Mirror === 'string') sc.Distro.Mirror = splitCredentials(sc.Distro.Mirror).url;
    if (isObject(sc.Encryption)) delete sc.Encryption.Password;
  }
  return copy;
}

/** The sanitized text of a config file, in the file's own format (JSON or YAML; comments are not kept). */
export async function sanitizedConfigText(text: string, file: string, hash?: (password: string) => Promise<string>): Promise<string> {
  const yaml = /\.ya?ml$/i.test(file);
  const doc = yaml ? (parseYaml(text) as unknown) : (parseJsonc(text) as unknown);
  const clean = await sanitizeConfig(doc, hash);
  return yaml ? stringifyYaml(clean) : `${JSON.stringify(clean, null, 2)}\n`;
}

/**
 * Secure Boot signatures with the user's own key (SecureBoot.SigningKey / SigningCertificate):
 * sbsign (sbsigntool) writes an Authenticode signature into each EFI binary Kiln puts on the ESP
 * (systemd-boot, the UKI); sbverify checks it against the certificate before the image ships.
 *
 * The key is read by sbsign only: never copied into the image, logged or put on argv. A key
 * protected by a passphrase (PEM "ENCRYPTED PRIVATE KEY") is unlocked with the passphrase from the
 * environment variable KILN_SIGNING_KEY_PASSPHRASE (never from the config) by openssl into a file
 * on a tmpfs that lives only while the binaries are signed.
 */
import { readFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { registerSecret } from '../core/credentials.js';
import { KilnError } from '../core/errors.js';
import { run } from '../core/exec.js';
import { logToFile } from '../core/log.js';
import type { Scope } from '../core/scope.js';
import { withSecretDir } from '../core/secret-file.js';
import type { SigningKeys } from './chain.js';

export const PASSPHRASE_ENV = 'KILN_SIGNING_KEY_PASSPHRASE';

export function isEncryptedPem(text: string): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(text);
}

/** Fail before the build does any work when the key cannot be used. */
export function checkSigningKeys(keys: SigningKeys): void {
  registerSecret(process.env[PASSPHRASE_ENV]);
  let text: string;
  try {
    text = readFileSync(keys.key, 'utf8');
  } catch (e) {
    throw new KilnError(`SecureBoot.SigningKey ${keys.key} cannot be read: ${(e as Error).message}`);
  }
  if (isEncryptedPem(text) && process.env[PASSPHRASE_ENV] === undefined) {
    throw new KilnError(`SecureBoot.SigningKey ${keys.key} is protected by a passphrase`, undefined, [`set the environment variable ${PASSPHRASE_ENV} to it (Kiln never reads a passphrase from the config)`]);
  }
}

/** Run `fn` with an unencrypted key sbsign can read (the key itself, or a tmpfs copy unlocked for the moment). */
export async function withSigningKey<T>(scope: Scope, keys: SigningKeys, fn: (keys: SigningKeys) => Promise<T>): Promise<T> {
  checkSigningKeys(keys);
  if (!isEncryptedPem(readFileSync(keys.key, 'utf8'))) return fn(keys);
  return withSecretDir(scope, async (dir) => {
    const plain = join(dir, 'signing.key');
    await run('openssl', ['pkey', '-in', keys.key, '-passin', `env:${PASSPHRASE_ENV}`, '-out', plain], { hint: `is ${PASSPHRASE_ENV} the key's passphrase?` });
    return fn({ key: plain, cert: keys.cert });
  });
}

/** Sign `file` in place (a signed copy renamed over it) and verify the result. */
export async function signEfiBinary(file: string, keys: SigningKeys): Promise<void> {
  const signed = `${file}.signed`;
  await run('sbsign', ['--key', keys.key, '--cert', keys.cert, '--output', signed, file], { hint: 'sbsign comes with the Debian package sbsigntool' });
  await run('sbverify', ['--cert', keys.cert, signed]);
  await rename(signed, file);
  logToFile(`signed ${file} with ${keys.cert}`);
}

import { KilnError } from '../core/errors.js';
import { run } from '../core/exec.js';

/**
 * SHA-512 crypt ($6$) of a clear-text password, computed on the build host at build time.
 * The password travels only on openssl's stdin: never in argv (visible in ps and the build log),
 * never in the image. (Debian's own chpasswd would hash with yescrypt through PAM.)
 */
export async function sha512Crypt(password: string, where: string): Promise<string> {
  if (/[\n\r]/.test(password)) throw new KilnError(`${where}.Password must be a single line`);
  const r = await run('openssl', ['passwd', '-6', '-stdin'], {
    input: `${password}\n`,
    hint: 'openssl (Debian package openssl) hashes the user passwords',
  });
  const hash = r.stdout.trim();
  if (!/^\$6\$[^$]+\$[./A-Za-z0-9]+$/.test(hash)) throw new KilnError('openssl passwd -6 returned no SHA-512 crypt hash');
  return hash;
}

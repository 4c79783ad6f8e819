/** What counts as an OpenSSH public key line (authorized_keys format), shared by the validator and the users step. */
import { controlCharAt } from '../core/safe-text.js';

const KEY = /(^|\s)(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+[A-Za-z0-9+/=]{16,}/;

/** "[options] type base64 [comment]", one line, no control characters (a private key or stray text is not a key). */
export function isPublicKeyLine(line: string): boolean {
  return controlCharAt(line) < 0 && KEY.test(line);
}

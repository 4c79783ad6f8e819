/**
 * Validation of the attended installer's answers. Each returns an error message (shown, then the
 * question is asked again) or undefined when the answer is acceptable.
 */

/** RFC 1123 host name: labels of letters, digits and '-', not starting or ending with '-'. */
export function checkHostname(name: string): string | undefined {
  if (!name) return 'the host name must not be empty';
  if (name.length > 253) return 'the host name must be at most 253 characters';
  for (const label of name.split('.')) {
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label))
      return `"${label}" is not a valid host name label: use letters, digits and '-' (not first or last), at most 63 characters`;
  }
  return undefined;
}

const RESERVED_USERS = new Set(['root', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp', 'proxy', 'www-data', 'backup', 'list', 'irc', 'nobody', 'systemd-network', 'messagebus', 'sshd', '_apt']);

/** Debian's useradd default NAME_REGEX, lower case, and not a system account. */
export function checkUserName(name: string): string | undefined {
  if (!name) return 'the user name must not be empty';
  if (name.length > 32) return 'the user name must be at most 32 characters';
  if (!/^[a-z][-a-z0-9_]*$/.test(name))
    return 'the user name must start with a lower-case letter and contain only a-z, 0-9, "-" and "_"';
  if (RESERVED_USERS.has(name)) return `"${name}" is a system account; choose another name`;
  return undefined;
}

export function checkPassword(password: string, again: string): string | undefined {
  if (password.length < 8) return 'the password must have at least 8 characters';
  if (/[:\n\r]/.test(password)) return 'the password must not contain ":" or line breaks';
  if (password !== again) return 'the two passwords differ';
  return undefined;
}

/** "1".."n" → index, or an error message. Empty input picks the default. */
export function parseChoice(answer: string, count: number, defaultIndex = 0): number | string {
  const a = answer.trim();
  if (a === '') return defaultIndex;
  const n = Number(a);
  if (!Number.isInteger(n) || n < 1 || n > count) return `type a number from 1 to ${count}`;
  return n - 1;
}

import { KilnError } from '../../core/errors.js';
import type { Group, User } from '../../config/model.js';
import { isPublicKeyLine } from '../../config/ssh-keys.js';
import { assertNoControl } from '../../core/safe-text.js';

/**
 * Users and Groups as argv for the shadow tools run in the image (groupadd/groupmod,
 * useradd/usermod, chage) and the pure bits around them. Passwords never appear here: they are
 * hashed on stdin and set with `chpasswd -e` on stdin.
 */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export function parsePasswd(text: string): Map<string, PasswdEntry> {
  const out = new Map<string, PasswdEntry>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || !f[0]) continue;
    out.set(f[0], { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! });
  }
  return out;
}

/** name → gid */
export function parseGroup(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0]) out.set(f[0], Number(f[2]));
  }
  return out;
}

function numericId(value: string | undefined, what: string, where: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  const s = String(value).trim();
  if (!/^\d+$/.test(s) || Number(s) > 60000) throw new KilnError(`${where}: ${what} '${value}' must be a number from 0 to 60000`);
  return String(Number(s));
}

export function groupaddArgs(g: Group, where: string, exists: boolean): string[] | undefined {
  const gid = numericId(g.GID, 'GID', where);
  if (exists) return gid === undefined ? undefined : ['groupmod', '--gid', gid, g.Name];
  return ['groupadd', ...(gid !== undefined ? ['--gid', gid] : []), g.Name];
}

/**
 * useradd for a new account, usermod for one the packages already created (root, or a system user).
 * `defaultShell` is used when StartupCommand is absent (useradd's own default on Debian is /bin/sh).
 */
export function userArgs(u: User, where: string, existing: PasswdEntry | undefined, defaultShell: string): string[] {
  const uid = numericId(u.UID, 'UID', where);
  const opts: string[] = [];
  if (uid !== undefined && (!existing || existing.uid !== Number(uid))) opts.push('--uid', uid);
  if (u.PrimaryGroup) opts.push('--gid', u.PrimaryGroup);
  // usermod replaces the supplementary groups unless told to add to them
  if (u.SecondaryGroups?.length) opts.push(...(existing ? ['--append'] : []), '--groups', u.SecondaryGroups.join(','));
  const shell = u.StartupCommand ?? (existing ? undefined : defaultShell);
  if (shell) opts.push('--shell', shell);
  if (u.HomeDirectory) opts.push('--home', u.HomeDirectory);
  if (existing) {
    // move the home only when it changes (usermod --move-home on the same path fails)
    if (u.HomeDirectory && u.HomeDirectory !== existing.home) opts.push('--move-home');
    return ['usermod', ...opts, u.Name];
  }
  return ['useradd', '--create-home', ...opts, u.Name];
}

/** PasswordExpiresDays: 0-99999 days, or -1 for never (chage -M -1 removes the maximum). */
export function chageArgs(u: User, where: string): string[] | undefined {
  const days = u.PasswordExpiresDays;
  if (days === undefined) return undefined;
  if (!Number.isInteger(days) || days < -1 || days > 99999) {
    throw new KilnError(`${where}.PasswordExpiresDays: ${days} must be from 0 to 99999, or -1 for no expiration`);
  }
  return ['chage', '--maxdays', String(days), u.Name];
}

/** authorized_keys text: existing lines kept, new keys appended once, comments and blanks dropped from input. */
export function renderAuthorizedKeys(existing: string, keys: readonly string[]): string {
  const lines = existing.split('\n').filter((l) => l.trim() !== '');
  const seen = new Set(lines.map((l) => l.trim()));
  for (const raw of keys) {
    for (const k of raw.split('\n').map((l) => l.trim())) {
      if (!k || k.startsWith('#') || seen.has(k)) continue;
      assertNoControl(k, 'SSH public key');
      seen.add(k);
      lines.push(k);
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** A key line must look like an OpenSSH public key ("[options] type base64 [comment]"), on one line. */
export function looksLikePublicKey(line: string): boolean {
  return isPublicKeyLine(line);
}

/**
 * /etc/shadow with `user`'s password locked the way `usermod --lock` does it ("!" before the hash;
 * an empty password becomes "!", so nobody logs in without one). Pure, so images without
 * shadow-utils (containers) get a locked root too. Undefined when the user has no entry.
 */
export function lockPassword(shadow: string, user: string): string | undefined {
  let found = false;
  const out = shadow.split('\n').map((line) => {
    const f = line.split(':');
    if (f[0] !== user || f.length < 2) return line;
    found = true;
    if (!f[1]!.startsWith('!')) f[1] = `!${f[1]}`;
    return f.join(':');
  });
  return found ? out.join('\n') : undefined;
}

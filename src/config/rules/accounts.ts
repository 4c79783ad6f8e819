/**
 * Users and groups: names, ID ranges, uniqueness, password form. Upstream checks a user's Name
 * (not blank), UID (a number, 0-60000) and PasswordExpiresDays (schema); the rest, and every
 * group rule (upstream does not check groups), is Kiln's: a warning `kiln build` refuses, since
 * useradd/groupadd would fail on it or the account would not work.
 */
import type { SystemConfig } from '../model.js';
import type { Segment } from '../findings.js';
import type { RuleContext } from './context.js';

const MAX_ID = 60000;
const NAME = /^[a-z_][a-z0-9_.-]{0,31}$/i;
/** authorized_keys line: optional options are not allowed here, just "<type> <base64> [comment]". */
const SSH_KEY = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,2}( .*)?$/;

export function checkAccounts(ctx: RuleContext): void {
  ctx.config.SystemConfigs.forEach((sc, i) => {
    checkUsers(ctx, sc, ['SystemConfigs', i]);
    checkGroups(ctx, sc, ['SystemConfigs', i]);
  });
}

function checkUsers(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  const names = new Set<string>();
  const uids = new Map<number, string>();
  (sc.Users ?? []).forEach((u, i) => {
    const here: Segment[] = [...at, 'Users', i];
    if (u.Name.trim() === '') {
      ctx.report([...here, 'Name'], 'a user name must not be blank', 'give the user a name');
    } else if (!NAME.test(u.Name)) {
      ctx.kiln([...here, 'Name'], `"${u.Name}" is not a valid user name`, 'start with a letter or "_", then letters, digits, "_", "." or "-" (at most 32 characters)');
    }
    if (names.has(u.Name)) ctx.kiln([...here, 'Name'], `user "${u.Name}" is defined twice`, 'merge the two entries');
    names.add(u.Name);
    const uid = Number(u.UID);
    if (u.UID !== undefined && Number.isInteger(uid)) {
      if (uid > MAX_ID || uid < 0) {
        ctx.report([...here, 'UID'], `UID ${u.UID} is out of range`, `use a UID between 0 and ${MAX_ID}`);
      } else if (/^[+-]/.test(u.UID)) {
        ctx.kiln([...here, 'UID'], `UID "${u.UID}" has a sign`, `write it as "${uid}"`);
      } else if (u.Name === 'root' && uid !== 0) {
        ctx.kiln([...here, 'UID'], `root must have UID 0, not ${u.UID}`, 'remove the UID from root');
      } else if (uids.has(uid)) {
        ctx.kiln([...here, 'UID'], `UID ${u.UID} is already used by "${uids.get(uid)}"`, 'give each user its own UID');
      }
      uids.set(uid, u.Name);
    }
    if (u.PasswordHashed && u.Password !== undefined && !/^\$[0-9a-z]+\$/.test(u.Password)) {
      ctx.kiln([...here, 'Password'], 'PasswordHashed is true but Password is not a crypt(3) hash', 'generate one with `openssl passwd -6`, or set "PasswordHashed": false');
    }
    (u.SSHPubKeys ?? []).forEach((k, ki) => {
      if (!SSH_KEY.test(k.trim())) {
        ctx.kiln([...here, 'SSHPubKeys', ki], 'is not an OpenSSH public key line', 'paste the whole line of the .pub file: "<type> <base64> [comment]", e.g. "ssh-ed25519 AAAA... user@host"');
      }
    });
    if (u.HomeDirectory !== undefined && !u.HomeDirectory.startsWith('/')) {
      ctx.kiln([...here, 'HomeDirectory'], `home directory "${u.HomeDirectory}" is not absolute`, `use "/${u.HomeDirectory}"`);
    }
    // passwd fields are separated by ":" (line feeds and other control characters: rules/text.ts)
    for (const key of ['HomeDirectory', 'StartupCommand'] as const) {
      if (u[key]?.includes(':')) ctx.report([...here, key], `"${u[key]}" contains ":", the field separator of /etc/passwd`, 'remove the ":"');
    }
  });
}

function checkGroups(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  const names = new Set<string>();
  (sc.Groups ?? []).forEach((g, i) => {
    const here: Segment[] = [...at, 'Groups', i];
    if (g.Name !== '' && !NAME.test(g.Name)) ctx.kiln([...here, 'Name'], `"${g.Name}" is not a valid group name`, 'use letters, digits, "_", "." or "-", starting with a letter or "_"');
    if (names.has(g.Name)) ctx.kiln([...here, 'Name'], `group "${g.Name}" is defined twice`, 'merge the two entries');
    names.add(g.Name);
    if (g.GID !== undefined && Number(g.GID) > MAX_ID) ctx.kiln([...here, 'GID'], `GID ${g.GID} is out of range`, `use a GID between 0 and ${MAX_ID}`);
  });
}

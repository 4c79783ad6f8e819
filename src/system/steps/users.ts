import { readFile } from 'node:fs/promises';
import { confinedSource } from '../../config/containment.js';
import { KilnError } from '../../core/errors.js';
import type { User } from '../../config/model.js';
import { existsInRoot, mkdirInRoot, readInRoot, statInRoot, writeInRoot } from '../paths.js';
import { chageArgs, lockPassword, looksLikePublicKey, parseGroup, parsePasswd, renderAuthorizedKeys, userArgs } from '../render/users.js';
import { configPath, located } from '../where.js';
import type { SystemContext, SystemStep } from '../types.js';

/**
 * Users: account (useradd/usermod), password (SHA-512 crypt via chpasswd, on stdin),
 * expiry (chage), SSH keys (~/.ssh/authorized_keys, 700/600, owned by the user).
 * Root is locked unless the config gives it a password: an image never ships a usable empty root login.
 */
export const usersStep: SystemStep = {
  name: 'users',
  applies: () => true,
  async run(ctx) {
    const users = ctx.sc.Users ?? [];
    const defaultShell = (await existsInRoot(ctx.root, '/bin/bash')) ? '/bin/bash' : '/bin/sh';
    for (const [i, u] of users.entries()) {
      const where = `${configPath(ctx)}.Users[${i}]`;
      await checkGroups(ctx, u, where);
      const passwd = parsePasswd((await readInRoot(ctx.root, '/etc/passwd')) ?? '');
      const argv = located(ctx, () => userArgs(u, `Users[${i}]`, passwd.get(u.Name), defaultShell));
      if (argv.length > 2) await chrootOrExplain(ctx, argv, `${where}: creating user '${u.Name}'`);
      await setPassword(ctx, u, where);
      const chage = located(ctx, () => chageArgs(u, `Users[${i}]`));
      if (chage) await chrootOrExplain(ctx, chage, `${where}.PasswordExpiresDays`);
      await installKeys(ctx, u, where);
    }
    if (!users.some((u) => u.Name === 'root' && u.Password)) await lockRoot(ctx);
  },
};

async function chrootOrExplain(ctx: SystemContext, argv: string[], what: string, input?: string): Promise<void> {
  const r = await ctx.chroot(argv, { allowFailure: true, ...(input !== undefined ? { input } : {}) });
  if (r.code !== 0) {
    throw new KilnError(`${what}: ${argv[0]} failed (exit ${r.code})`, undefined, r.stderrTail.split('\n').map((l) => `  | ${l}`));
  }
}

async function checkGroups(ctx: SystemContext, u: User, where: string): Promise<void> {
  const groups = parseGroup((await readInRoot(ctx.root, '/etc/group')) ?? '');
  const wanted = [...(u.PrimaryGroup ? [['PrimaryGroup', u.PrimaryGroup]] : []), ...(u.SecondaryGroups ?? []).map((g, j) => [`SecondaryGroups[${j}]`, g])];
  for (const [key, name] of wanted) {
    if (!groups.has(name!) && !/^\d+$/.test(name!)) {
      throw new KilnError(`${where}.${key}: group '${name}' does not exist in the image; add it to Groups`);
    }
  }
}

/**
 * Clear passwords are hashed with SHA-512 crypt by the image's own chpasswd (--crypt-method SHA512;
 * Debian's PAM default would be yescrypt), reading "user:password" on stdin: the password is never in
 * argv or the build log, and only its $6$ hash lands in /etc/shadow.
 */
async function setPassword(ctx: SystemContext, u: User, where: string): Promise<void> {
  if (!u.Password) return;
  if (/[\n\r]/.test(u.Password)) throw new KilnError(`${where}.Password must be a single line`);
  if (u.PasswordHashed && !/^\$[0-9a-z]+\$/.test(u.Password)) {
    throw new KilnError(`${where}.Password: PasswordHashed is true but the value is not a crypt hash; generate one with \`openssl passwd -6\``);
  }
  const argv = u.PasswordHashed ? ['chpasswd', '--encrypted'] : ['chpasswd', '--crypt-method', 'SHA512'];
  await chrootOrExplain(ctx, argv, `${where}: setting the password of '${u.Name}'`, `${u.Name}:${u.Password}\n`);
  if (!u.PasswordHashed) {
    const entry = ((await readInRoot(ctx.root, '/etc/shadow')) ?? '').split('\n').find((l) => l.startsWith(`${u.Name}:`));
    if (!entry?.split(':')[1]?.startsWith('$6$')) throw new KilnError(`${where}: chpasswd did not store a SHA-512 crypt hash for '${u.Name}'`);
  }
}

async function installKeys(ctx: SystemContext, u: User, where: string): Promise<void> {
  // each line with where it came from: a message names the key and line number, never the line
  const lines: { text: string; from: string }[] = [];
  const add = (text: string, from: string) =>
    text.split('\n').forEach((l, n) => {
      const t = l.trim();
      if (t && !t.startsWith('#')) lines.push({ text: t, from: `${from}, line ${n + 1}` });
    });
  for (const [k, path] of (u.SSHPubKeyPaths ?? []).entries()) {
    const real = confinedSource(ctx.loaded, path, `${where}.SSHPubKeyPaths[${k}]`);
    let text: string;
    try {
      text = await readFile(real, 'utf8');
    } catch (e) {
      throw new KilnError(`${where}.SSHPubKeyPaths[${k}]: cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    add(text, `${where}.SSHPubKeyPaths[${k}] ('${path}')`);
  }
  (u.SSHPubKeys ?? []).forEach((key, k) => add(key, `${where}.SSHPubKeys[${k}]`));
  if (!lines.length) return;
  const bad = lines.find((l) => !looksLikePublicKey(l.text));
  if (bad) throw new KilnError(`${bad.from}: not an OpenSSH public key (expected e.g. "ssh-ed25519 AAAA... comment"; is it a private key?)`);
  const entry = parsePasswd((await readInRoot(ctx.root, '/etc/passwd')) ?? '').get(u.Name);
  if (!entry) throw new KilnError(`${where}: user '${u.Name}' is missing from the image's /etc/passwd`);
  // ~/.ssh and the file are created inside the image root: a home or .ssh that is a link is followed inside it
  await mkdirInRoot(ctx.root, `${entry.home}/.ssh`, { mode: 0o700, uid: entry.uid, gid: entry.gid });
  const file = `${entry.home}/.ssh/authorized_keys`;
  const text = renderAuthorizedKeys((await readInRoot(ctx.root, file)) ?? '', lines.map((l) => l.text));
  await writeInRoot(ctx.root, file, text, { mode: 0o600, uid: entry.uid, gid: entry.gid });
}

/** No root password in the config: root's password is locked (usermod --lock's edit, done here). */
async function lockRoot(ctx: SystemContext): Promise<void> {
  const shadow = await readInRoot(ctx.root, '/etc/shadow');
  if (shadow === undefined) return; // no shadow file: no password to lock
  const locked = lockPassword(shadow, 'root');
  if (locked === undefined || locked === shadow) return;
  const st = await statInRoot(ctx.root, '/etc/shadow');
  if (!st) return;
  await writeInRoot(ctx.root, '/etc/shadow', locked, { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
}

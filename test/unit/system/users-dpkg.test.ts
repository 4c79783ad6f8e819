import { describe, expect, it } from 'vitest';
import { chageArgs, groupaddArgs, looksLikePublicKey, parseGroup, parsePasswd, renderAuthorizedKeys, userArgs } from '../../../src/system/render/users.js';
import { dpkgExcludes, excludedBy, globToRegExp, localeRules } from '../../../src/system/render/dpkg-excludes.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBuYR6ajUaHVaRVax08spc/WUBhvyodaEEAUnurz4fFj alice@kiln-test';

describe('users and groups as shadow-tool argv', () => {
  it('creates a user with every option, home created', () => {
    expect(
      userArgs(
        { Name: 'alice', UID: '1234', PrimaryGroup: 'ops', SecondaryGroups: ['adm', 'share'], StartupCommand: '/bin/zsh', HomeDirectory: '/srv/alice' },
        'Users[0]',
        undefined,
        '/bin/bash',
      ),
    ).toEqual(['useradd', '--create-home', '--uid', '1234', '--gid', 'ops', '--groups', 'adm,share', '--shell', '/bin/zsh', '--home', '/srv/alice', 'alice']);
  });
  it('defaults the shell for new users only; modifies existing users (root) without --create-home', () => {
    expect(userArgs({ Name: 'bob' }, 'Users[1]', undefined, '/bin/bash')).toEqual(['useradd', '--create-home', '--shell', '/bin/bash', 'bob']);
    const root = { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/bash' };
    expect(userArgs({ Name: 'root' }, 'Users[0]', root, '/bin/bash')).toEqual(['usermod', 'root']);
    expect(userArgs({ Name: 'root', UID: '0', SecondaryGroups: ['adm'], HomeDirectory: '/home/root' }, 'Users[0]', root, '/bin/bash')).toEqual([
      'usermod', '--append', '--groups', 'adm', '--home', '/home/root', '--move-home', 'root',
    ]);
  });
  it('rejects a UID or GID outside 0-60000 naming the key', () => {
    expect(() => userArgs({ Name: 'x', UID: '70000' }, 'Users[3]', undefined, '/bin/sh')).toThrow(/Users\[3\]: UID '70000'/);
    expect(() => groupaddArgs({ Name: 'g', GID: 'abc' }, 'Groups[0]', false)).toThrow(/Groups\[0\]: GID 'abc'/);
  });
  it('adds groups, or only changes the GID of an existing one', () => {
    expect(groupaddArgs({ Name: 'ops', GID: '2345' }, 'Groups[0]', false)).toEqual(['groupadd', '--gid', '2345', 'ops']);
    expect(groupaddArgs({ Name: 'ops' }, 'Groups[0]', false)).toEqual(['groupadd', 'ops']);
    expect(groupaddArgs({ Name: 'adm', GID: '4' }, 'Groups[0]', true)).toEqual(['groupmod', '--gid', '4', 'adm']);
    expect(groupaddArgs({ Name: 'adm' }, 'Groups[0]', true)).toBeUndefined();
  });
  it('maps PasswordExpiresDays to chage --maxdays, -1 meaning never', () => {
    expect(chageArgs({ Name: 'a', PasswordExpiresDays: 90 }, 'Users[0]')).toEqual(['chage', '--maxdays', '90', 'a']);
    expect(chageArgs({ Name: 'a', PasswordExpiresDays: -1 }, 'Users[0]')).toEqual(['chage', '--maxdays', '-1', 'a']);
    expect(chageArgs({ Name: 'a' }, 'Users[0]')).toBeUndefined();
    expect(() => chageArgs({ Name: 'a', PasswordExpiresDays: 100000 }, 'Users[0]')).toThrow(/Users\[0\]\.PasswordExpiresDays/);
  });
  it('parses passwd and group files', () => {
    const p = parsePasswd('root:x:0:0:root:/root:/bin/bash\nalice:x:1234:2345::/srv/alice:/bin/bash\n');
    expect(p.get('alice')).toEqual({ name: 'alice', uid: 1234, gid: 2345, home: '/srv/alice', shell: '/bin/bash' });
    expect(parseGroup('adm:x:4:alice\nops:x:2345:\n').get('ops')).toBe(2345);
  });
  it('merges authorized keys without duplicates, dropping comments and blanks', () => {
    const text = renderAuthorizedKeys(`${KEY}\n`, [`# a comment\n${KEY}\n\n`, 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ bob']);
    expect(text).toBe(`${KEY}\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ bob\n`);
    expect(renderAuthorizedKeys('', [])).toBe('');
  });
  it('recognises OpenSSH public keys (with options) and nothing else', () => {
    expect(looksLikePublicKey(KEY)).toBe(true);
    expect(looksLikePublicKey(`restrict,command="uptime" ${KEY}`)).toBe(true);
    expect(looksLikePublicKey('-----BEGIN OPENSSH PRIVATE KEY-----')).toBe(false);
    expect(looksLikePublicKey('alice')).toBe(false);
  });
});

describe('dpkg path filters for DisableRpmDocs / OverrideRpmLocales', () => {
  it('is nothing when neither key is set (or locales are "all")', () => {
    expect(dpkgExcludes({ Name: 'x' })).toBeUndefined();
    expect(dpkgExcludes({ Name: 'x', OverrideRpmLocales: 'all' })).toBeUndefined();
  });
  it('drops docs but keeps copyright files', () => {
    const drop = excludedBy(dpkgExcludes({ Name: 'x', DisableRpmDocs: true })!);
    expect(drop('/usr/share/doc/bash/README.gz')).toBe(true);
    expect(drop('/usr/share/man/man1/ls.1.gz')).toBe(true);
    expect(drop('/usr/share/info/dir')).toBe(true);
    expect(drop('/usr/share/doc/bash/copyright')).toBe(false);
    expect(drop('/usr/share/locale/fr/LC_MESSAGES/bash.mo')).toBe(false);
    expect(drop('/usr/bin/bash')).toBe(false);
  });
  it('upstream RemoveDocs (SystemConfig or PartitionSetting) drops docs like DisableRpmDocs', () => {
    expect(dpkgExcludes({ Name: 'x', RemoveDocs: true })).toContain('path-exclude=/usr/share/doc/*');
    expect(dpkgExcludes({ Name: 'x', PartitionSettings: [{ ID: 'root', RemoveDocs: true }] })).toContain('path-exclude=/usr/share/man/*');
  });
  it('NONE drops every locale except locale.alias', () => {
    const drop = excludedBy(dpkgExcludes({ Name: 'x', OverrideRpmLocales: 'NONE' })!);
    expect(drop('/usr/share/locale/fr/LC_MESSAGES/bash.mo')).toBe(true);
    expect(drop('/usr/share/locale/locale.alias')).toBe(false);
    expect(drop('/usr/share/doc/bash/README')).toBe(false);
  });
  it('a language list keeps those languages and their regional variants only', () => {
    const drop = excludedBy(dpkgExcludes({ Name: 'x', OverrideRpmLocales: 'en:pt_BR' })!);
    expect(drop('/usr/share/locale/en/LC_MESSAGES/a.mo')).toBe(false);
    expect(drop('/usr/share/locale/en_GB/LC_MESSAGES/a.mo')).toBe(false);
    expect(drop('/usr/share/locale/en@quot/LC_MESSAGES/a.mo')).toBe(false);
    expect(drop('/usr/share/locale/pt_BR/LC_MESSAGES/a.mo')).toBe(false);
    expect(drop('/usr/share/locale/pt/LC_MESSAGES/a.mo')).toBe(false); // pt_BR keeps its language
    expect(drop('/usr/share/locale/pt_PT/LC_MESSAGES/a.mo')).toBe(true);
    expect(drop('/usr/share/locale/eo/LC_MESSAGES/a.mo')).toBe(true);
  });
  it('rejects a value that is no locale list', () => {
    expect(() => localeRules('en:../../etc')).toThrow(/OverrideRpmLocales: '..\/..\/etc'/);
  });
  it('matches globs like dpkg (fnmatch without FNM_PATHNAME)', () => {
    expect(globToRegExp('/usr/share/doc/*').test('/usr/share/doc/a/b/c')).toBe(true);
    expect(globToRegExp('/a/?.[ch]').test('/a/x.c')).toBe(true);
    expect(globToRegExp('/a/[!x]').test('/a/x')).toBe(false);
    expect(globToRegExp('/a.b').test('/axb')).toBe(false);
  });
});

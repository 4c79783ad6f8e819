/** The config on the ISO: clear passwords hashed (real openssl), URL credentials and passphrases removed. */
import { describe, expect, it } from 'vitest';
import { output } from '../../../src/core/exec.js';
import { sanitizedConfigText, sha512Crypt } from '../../../src/iso/config-copy.js';

const CONFIG = {
  SystemConfigs: [
    {
      Name: 'a',
      Users: [
        { Name: 'root', Password: 'clear text pw' },
        { Name: 'bob', Password: '$6$salt$hash', PasswordHashed: true },
        { Name: 'nopw' },
      ],
      PackageRepos: [{ Name: 'r', BaseUrl: 'https://u:repo-pass@h/debian', Suite: 'bookworm' }],
      Encryption: { Enable: false, Password: 'luks passphrase' },
    },
  ],
};

describe('the config copied onto the ISO', () => {
  it('holds no clear-text secret, and the hash verifies', async () => {
    const text = await sanitizedConfigText(JSON.stringify(CONFIG), '/x/c.json');
    for (const secret of ['clear text pw', 'repo-pass', 'luks passphrase', 'u:']) expect(text).not.toContain(secret);
    const doc = JSON.parse(text) as typeof CONFIG;
    const [root, bob, nopw] = doc.SystemConfigs[0]!.Users;
    expect(root).toMatchObject({ Name: 'root', PasswordHashed: true });
    expect(root!.Password).toMatch(/^\$6\$/);
    const salt = root!.Password!.split('$')[2]!;
    expect(await output('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], { input: 'clear text pw\n' })).toBe(root!.Password);
    expect(bob).toEqual(CONFIG.SystemConfigs[0]!.Users[1]);
    expect(nopw).toEqual({ Name: 'nopw' });
    expect(doc.SystemConfigs[0]!.PackageRepos[0]!.BaseUrl).toBe('https://h/debian');
    expect(doc.SystemConfigs[0]!.Encryption).toEqual({ Enable: false });
  });

  it('stays YAML for a YAML config', async () => {
    const text = await sanitizedConfigText('SystemConfigs:\n  - Name: a\n    Users:\n      - Name: root\n        Password: pw123456\n', '/x/c.yaml', async () => '$6$s$h');
    expect(text).toContain('PasswordHashed: true');
    expect(text).not.toContain('pw123456');
  });

  it('hashes with a fresh salt each time', async () => {
    expect(await sha512Crypt('x')).not.toBe(await sha512Crypt('x'));
  });
});

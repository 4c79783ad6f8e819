import { afterEach, describe, expect, it } from 'vitest';
import { clearSecrets, redactSecrets, redactUrl, registerSecret, splitCredentials } from '../../../src/core/credentials.js';
import { formatCommand } from '../../../src/core/exec.js';
import { CommandError } from '../../../src/core/errors.js';

describe('splitCredentials', () => {
  it('separates user and password from the URL', () => {
    expect(splitCredentials('https://user:pass@repo.example/debian')).toEqual({ url: 'https://repo.example/debian', username: 'user', password: 'pass' });
  });
  it('decodes percent-escapes and keeps ports and paths', () => {
    expect(splitCredentials('http://bot%40corp:p%3Ass%2Fw@10.0.0.1:8080/a/b?x=1')).toEqual({ url: 'http://10.0.0.1:8080/a/b?x=1', username: 'bot@corp', password: 'p:ss/w' });
  });
  it('handles a user without password, and a token as password only', () => {
    expect(splitCredentials('https://token@h/p')).toEqual({ url: 'https://h/p', username: 'token' });
    expect(splitCredentials('https://:tok@h/p')).toEqual({ url: 'https://h/p', password: 'tok' });
  });
  it('leaves URLs without credentials alone', () => {
    for (const u of ['https://h/p', 'file:///srv/repo', 'http://h/p?a=b@c', 'http://h/~user@x/']) expect(splitCredentials(u)).toEqual({ url: u });
  });
});

describe('redaction', () => {
  afterEach(() => clearSecrets());
  it('masks URL credentials anywhere in a text', () => {
    expect(redactUrl('https://u:p@h/x')).toBe('https://***@h/x');
    expect(redactSecrets('deb [trusted=yes] https://u:p@h/x bookworm main; see http://h2/y and mail a@b')).toBe('deb [trusted=yes] https://***@h/x bookworm main; see http://h2/y and mail a@b');
  });
  it('masks registered secrets of 6 characters or more', () => {
    registerSecret('hunter22');
    registerSecret('root'); // too short to search for: ordinary words would disappear
    expect(redactSecrets('password hunter22 for root')).toBe('password *** for root');
  });
  it('applies to logged command lines and to command errors', () => {
    registerSecret('s3cr3t-token');
    expect(formatCommand('curl', ['-u', 'me:s3cr3t-token', 'https://a:b@h/'])).toBe('curl -u me:*** https://***@h/');
    const e = new CommandError('curl', ['https://a:b@h/', 's3cr3t-token'], 1, 'auth failed for s3cr3t-token');
    expect(`${e.message}\n${e.details.join('\n')}`).not.toMatch(/s3cr3t|a:b@/);
  });
});

import { describe, expect, it } from 'vitest';
import { checkHostname, checkPassword, checkUserName, parseChoice } from '../../../src/installer/answers.js';

describe('installer answers', () => {
  it('accepts RFC 1123 host names and rejects the rest with a reason', () => {
    expect(checkHostname('kiln-box')).toBeUndefined();
    expect(checkHostname('web1.example.org')).toBeUndefined();
    expect(checkHostname('')).toMatch(/empty/);
    expect(checkHostname('-bad')).toMatch(/not a valid host name label/);
    expect(checkHostname('bad-')).toMatch(/not a valid/);
    expect(checkHostname('under_score')).toMatch(/not a valid/);
    expect(checkHostname('a'.repeat(64))).toMatch(/63/);
    expect(checkHostname('a..b')).toMatch(/not a valid/);
  });

  it('accepts Debian user names, refuses system accounts and odd characters', () => {
    expect(checkUserName('alice')).toBeUndefined();
    expect(checkUserName('dev_ops-2')).toBeUndefined();
    expect(checkUserName('root')).toMatch(/system account/);
    expect(checkUserName('Alice')).toMatch(/lower-case/);
    expect(checkUserName('1abc')).toMatch(/lower-case/);
    expect(checkUserName('a b')).toMatch(/only/);
    expect(checkUserName('')).toMatch(/empty/);
    expect(checkUserName('a'.repeat(33))).toMatch(/32/);
  });

  it('wants two equal passwords of 8+ characters without ":" or line breaks', () => {
    expect(checkPassword('correct horse', 'correct horse')).toBeUndefined();
    expect(checkPassword('short', 'short')).toMatch(/at least 8/);
    expect(checkPassword('longenough', 'longenougH')).toMatch(/differ/);
    expect(checkPassword('with:colon', 'with:colon')).toMatch(/":"/);
  });

  it('parses menu choices, empty meaning the default', () => {
    expect(parseChoice('', 3)).toBe(0);
    expect(parseChoice('', 3, 2)).toBe(2);
    expect(parseChoice(' 2 ', 3)).toBe(1);
    expect(parseChoice('4', 3)).toBe('type a number from 1 to 3');
    expect(parseChoice('0', 3)).toMatch(/1 to 3/);
    expect(parseChoice('x', 3)).toMatch(/1 to 3/);
    expect(parseChoice('1.5', 3)).toMatch(/1 to 3/);
  });
});

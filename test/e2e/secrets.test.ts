/**
 * Secrets in a config stay out of everything a build leaves: packages come from a mirror that
 * demands a password (given in the repository URL), and neither that password nor a user's clear
 * password appears in the build log, the manifest, the console or the image; logs are 0600, the
 * output and log directories 0700.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type RunResult } from '../../src/core/exec.js';
import { KILN } from './lib/images.js';
import { startAuthMirror, type AuthMirror } from './lib/auth-mirror.js';
import { e2eWorkDir } from './lib/workdir.js';

const REPO_USER = 'kiln-deploy';
const REPO_PASSWORD = 'Mirr0r-S3cret!';
const USER_PASSWORD = 'Us3r-Clear-Pw';

describe('a build from a password-protected mirror', () => {
  let mirror: AuthMirror;
  let out: string;
  let result: RunResult;
  const name = 'private-mirror';

  beforeAll(async () => {
    // a fixed port keeps the package-lists cache key the same from run to run
    mirror = await startAuthMirror(REPO_USER, REPO_PASSWORD, 47613).catch(() => startAuthMirror(REPO_USER, REPO_PASSWORD));
    out = join(e2eWorkDir(), 'secrets');
    const config = join(e2eWorkDir(), `${name}.json`);
    const base = `http://${REPO_USER}:${encodeURIComponent(REPO_PASSWORD)}@127.0.0.1:${mirror.port}/debian`;
    writeFileSync(
      config,
      JSON.stringify({
        SystemConfigs: [
          {
            Name: 'private',
            Distro: { Name: 'debian', Release: 'bookworm' },
            Packages: ['passwd'],
            Users: [{ Name: 'root', Password: USER_PASSWORD }],
            PackageRepos: [{ Name: 'private', BaseUrl: base, Suite: 'bookworm', GPGCheck: true }],
          },
        ],
      }),
    );
    result = await run(KILN, ['build', config, '--out', out, '--keep-raw'], { allowFailure: true, captureStdout: true });
  });
  afterAll(async () => {
    await mirror?.close();
  });

  it('succeeds, with apt authenticating through auth.conf', () => {
    expect(result.code, result.stderrTail).toBe(0);
    expect(mirror.served).toBeGreaterThan(0);
  });

  it('leaves the secrets in no log, manifest, console output or file of the image', async () => {
    const places = [join(out, 'logs'), join(out, 'images', name)];
    for (const secret of [REPO_PASSWORD, encodeURIComponent(REPO_PASSWORD), USER_PASSWORD]) {
      const grep = await run('grep', ['-rlF', '--devices=skip', secret, ...places], { allowFailure: true });
      expect(grep.stdout, `${secret} found in`).toBe('');
      expect(`${result.stdout}${result.stderrTail}`).not.toContain(secret);
    }
  });

  it('keeps the repository in the image without its credentials, and no trace of the auth file', () => {
    const tree = join(out, 'images', name, `${name}.rootfs`);
    const sources = readFileSync(join(tree, 'etc/apt/sources.list'), 'utf8');
    expect(sources).toContain(`http://127.0.0.1:${mirror.port}/debian bookworm main`);
    expect(sources).not.toContain(REPO_USER);
    expect(readFileSync(join(tree, 'etc/apt/apt.conf.d/99mmdebstrap'), 'utf8')).not.toMatch(/netrc/);
    expect(readFileSync(join(tree, 'etc/shadow'), 'utf8')).toMatch(/^root:\$6\$/m);
  });

  it('writes logs 0600 in 0700 directories', () => {
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(join(out, 'logs', `${name}.log`))).toBe(0o600);
    expect(mode(join(out, 'logs'))).toBe(0o700);
    expect(mode(join(out, 'images', name))).toBe(0o700);
    expect(mode(out)).toBe(0o700);
  });
});

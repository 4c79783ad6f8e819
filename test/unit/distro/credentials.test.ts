/**
 * Repository credentials on Debian: never in a source line (logged, written into the image), but in
 * an apt_auth.conf that apt reads through Dir::Etc::netrc — checked against apt itself and a local
 * HTTP server that demands basic authentication.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../src/core/exec.js';
import { aptDownloadConfig, mmdebstrapArgs } from '../../../src/distro/debian/mmdebstrap.js';
import { authConf, repoLines } from '../../../src/distro/debian/sources.js';
import { azurelinux } from '../../../src/distro/catalog/azurelinux.js';
import { renderRepoFile, rpmRepos } from '../../../src/distro/rpm/repos.js';

const REPO = { Name: 'private', BaseUrl: 'https://deploy:t0k%20en@repo.example:8443/debian/', Suite: 'bookworm' };

describe('Debian repository credentials', () => {
  it('keep the user name and password out of the source line', () => {
    const [line] = repoLines([{ ...REPO, BaseUrl: 'https://deploy:tok@repo.example:8443/debian/' }], 'bookworm');
    expect(line).toBe('deb https://repo.example:8443/debian/ bookworm main');
  });

  it('go into an auth.conf entry naming scheme, host, port and path', () => {
    expect(authConf([{ ...REPO, BaseUrl: 'http://deploy:p%40ss@repo.example/debian/' }, { Name: 'open', BaseUrl: 'http://deb.debian.org/debian', Suite: 'bookworm' }])).toBe(
      'machine http://repo.example/debian login deploy password p@ss\n',
    );
    expect(authConf([{ Name: 'open', BaseUrl: 'http://deb.debian.org/debian' }])).toBeUndefined();
  });

  it('with white space cannot be expressed in auth.conf and are refused', () => {
    expect(() => authConf([REPO])).toThrow(/white space/);
  });

  it('reach only the download phase\'s own apt configuration as Dir::Etc::netrc, never an mmdebstrap option', () => {
    const conf = aptDownloadConfig({ dir: '/w/apt', lists: '/w/l', archives: '/w/a', netrc: '/w/apt-auth.conf' }, 'amd64');
    expect(conf.split('\n')).toContain('Dir::Etc::netrc "/w/apt-auth.conf";');
    expect(aptDownloadConfig({ dir: '/w/apt', lists: '/w/l', archives: '/w/a' }, 'amd64')).not.toContain('netrc');
    // mmdebstrap (which would copy --aptopt lines into the image's apt.conf.d) is never told about it
    expect(mmdebstrapArgs({ root: '/w/root', release: 'bookworm', packages: [], sources: [], eatmydata: false }).join(' ')).not.toContain('netrc');
  });

  it('written as auth.conf are used by apt (basic authentication against a local server)', async () => {
    const server = createServer((req, res) => {
      const ok = req.headers.authorization === `Basic ${Buffer.from('deploy:s3cret!').toString('base64')}`;
      res.writeHead(ok ? 200 : 401, ok ? {} : { 'WWW-Authenticate': 'Basic realm="kiln"' });
      res.end(ok ? 'package index\n' : 'denied\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'kiln-auth-'));
    try {
      const netrc = join(dir, 'auth.conf');
      writeFileSync(netrc, authConf([{ Name: 'p', BaseUrl: `http://deploy:s3cret%21@127.0.0.1:${port}/debian` }])!, { mode: 0o600 });
      const get = (extra: string[]) =>
        run('/usr/lib/apt/apt-helper', ['-o', 'APT::Sandbox::User=root', ...extra, 'download-file', `http://127.0.0.1:${port}/debian/dists/x/InRelease`, join(dir, 'out')], { allowFailure: true });
      expect((await get([])).code).not.toBe(0);
      const r = await get(['-o', `Dir::Etc::netrc=${netrc}`]);
      expect(r.code, r.stderrTail).toBe(0);
      expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('package index\n');
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RPM repository credentials', () => {
  it('go as username=/password= into the build\'s own repo file only, never the image\'s', () => {
    const [r] = rpmRepos(azurelinux, '3.0', [{ Name: 'p', BaseUrl: 'https://bot:pa%24s@rpm.example/base', GPGCheck: false, Install: true }]);
    expect(r).toMatchObject({ baseurl: 'https://rpm.example/base', username: 'bot', password: 'pa$s' });
    const build = renderRepoFile(r!, { credentials: true });
    expect(build).toContain('baseurl=https://rpm.example/base\n');
    expect(build).toContain('username=bot\npassword=pa$s\n');
    const image = renderRepoFile(r!);
    expect(image).not.toMatch(/bot|pa\$s/);
  });
});

describe('apt download failures', () => {
  it('are named: unreachable repositories, or a repository that changed during the build', async () => {
    const { fetchProblem } = await import('../../../src/distro/debian/index.js');
    expect(fetchProblem(["E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'"])?.message).toBe('the package repositories cannot be reached');
    expect(fetchProblem(['E: Failed to fetch http://127.0.0.1:8/repo/pool/kiln-fault-probe_1.0_all.deb  404  Not Found [IP: 127.0.0.1 8]'])?.message).toMatch(/changed while the build ran/);
    expect(fetchProblem(['E: Unable to locate package x'])).toBeUndefined();
  });
});

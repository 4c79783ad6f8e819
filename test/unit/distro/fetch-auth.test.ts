/**
 * The tree cache's repository snapshot reads InRelease / repomd.xml of repositories that need
 * credentials: they reach apt's helper as a private auth.conf, never as part of the URL.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { authFor, fetchText } from '../../../src/distro/fetch.js';
import { authConf, authSources } from '../../../src/distro/debian/sources.js';
import { splitCredentials } from '../../../src/core/credentials.js';

describe('fetchText with repository credentials', () => {
  it('authenticates with the auth.conf text it is given, and fails without it', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      const ok = req.headers.authorization === `Basic ${Buffer.from('deploy:s3cret!').toString('base64')}`;
      res.writeHead(ok ? 200 : 401, ok ? {} : { 'WWW-Authenticate': 'Basic realm="kiln"' });
      res.end(ok ? 'Origin: test\n' : 'denied\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`;
    try {
      const url = `${root}/dists/x/InRelease`;
      expect(await fetchText(url)).toBeUndefined();
      // the Debian backend's text (PackageRepos credentials) and the RPM backend's (split repo fields)
      const debian = authConf(authSources([{ Name: 'p', BaseUrl: `http://deploy:s3cret%21@${root.slice('http://'.length)}` }]));
      expect(await fetchText(url, debian)).toBe('Origin: test\n');
      const { url: bare, username, password } = splitCredentials(`http://deploy:s3cret%21@${root.slice('http://'.length)}/`);
      expect(await fetchText(`${bare}repodata/repomd.xml`, authFor([{ url: bare, username: username!, password: password! }]))).toBe('Origin: test\n');
      expect(authFor([{ url: bare }])).toBeUndefined();
      expect(seen.every((u) => !u.includes('s3cret'))).toBe(true);
    } finally {
      server.close();
    }
  });
});

/**
 * A Debian mirror that demands a password: a small HTTP proxy on 127.0.0.1 in front of the host's
 * mirror that answers 401 to any request without the expected basic-authentication header. Used to
 * check that repository credentials reach apt (through auth.conf) and nothing else.
 */
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostDebianUris, DEFAULT_MIRROR } from '../../../src/distro/debian/sources.js';

export interface AuthMirror {
  /** http://127.0.0.1:PORT/debian (no credentials) */
  url: string;
  port: number;
  /** Requests answered with content (authenticated) and refused (401). */
  served: number;
  refused: number;
  close(): Promise<void>;
}

const PASSED_HEADERS = ['if-modified-since', 'if-none-match', 'range', 'if-range', 'user-agent'];

export async function startAuthMirror(user: string, password: string, port = 0): Promise<AuthMirror> {
  const upstream = new URL(hostDebianUris().mirror ?? DEFAULT_MIRROR);
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const stats = { served: 0, refused: 0 };
  const server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      stats.refused++;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="kiln test mirror"' }).end('authentication required\n');
      return;
    }
    stats.served++;
    const headers: IncomingHttpHeaders = {};
    for (const h of PASSED_HEADERS) if (req.headers[h]) headers[h] = req.headers[h];
    const path = (req.url ?? '/').replace(/^\/debian/, '');
    const up = request({ host: upstream.hostname, port: upstream.port || 80, path: `${upstream.pathname.replace(/\/$/, '')}${path}`, method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => res.writeHead(502).end(e.message));
    up.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/debian`,
    port: actual,
    get served() {
      return stats.served;
    },
    get refused() {
      return stats.refused;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

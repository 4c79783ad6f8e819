/** /etc/hostname and /etc/hosts, Debian layout (the host name on 127.0.1.1, as debian-installer writes it). */
import { assertNoControl } from '../../core/safe-text.js';

/** What an image without Hostname gets: never the build machine's name (mmdebstrap copies it in). */
export const DEFAULT_HOSTNAME = 'localhost';

export function renderHostname(hostname: string): string {
  assertNoControl(hostname, 'Hostname');
  return `${hostname}\n`;
}

export function renderHosts(hostname: string): string {
  assertNoControl(hostname, 'Hostname');
  const short = hostname.split('.')[0] ?? hostname;
  const names = hostname === DEFAULT_HOSTNAME ? '' : `127.0.1.1\t${hostname === short ? hostname : `${hostname} ${short}`}\n`;
  return (
    '127.0.0.1\tlocalhost\n' +
    names +
    '\n# The following lines are desirable for IPv6 capable hosts\n' +
    '::1\tlocalhost ip6-localhost ip6-loopback\n' +
    'ff02::1\tip6-allnodes\n' +
    'ff02::2\tip6-allrouters\n'
  );
}

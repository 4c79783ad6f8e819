/** Networks, package repositories and the Distro extension. */
import { isIP } from 'node:net';
import { findDistro, findRelease, releaseSpellings } from '../../distro/catalog/index.js';
import type { SystemConfig } from '../model.js';
import type { Segment } from '../findings.js';
import type { RuleContext } from './context.js';

export function checkNetworkAndRepos(ctx: RuleContext): void {
  ctx.config.SystemConfigs.forEach((sc, i) => {
    const at: Segment[] = ['SystemConfigs', i];
    checkDistro(ctx, sc, at);
    checkNetworks(ctx, sc, at);
    checkRepos(ctx, sc, at);
  });
}

function checkDistro(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  const d = sc.Distro;
  const info = findDistro(d?.Name);
  if (!d || !info || d.Release === undefined) return; // unknown names are a schema finding
  if (!findRelease(info, d.Release)) {
    ctx.report([...at, 'Distro', 'Release'], `"${d.Release}" is not a supported ${info.name} release`, `supported: ${releaseSpellings(info).join(', ')}`);
  }
}

function checkNetworks(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  (sc.Networks ?? []).forEach((n, i) => {
    const here: Segment[] = [...at, 'Networks', i];
    for (const key of ['Ip', 'GateWay'] as const) {
      const v = n[key];
      if (v !== undefined && v !== '' && isIP(v) === 0) ctx.report([...here, key], `"${v}" is not an IP address`, 'use an IPv4 or IPv6 address, e.g. 192.168.1.10');
    }
    (n.NameServers ?? []).forEach((v, k) => {
      if (isIP(v) === 0) ctx.report([...here, 'NameServers', k], `"${v}" is not an IP address`, 'name servers are given by address');
    });
    if (n.NetMask !== undefined && n.NetMask !== '' && !isNetmask(n.NetMask)) {
      ctx.report([...here, 'NetMask'], `"${n.NetMask}" is not a netmask`, 'use a dotted mask such as 255.255.255.0');
    }
    if (n.BootProto === 'static' && !n.Ip) ctx.report([...here, 'Ip'], 'a static network needs an Ip', 'add "Ip", or use "BootProto": "dhcp"');
    if (n.Device !== undefined && !/^[A-Za-z0-9_.:-]{1,15}$/.test(n.Device)) {
      ctx.report([...here, 'Device'], `"${n.Device}" is not a valid interface name`, 'interface names have 1-15 characters without spaces or "/"');
    }
  });
}

function isNetmask(mask: string): boolean {
  if (isIP(mask) !== 4) return false;
  const bits = mask.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits);
}

function checkRepos(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  const family = ctx.rules(sc).family;
  const names = new Set<string>();
  (sc.PackageRepos ?? []).forEach((r, i) => {
    const here: Segment[] = [...at, 'PackageRepos', i];
    if (names.has(r.Name)) ctx.report([...here, 'Name'], `repository name "${r.Name}" is used twice`, 'give each repository a unique Name');
    names.add(r.Name);
    if (!/^(https?|file|ftp):\/\/\S+$/.test(r.BaseUrl)) {
      ctx.report([...here, 'BaseUrl'], `"${r.BaseUrl}" is not a repository URL`, 'use an http(s)://, ftp:// or file:// URL');
    }
    if (family === 'debian' && r.Suite === undefined) {
      ctx.report([...here], 'a Debian repository needs a Suite', 'add "Suite": "bookworm" (and optionally "Components": ["main"])');
    }
    if (family === 'rpm') {
      for (const key of ['Suite', 'Components', 'SignedBy'] as const) {
        if (r[key] !== undefined) ctx.report([...here, key], `"${key}" describes Debian repositories; this SystemConfig builds an RPM distribution`, 'remove it, or set "Distro": {"Name": "debian"}');
      }
    }
    if (family === 'debian' && r.GPGKeys !== undefined) {
      ctx.report([...here, 'GPGKeys'], 'GPGKeys is for RPM repositories; Debian repositories name their keyring in SignedBy', 'use "SignedBy": "path/to/keyring.gpg"');
    }
  });
}

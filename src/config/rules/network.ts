/**
 * Networks, package repositories and the Distro extension. Upstream's rules (Network.IsValid,
 * PackageRepo.IsValid, unique repo names) are errors; Kiln's stricter forms (a contiguous netmask,
 * an interface name, an http/ftp/file URL) are warnings `kiln build` refuses.
 */
import { isIP } from 'node:net';
import { findDistro, findRelease, releaseSpellings } from '../../distro/catalog/index.js';
import type { SystemConfig } from '../model.js';
import type { Segment } from '../findings.js';
import type { RuleContext } from './context.js';
import { hasControlCharacter } from './disks.js';

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

/** Go's net.ParseIP: an IPv4 or IPv6 address without a zone. */
const isIpAddress = (v: string) => isIP(v) !== 0 && !v.includes('%');

function checkNetworks(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  (sc.Networks ?? []).forEach((n, i) => {
    const here: Segment[] = [...at, 'Networks', i];
    // upstream: an address may be empty only for DHCP (or an unset BootProto); otherwise it must parse
    const proto: string = n.BootProto ?? '';
    const mayBeEmpty = proto === '' || proto === 'dhcp';
    for (const key of ['Ip', 'NetMask', 'GateWay'] as const) {
      const v = n[key];
      if (v === undefined) {
        if (!mayBeEmpty) ctx.report([...here, key], `a "${proto}" network needs ${key === 'Ip' ? 'an Ip' : `a ${key}`}`, `add "${key}", or use "BootProto": "dhcp"`);
      } else if (!isIpAddress(v)) {
        ctx.report([...here, key], `"${v}" is not an IP address`, key === 'NetMask' ? 'use a dotted mask such as 255.255.255.0' : 'use an IPv4 or IPv6 address, e.g. 192.168.1.10');
      } else if (key === 'NetMask' && !isNetmask(v)) {
        ctx.kiln([...here, key], `"${v}" is not a netmask (its bits are not contiguous)`, 'use a dotted mask such as 255.255.255.0');
      }
    }
    (n.NameServers ?? []).forEach((v, k) => {
      if (v === '' ? !mayBeEmpty : !isIpAddress(v)) ctx.report([...here, 'NameServers', k], `"${v}" is not an IP address`, 'name servers are given by address');
    });
    if (n.Device === undefined) {
      ctx.report(here, 'a network needs a Device', 'name the interface, e.g. "Device": "eth0"');
    } else if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(n.Device)) {
      ctx.kiln([...here, 'Device'], `"${n.Device}" is not a valid interface name`, 'interface names have 1-15 characters without spaces or "/"');
    }
  });
}

/**
 * Go's url.ParseRequestURI, as upstream checks BaseUrl: an absolute URI (scheme:...) or an
 * absolute path; no control characters; a host without characters a host cannot have; % escapes
 * well formed.
 */
export function isRequestUri(u: string): boolean {
  if (u === '' || hasControlCharacter(u) || /%(?![0-9a-fA-F]{2})/.test(u)) return false;
  if (u.startsWith('/')) return true;
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:(.*)$/s.exec(u);
  if (!m) return false;
  const rest = m[1]!;
  if (!rest.startsWith('//')) return true;
  const authority = rest.slice(2).split(/[/?#]/, 1)[0]!;
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  return /^[A-Za-z0-9!$&'()*+,;=:[\]<>"\-_.~%]*$/.test(host);
}

function isNetmask(mask: string): boolean {
  if (isIP(mask) !== 4) return false;
  const bits = mask.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits);
}

/** Upstream's default GPGKeys (PackageRepo): a repo with other keys brings custom keys. */
const DEFAULT_GPG_KEYS = 'file:///etc/pki/rpm-gpg/MICROSOFT-RPM-GPG-KEY file:///etc/pki/rpm-gpg/MICROSOFT-METADATA-GPG-KEY';

function checkRepos(ctx: RuleContext, sc: SystemConfig, at: Segment[]): void {
  const family = ctx.rules(sc).family;
  const names = new Set<string>();
  (sc.PackageRepos ?? []).forEach((r, i) => {
    const here: Segment[] = [...at, 'PackageRepos', i];
    if (r.Name.trim() === '') ctx.report([...here, 'Name'], 'a repository Name must not be blank', 'name the repository');
    else if (names.has(r.Name)) ctx.report([...here, 'Name'], `repository name "${r.Name}" is used twice`, 'give each repository a unique Name');
    names.add(r.Name);
    if (r.BaseUrl.trim() === '' || !isRequestUri(r.BaseUrl)) {
      ctx.report([...here, 'BaseUrl'], `"${r.BaseUrl}" is not a repository URL`, 'use an http(s)://, ftp:// or file:// URL');
    } else if (!/^(https?|file|ftp):\/\/\S+$/.test(r.BaseUrl)) {
      ctx.kiln([...here, 'BaseUrl'], `"${r.BaseUrl}" is not an http(s)://, ftp:// or file:// URL`, 'Kiln fetches packages from http(s), ftp and file URLs');
    }
    // upstream: custom keys with GPGCheck on work only for repos installed into the image
    if (family === 'rpm' && r.GPGCheck !== false && r.GPGKeys !== undefined && r.GPGKeys !== DEFAULT_GPG_KEYS) {
      if (!r.Install) {
        ctx.report([...here, 'GPGKeys'], 'custom GPG keys are only supported for repositories that are installed ("Install": true)', 'ISO installers cannot use custom keys: set "Install": true and provision the keys with AdditionalFiles, or remove GPGKeys');
      } else {
        ctx.report([...here, 'GPGKeys'], 'with custom GPG keys the repository file is not usable in an ISO installer', 'provision the keys with AdditionalFiles', 'warning');
      }
    }
    // one-line apt sources are split on blanks: a blank would add a component or option of its own
    if (r.Suite !== undefined && /\s/.test(r.Suite)) ctx.report([...here, 'Suite'], `suite "${r.Suite}" contains a blank`, 'a suite is one word, e.g. "bookworm"; list components in "Components"');
    (r.Components ?? []).forEach((c, ci) => {
      if (/\s/.test(c) || c === '') ctx.report([...here, 'Components', ci], `component "${c}" is empty or contains a blank`, 'give one component per entry, e.g. ["main", "contrib"]');
    });
    if (r.SignedBy !== undefined && /[\s\]]/.test(r.SignedBy)) ctx.report([...here, 'SignedBy'], 'the keyring path contains a blank or "]", which apt source options cannot hold', 'rename the keyring file or its directory');
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

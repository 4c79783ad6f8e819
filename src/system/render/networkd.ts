import { KilnError } from '../../core/errors.js';
import type { Network } from '../../config/model.js';

/**
 * Networks (kickstart-style: bootproto, ip, netmask, gateway, DNS, device, onboot) as
 * systemd-networkd .network units, one per entry, numbered so the config's order is the match order.
 */
export interface NetworkUnit {
  /** File name under /etc/systemd/network/. */
  file: string;
  text: string;
}

/** "255.255.255.0" or "24" → 24. */
export function netmaskToPrefix(mask: string): number {
  if (/^\d{1,2}$/.test(mask)) {
    const n = Number(mask);
    if (n <= 32) return n;
  }
  const octets = mask.split('.');
  if (octets.length === 4 && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) {
    const bits = octets.map((o) => Number(o).toString(2).padStart(8, '0')).join('');
    if (/^1*0*$/.test(bits)) return bits.indexOf('0') < 0 ? 32 : bits.indexOf('0');
  }
  throw new KilnError(`NetMask '${mask}' is not a netmask (use e.g. "255.255.255.0" or "24")`);
}

function isIpv4(s: string): boolean {
  const o = s.split('.');
  return o.length === 4 && o.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255);
}
function isIp(s: string): boolean {
  return isIpv4(s) || (/^[0-9a-fA-F:]+$/.test(s) && s.includes(':'));
}

function where(i: number, key?: string): string {
  return `Networks[${i}]${key ? `.${key}` : ''}`;
}

export function renderNetworkUnit(net: Network, index: number): NetworkUnit {
  const proto = (net.BootProto ?? 'dhcp').toLowerCase();
  const device = net.Device?.trim();
  if (device !== undefined && !/^[A-Za-z0-9_.:*?@-]+$/.test(device)) {
    throw new KilnError(`${where(index, 'Device')}: '${net.Device}' is not an interface name`);
  }
  const match = device ? `Name=${device}` : 'Name=en* eth*';
  const network: string[] = [];
  if (proto === 'dhcp' || proto === 'bootp') {
    // Kickstart's bootproto=dhcp is IPv4 DHCP; IPv6 autoconfiguration (RA) stays on by networkd default.
    network.push('DHCP=ipv4');
  } else if (proto === 'static') {
    if (!net.Ip) throw new KilnError(`${where(index, 'Ip')}: BootProto "static" needs an Ip address`);
    if (!isIp(net.Ip)) throw new KilnError(`${where(index, 'Ip')}: '${net.Ip}' is not an IP address`);
    const prefix = net.NetMask ? netmaskToPrefix(net.NetMask) : isIpv4(net.Ip) ? 24 : 64;
    network.push(`Address=${net.Ip}/${prefix}`);
    if (net.GateWay) {
      if (!isIp(net.GateWay)) throw new KilnError(`${where(index, 'GateWay')}: '${net.GateWay}' is not an IP address`);
      network.push(`Gateway=${net.GateWay}`);
    }
  } else {
    throw new KilnError(`${where(index, 'BootProto')}: '${net.BootProto}' is not supported; use "dhcp" or "static"`);
  }
  for (const [j, dns] of (net.NameServers ?? []).entries()) {
    if (!isIp(dns)) throw new KilnError(`${where(index, `NameServers[${j}]`)}: '${dns}' is not an IP address`);
    network.push(`DNS=${dns}`);
  }
  const sections = [`[Match]\n${match}\n`];
  // OnBoot false: the unit is configured but the link is only brought up on request (networkctl up).
  if (net.OnBoot === false) sections.push('[Link]\nActivationPolicy=manual\n');
  sections.push(`[Network]\n${network.join('\n')}\n`);
  const slug = (device ?? 'wired').replace(/[^A-Za-z0-9_-]/g, '_');
  const file = `${String(10 + index).padStart(2, '0')}-kiln-${slug}.network`;
  return { file, text: `# Written by kiln from Networks[${index}] of the image config\n${sections.join('\n')}` };
}

export function renderNetworkUnits(networks: readonly Network[]): NetworkUnit[] {
  return networks.map((n, i) => renderNetworkUnit(n, i));
}

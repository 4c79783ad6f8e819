/**
 * Candidate target disks. Reading /sys is at the edge (listDisks); choosing and checking are pure.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface DiskInfo {
  /** /dev/vda */
  device: string;
  bytes: number;
  model: string;
  removable: boolean;
  readOnly: boolean;
}

/** Block devices that cannot be install targets: loop, ram, optical, zram, device-mapper, md members. */
const NOT_A_DISK = /^(loop|ram|sr|zram|dm-|md|fd|nbd)/;

export function listDisks(sysBlock = '/sys/block'): DiskInfo[] {
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const out: DiskInfo[] = [];
  for (const name of readdirSync(sysBlock).sort()) {
    if (NOT_A_DISK.test(name)) continue;
    const sectors = Number(read(`${sysBlock}/${name}/size`) || 0);
    out.push({
      device: `/dev/${name}`,
      bytes: sectors * 512,
      model: read(`${sysBlock}/${name}/device/model`) || read(`${sysBlock}/${name}/device/vendor`) || '',
      removable: read(`${sysBlock}/${name}/removable`) === '1',
      readOnly: read(`${sysBlock}/${name}/ro`) === '1',
    });
  }
  return out;
}

/** Disks the installer offers: writable, not empty, not the install medium itself. */
export function installTargets(disks: DiskInfo[], mediumDevice?: string): DiskInfo[] {
  const medium = mediumDevice?.replace(/p?\d+$/, '');
  return disks.filter((d) => d.bytes > 0 && !d.readOnly && d.device !== mediumDevice && d.device !== medium);
}

/** Why `disk` cannot take an image of `imageBytes`, or undefined when it can. */
export function checkDiskFits(disk: DiskInfo, imageBytes: number): string | undefined {
  if (disk.bytes >= imageBytes) return undefined;
  return `${disk.device} is too small: it has ${formatBytes(disk.bytes)}, the image needs ${formatBytes(imageBytes)}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function describeDisk(d: DiskInfo): string {
  return `${d.device}  ${formatBytes(d.bytes)}${d.model ? `  ${d.model}` : ''}${d.removable ? '  (removable)' : ''}`;
}

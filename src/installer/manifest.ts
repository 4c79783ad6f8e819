/**
 * What isomaker writes to the ISO (kiln/install.json) and the installer reads: one entry per
 * SystemConfig, each a pre-built raw disk image. Shared by src/iso (writer) and src/installer (reader).
 */
export const MANIFEST_PATH = 'kiln/install.json';
/** Volume label of the install medium; /init finds the medium by it. */
export const ISO_VOLUME_LABEL = 'KILN_INSTALL';

export interface InstallMount {
  /** 1-based partition number on the target disk. */
  partition: number;
  mountPoint: string;
  fsType: string;
}

export interface InstallSystem {
  name: string;
  /** Path of the image (qcow2, zstd-compressed clusters), relative to the medium's root. */
  image: string;
  /** Path of the imager's package manifest of this system (what was built from what), relative to the medium's root. */
  manifest?: string;
  /** Uncompressed image size: the smallest disk it fits on. */
  imageBytes: number;
  /** Bytes that are not holes (what is really written; drives the progress figure). */
  dataBytes: number;
  tableType: 'gpt' | 'mbr';
  hostname?: string;
  /** Grow the last partition (and its ext filesystem) to the end of a larger disk. */
  growLastPartition: boolean;
  /** Partitions to mount to reach the installed root, "/" first. */
  mounts: InstallMount[];
}

export interface InstallManifest {
  version: 1;
  configName: string;
  systems: InstallSystem[];
  /** Disks[0].TargetDisk.Value: with exactly one system this makes the install unattended. */
  targetDisk?: string;
}

export function isUnattended(m: InstallManifest): boolean {
  return m.systems.length === 1 && !!m.targetDisk;
}

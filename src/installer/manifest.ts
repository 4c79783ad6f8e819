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
  /**
   * The partition is sealed by a device layer (an encrypted or verity root): the installer cannot
   * and must not mount or change it (no passphrase; a single changed byte breaks verity).
   */
  sealed?: 'luks' | 'verity';
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
  /**
   * Grow the last partition (and its ext filesystem) to the end of a larger disk. An encrypted last
   * partition grows in whole 4 KiB sectors and its filesystem is grown by the installed system
   * (x-systemd.growfs); a verity partition never grows.
   */
  growLastPartition: boolean;
  /** The root is sealed (encrypted or verity): host name and users are the image's own. */
  sealedRoot?: 'luks' | 'verity';
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

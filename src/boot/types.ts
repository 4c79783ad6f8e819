/** What the boot-loader step gets from the pipeline. */
import type { SystemConfig } from '../config/model.js';
import type { BootKind, ChrootFn, DistroBackend } from '../distro/backend.js';
import type { BootChain } from './chain.js';
import type { Scope } from '../core/scope.js';
import type { BootFs } from './grubcfg.js';

/** The default kernel options every image gets before the config's own (see docs/imager.md). */
export const BASE_CMDLINE = ['console=tty0', 'console=ttyS0,115200'];

export interface BootContext {
  /** The build's scope (short-lived secrets such as an unlocked signing key are registered with it). */
  scope: Scope;
  root: string;
  sc: SystemConfig;
  backend: DistroBackend;
  chroot: ChrootFn;
  boot: BootKind;
  chain: BootChain;
  table: 'gpt' | 'mbr';
  /** Whole-disk loop device (BIOS: where grub-install writes). */
  diskDevice: string;
  /** The root= device: PARTUUID=..., UUID=... or /dev/mapper/<name>. */
  rootDevice: string;
  /** The root has device layers (built on a plaintext loop device, opened as /dev/mapper/<name> at boot). */
  rootLayered: boolean;
  /**
   * Kernel options the root's device layers need (e.g. the verity root hash). Called when the
   * command line is written: for a UKI after the layers are sealed, so late facts are known.
   */
  layerArgs: () => string[];
  /** Filesystem holding /boot. */
  bootFs: BootFs;
  /** PARTUUID of a separate /boot partition, if any. */
  bootPartuuid?: string;
  /** Filesystem types on the disk (decides grub modules). */
  fsTypes: string[];
  /** Host directory that becomes the ESP's contents (UEFI). */
  espStaging?: string;
  /** The build's private directory (UKI parts are gathered there). */
  workDir: string;
}

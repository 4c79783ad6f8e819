/**
 * The boot chain a SystemConfig asks for, decided once (pure): which program the firmware starts
 * (grub, a UKI, systemd-boot + UKI), whether the distribution's signed shim leads it, and whether
 * Kiln signs its own EFI binaries for Secure Boot. The planner, the implicit packages and the
 * bootloader step read this; the validator checks the combinations (config/rules/trusted-boot.ts).
 */
import type { BootLoader, SystemConfig } from '../config/model.js';
import type { DistroDecl } from '../distro/catalog/index.js';

export interface SigningKeys {
  /** PEM private key (absolute path). */
  key: string;
  /** PEM certificate (absolute path). */
  cert: string;
}

export interface BootChain {
  loader: BootLoader;
  /** The distribution's shim first (listed in the packages, or Secure Boot without keys of one's own). */
  shim: boolean;
  /** Secure Boot with the user's keys: Kiln signs systemd-boot and the UKI. */
  signing?: SigningKeys;
  /** Secure Boot is asked for (distribution chain or own keys). */
  secureBoot: boolean;
}

export function bootLoader(sc: SystemConfig): BootLoader {
  return sc.BootLoader ?? 'grub';
}

export function bootChain(sc: SystemConfig, decl: DistroDecl, packages: readonly string[]): BootChain {
  const loader = bootLoader(sc);
  const sb = sc.SecureBoot?.Enable === true;
  const key = sc.SecureBoot?.SigningKey;
  const cert = sc.SecureBoot?.SigningCertificate;
  const signing = sb && key && cert ? { key, cert } : undefined;
  const shimPackage = decl.efi.shim?.package;
  const shim = loader === 'grub' && !!shimPackage && (packages.includes(shimPackage) || (sb && !signing));
  return { loader, shim, secureBoot: sb, ...(signing ? { signing } : {}) };
}

/** True for the loaders whose kernel, initramfs and command line travel in a UKI. */
export function usesUki(loader: BootLoader): boolean {
  return loader === 'uki' || loader === 'systemd-boot';
}

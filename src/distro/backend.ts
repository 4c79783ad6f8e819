/**
 * The distro-backend interface: everything that differs between distribution families (package
 * manager, repositories, kernel and initramfs conventions, grub tool names, package database
 * clean-up). The build pipeline talks only to this interface; `registry.ts` picks the
 * implementation from the SystemConfig's `Distro` (Kiln extension).
 */
import type { PackageRepo, SystemConfig } from '../config/model.js';
import type { RunResult } from '../core/exec.js';
import type { ChrootRunOptions } from '../chroot/chroot.js';

export type BootKind = 'efi' | 'legacy' | 'none';

/** What the pipeline hands a backend to install packages into a mounted root. */
export interface InstallRequest {
  /** Absolute path of the mounted (empty) image root. */
  root: string;
  sc: SystemConfig;
  /** PackageLists + Packages, de-duplicated, in order. */
  packages: string[];
  /** KernelOptions.default, when present. */
  kernel?: string;
  boot: BootKind;
  /** Repositories from the config; empty = the distribution's default (the host's mirror for Debian). */
  repos: PackageRepo[];
  /** Downloaded-package cache shared between builds (the backend locks it while in use). */
  cacheDir: string;
  /** A directory of this build's for temporary files (on the output's filesystem, removed afterwards). */
  scratchDir: string;
  /** Progress callback: packages installed so far of the total (total 0 while unknown). */
  onProgress?: (done: number, total: number) => void;
}

export interface InstalledPackage {
  name: string;
  version: string;
  arch: string;
}

/** grub's program names differ between families (grub-* on Debian, grub2-* on Fedora/Azure Linux). */
export interface GrubTools {
  mkimage: string;
  mkconfig: string;
  install: string;
  /** Directory of grub's platform modules inside the root, e.g. /usr/lib/grub. */
  libDir: string;
  /** Where the distro's grub.cfg lives, e.g. /boot/grub/grub.cfg. */
  configPath: string;
  /** Defaults file read by grub-mkconfig. */
  defaultsFile: string;
}

export interface DistroBackend {
  /** Registry name, e.g. "debian". */
  readonly name: string;
  readonly family: 'debian' | 'rpm';
  /** Release the config asked for (or the backend's default), e.g. "bookworm". */
  readonly release: string;
  /** Host programs this backend needs (checked by host prerequisites before work starts). */
  hostTools(): string[];
  /** Packages the backend adds to what the config lists (bootloader bits for `boot`, kernel). */
  implicitPackages(req: Pick<InstallRequest, 'sc' | 'boot' | 'kernel' | 'packages'>): string[];
  /** Install the packages (and the base system) into `req.root`. Missing packages fail by name. */
  install(req: InstallRequest): Promise<void>;
  /** Installed packages with versions, read from the root's package database. */
  manifest(root: string): Promise<InstalledPackage[]>;
  /** Kernel versions installed in the root (from /boot/vmlinuz-*), newest first. */
  kernels(root: string): Promise<string[]>;
  readonly grub: GrubTools;
  /** Regenerate the initramfs (after configuration that changes it, e.g. fstab, FIPS). */
  updateInitramfs(root: string, chroot: ChrootFn): Promise<void>;
  /** PreserveTdnfCache: copy the installed packages from the shared cache into the image. Returns how many. */
  preserveCache(root: string, cacheDir: string, installed: InstalledPackage[]): Promise<number>;
}

export type ChrootFn = (argv: string[], opts?: ChrootRunOptions) => Promise<RunResult>;

/**
 * The distro-backend interface: one implementation per family (debian: mmdebstrap/apt; rpm:
 * tdnf/dnf), each constructed from a catalog declaration (catalog/). The build pipeline talks only
 * to this interface and to the declaration; registry.ts picks the implementation.
 */
import type { PackageRepo, SystemConfig } from '../config/model.js';
import type { RunResult } from '../core/exec.js';
import type { ChrootRunOptions } from '../chroot/chroot.js';
import type { BootKind, DistroDecl, GrubTools } from './catalog/index.js';

export type { BootKind, GrubTools } from './catalog/index.js';

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
  /** Repositories from the config; empty = the distribution's defaults (below `mirror` when set). */
  repos: PackageRepo[];
  /** Mirror root replacing the default repositories' base URL (`--mirror`, else `Distro.Mirror`). */
  mirror?: string;
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

/** What happens to the package manager's state once the image is complete. */
export interface PackageStateRequest {
  root: string;
  sc: SystemConfig;
  cacheDir: string;
  /** The manifest, taken before anything is removed. */
  installed: InstalledPackage[];
  /** The mirror the install used (PreserveTdnfCache reads local repositories in place). */
  mirror?: string;
}

export interface DistroBackend {
  readonly decl: DistroDecl;
  /** Catalog name, e.g. "debian". */
  readonly name: string;
  readonly family: DistroDecl['family'];
  /** Canonical release, e.g. "bookworm". */
  readonly release: string;
  readonly grub: GrubTools;
  /** Host programs this backend needs (checked by host prerequisites before work starts). */
  hostTools(): string[];
  /** Host files this backend needs (e.g. mmdebstrap's hooks). */
  hostFiles(): string[];
  /** Packages added to what the config lists (kernel, bootloader, initramfs generator). */
  implicitPackages(req: Pick<InstallRequest, 'sc' | 'boot' | 'kernel' | 'packages'>): string[];
  /** Install the packages (and the base system) into `req.root`. Missing packages fail by name. */
  install(req: InstallRequest): Promise<void>;
  /** Installed packages with versions, read from the root's package database. */
  manifest(root: string): Promise<InstalledPackage[]>;
  /** Kernel versions installed in the root (from /boot/vmlinuz-*), newest first. */
  kernels(root: string): Promise<string[]>;
  /** Generate the initramfs of every installed kernel (after configuration that changes it, e.g. fstab). */
  updateInitramfs(root: string, chroot: ChrootFn): Promise<void>;
  /**
   * Last step on the package manager's state: PreserveTdnfCache (keep the downloaded packages in
   * the image, else drop caches) and RemoveRpmDb. Returns a line for the build log.
   */
  finishPackageState(req: PackageStateRequest): Promise<string>;
}

export type ChrootFn = (argv: string[], opts?: ChrootRunOptions) => Promise<RunResult>;

/**
 * What a distribution declaration says. Everything that differs between distributions is a field
 * here, so the validator, the schema, the backend registry, the system steps, the bootloader and the
 * ISO ask the catalog instead of testing names (mkosi's distribution classes do the same).
 */
import type { SystemConfig } from '../../config/model.js';

export type DistroFamily = 'debian' | 'rpm';
export type BootKind = 'efi' | 'legacy' | 'none';

/** Package-name knowledge the validator and the planner need. */
export interface PackageRules {
  family: DistroFamily;
  /** True for a package that installs a bootable kernel (those belong in KernelOptions). */
  isKernelPackage(name: string): boolean;
  /** The conventional kernel package, suggested in hints. */
  defaultKernel: string;
  /** SELinux policy package installed when SELinux is on and SELinuxPolicy is not set. */
  defaultSelinuxPolicy: string;
  /** Package that makes FIPS mode work at boot (FIPS support is declared in `unsupportedKeys`). */
  fipsPackage?: string;
  /** Package that provides useradd/groupadd. */
  userManagementPackage: string;
  /** Packages every image of this family has without listing them (its base system). */
  implicitPackages: readonly string[];
}

export interface Release {
  /** Canonical name, e.g. "bookworm" or "3.0". */
  name: string;
  /** Other spellings accepted in `Distro.Release`, e.g. "12". */
  aliases: readonly string[];
}

/** A repository the distribution uses when a config lists none. */
export interface DefaultRepo {
  id: string;
  name: string;
  /** Base URL relative to the mirror ("3.0/prod/base/x86_64"); Debian: the suite instead. */
  path: string;
  /** Debian: suite and components. */
  suite?: string;
  components?: readonly string[];
  /** Key files (paths relative to resources/distro/<name>/) that sign packages and metadata. */
  keys: readonly string[];
  /** GPG-check packages / repository metadata. */
  gpgCheck: boolean;
  repoGpgCheck: boolean;
  /** A mirror for this repository other than the distribution's main one (Debian's security archive). */
  mirrorKind?: 'security';
}

/** grub's program names and file locations (grub-* on Debian, grub2-* on Azure Linux). */
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

/**
 * How UEFI boot is laid out. Either Kiln builds grub with mkimage inside the image (Debian's
 * unsigned path), or the distribution ships a prebuilt grub EFI binary (Azure Linux's
 * grub2-efi-binary) that reads a stub grub.cfg at `prebuiltGrub.stubPath` on the ESP.
 */
export interface EfiLayout {
  prebuiltGrub?: {
    package: string;
    /** Path inside the image where the package puts the binary. */
    path: string;
    /** Where, relative to the ESP root, the binary reads its grub.cfg ($prefix/grub.cfg). */
    stubPath: string;
  };
  /** The signed first stage, installed when the config lists its package. */
  shim?: {
    package: string;
    /** Path inside the image of shim's binary. */
    path: string;
    /** The signed grub shim chain-loads (installed beside shim as grubx64.efi). */
    signedGrub: string;
    /** Extra packages the signed chain needs (installed implicitly when the shim package is listed). */
    extraPackages: readonly string[];
    /** MokManager, installed beside shim when the distribution ships it (never fbx64: without a BOOTX64.CSV it resets in a loop). */
    mokManager?: string;
  };
}

/**
 * systemd's EFI programs, for the "uki" and "systemd-boot" boot loaders: the stub a unified kernel
 * image is assembled around, and the boot manager. Both come from the image being built (as grub's
 * tools do), from one package.
 */
export interface SystemdEfi {
  package: string;
  /** Path inside the image of the UKI stub (linuxx64.efi.stub). */
  stub: string;
  /** Path inside the image of systemd-boot's EFI binary. */
  systemdBoot: string;
}

/** What the image needs so its initramfs opens a device layer (see disk/layers). */
export interface LayerSupport {
  /** Packages installed implicitly when a partition has the layer. */
  packages: readonly string[];
  /** dracut modules added to the initramfs (dracut generators only). */
  dracutModules?: readonly string[];
}

export interface InitramfsConvention {
  generator: 'initramfs-tools' | 'dracut';
  /** The generator's package, installed implicitly unless the config chose another generator. */
  packages: readonly string[];
  /** File name under /boot for kernel version `kver`. */
  fileName(kver: string): string;
  /**
   * What the generator reads besides the files it copies into the initramfs (image paths; `{kver}`
   * is each kernel version): `config` files and directories by content, `listings` directories by
   * their names only (which modules and firmware exist). With the copied files' own content, this
   * decides whether a cached initramfs can stand in for a new one (src/cache/initramfs.ts).
   */
  inputs: {
    config: readonly string[];
    listings: readonly string[];
    /** Paths the generator writes itself (not copies from the image): not inputs. A trailing `*` matches any name. */
    generated: readonly string[];
  };
}

/** How DisableRpmDocs / OverrideRpmLocales are honoured. */
export type DocFilter = 'dpkg-path-excludes' | 'rpm-macros';

export interface DistroDecl {
  name: string;
  aliases: readonly string[];
  prettyName: string;
  family: DistroFamily;
  /** First = default. */
  releases: readonly Release[];
  /** Human name of the package manager, for messages and docs. */
  packageManager: string;
  /**
   * The distribution's own repo file, shipped in resources/distro/<name>/ as upstream publishes it:
   * its first baseurl, up to `/$releasever`, is the default mirror root (no host name is written
   * in Kiln's code). Undefined: the host's package configuration names the mirror.
   */
  defaultRepoFile?: string;
  /** Default repositories, below the mirror. */
  repositories(release: string): DefaultRepo[];
  grub: GrubTools;
  efi: EfiLayout;
  initramfs: InitramfsConvention;
  /** systemd's UKI stub and boot manager (BootLoader "uki" / "systemd-boot"); absent: not offered. */
  systemdEfi?: SystemdEfi;
  /** Encrypted (LUKS2) and verity roots. */
  layers: { luks: LayerSupport; verity: LayerSupport };
  /** Kernel package names the config may write in KernelOptions, mapped to this distro's (e.g. "kernel"). */
  kernelAliases: Readonly<Record<string, string>>;
  /** Packages the boot kind needs besides the kernel. */
  bootPackages(boot: BootKind): readonly string[];
  /** Package-database locations inside the image (what RemoveRpmDb removes or keeps). */
  packageDb: readonly string[];
  /** Where downloaded packages are kept in the image when PreserveTdnfCache is set. */
  packageCacheDir: string;
  docFilter: DocFilter;
  /** SELinux policy type (/etc/selinux/<type>) a policy package installs. */
  selinuxType(policyPackage: string): string;
  rules: PackageRules;
  /** SystemConfig keys this distribution cannot apply, with the reason (a validation error). */
  unsupportedKeys: Readonly<Partial<Record<keyof SystemConfig | 'KernelCommandLine.EnableFIPS', string>>>;
}

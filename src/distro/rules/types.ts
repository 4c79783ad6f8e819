/**
 * Package-name knowledge the validator needs, per distribution family. Names differ between
 * Debian and RPM distributions; the rules themselves (kernel not in package lists, SELinux needs
 * its policy, ...) are written once in config/rules/packages.ts against this interface.
 */
export type DistroFamily = 'debian' | 'rpm';

export interface PackageRules {
  family: DistroFamily;
  /** True for a package that installs a bootable kernel (those belong in KernelOptions). */
  isKernelPackage(name: string): boolean;
  /** The conventional kernel package, suggested in hints. */
  defaultKernel: string;
  /** SELinux policy package installed when SELinux is on and SELinuxPolicy is not set. */
  defaultSelinuxPolicy: string;
  /**
   * Package that makes FIPS mode work at boot, or undefined when the distribution has no
   * FIPS support at all (then FIPS is rejected with `fipsUnsupported`).
   */
  fipsPackage?: string;
  fipsUnsupported?: string;
  /** Package that provides useradd/groupadd. */
  userManagementPackage: string;
  /** Packages every image of this family has without listing them (its base system). */
  implicitPackages: readonly string[];
}

/** Package-list entries may carry a version constraint ("pkg=1.2", "pkg>=1.2"); rules compare names. */
export function packageName(entry: string): string {
  return entry.trim().split(/[\s=<>]/, 1)[0] ?? '';
}

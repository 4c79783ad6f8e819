import type { PackageRules } from './types.js';

/**
 * Debian: kernels are the linux-image-* packages (the meta package linux-image-amd64 or a versioned
 * one), excluding debug-symbol packages. useradd comes from `passwd`, which has Priority: required
 * and is therefore in every Debian base system Kiln bootstraps (minbase and larger).
 * Debian has no FIPS-validated crypto modules and no dracut-fips equivalent, so FIPS is refused
 * rather than silently producing an image that only claims FIPS mode.
 */
export const debianRules: PackageRules = {
  family: 'debian',
  isKernelPackage: (name) => /^linux-image-/.test(name) && !/-dbg(sym)?$/.test(name),
  defaultKernel: 'linux-image-amd64',
  defaultSelinuxPolicy: 'selinux-policy-default',
  fipsUnsupported:
    'Debian has no FIPS 140 validated modules and no dracut-fips equivalent; FIPS mode is not supported for Debian images',
  userManagementPackage: 'passwd',
  implicitPackages: ['passwd'],
};

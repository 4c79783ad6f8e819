import type { PackageRules } from './types.js';

/**
 * Azure Linux / Fedora-style RPM distributions: upstream's own names.
 * The kernel flavours are the bootable kernels Azure Linux ships; `kernel-uki` is not one of them
 * (it is an EFI payload that upstream's own package lists install), nor are kernel-headers/-tools.
 */
const RPM_KERNELS = new Set(['kernel', 'kernel-hwe', 'kernel-mshv', 'kernel-uvm', 'kernel-rt', 'kernel-64k', 'kernel-lpg-innovate']);

export const rpmRules: PackageRules = {
  family: 'rpm',
  isKernelPackage: (name) => RPM_KERNELS.has(name),
  defaultKernel: 'kernel',
  defaultSelinuxPolicy: 'selinux-policy',
  fipsPackage: 'dracut-fips',
  userManagementPackage: 'shadow-utils',
  implicitPackages: [],
};

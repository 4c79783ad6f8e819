/**
 * Azure Linux 3.0, the format's own distribution and the default when a SystemConfig has no
 * `Distro`: tdnf (or dnf) with --installroot, grub2-* tools, dracut, Microsoft's signed
 * repositories. File locations follow upstream's packages: grub2-efi-binary puts grubx64.efi (prefix
 * /boot/grub2) and shim puts bootx64.efi under /boot/efi/EFI/BOOT; upstream's imager writes the
 * stub grub.cfg at boot/grub2/grub.cfg on the ESP.
 */
import type { DistroDecl } from './types.js';

/** The bootable kernels Azure Linux ships (kernel-uki, -headers and -tools are not bootable kernels). */
const KERNELS = new Set(['kernel', 'kernel-hwe', 'kernel-mshv', 'kernel-uvm', 'kernel-rt', 'kernel-64k', 'kernel-lpg-innovate']);
const OFFICIAL_REPOS = [['base', 'Base']] as const;

export const azurelinux: DistroDecl = {
  name: 'azurelinux',
  aliases: ['azl', 'azure-linux'],
  prettyName: 'Microsoft Azure Linux',
  family: 'rpm',
  releases: [{ name: '3.0', aliases: ['3'] }],
  packageManager: 'tdnf (dnf where tdnf is not installed)',
  defaultRepoFile: 'azurelinux-official-base.repo',
  repositories: (release) =>
    OFFICIAL_REPOS.map(([id, title]) => ({
      id: `azurelinux-official-${id}`,
      name: `Azure Linux Official ${title} ${release} x86_64`,
      path: `${release}/prod/${id}/x86_64`,
      keys: ['MICROSOFT-RPM-GPG-KEY', 'MICROSOFT-METADATA-GPG-KEY'],
      gpgCheck: true,
      repoGpgCheck: true,
    })),
  grub: {
    mkimage: 'grub2-mkimage',
    mkconfig: 'grub2-mkconfig',
    install: 'grub2-install',
    libDir: '/usr/lib/grub',
    configPath: '/boot/grub2/grub.cfg',
    defaultsFile: '/etc/default/grub',
  },
  efi: {
    prebuiltGrub: { package: 'grub2-efi-binary', path: '/boot/efi/EFI/BOOT/grubx64.efi', stubPath: 'boot/grub2/grub.cfg' },
    shim: { package: 'shim', path: '/boot/efi/EFI/BOOT/bootx64.efi', signedGrub: '/boot/efi/EFI/BOOT/grubx64.efi', extraPackages: ['grub2-efi-binary'] },
  },
  initramfs: {
    generator: 'dracut',
    packages: ['dracut'],
    fileName: (kver) => `initramfs-${kver}.img`,
    // dracut --no-hostonly: its modules and settings, and the /etc files its modules copy from or
    // read (base: root's passwd/group lines; systemd: /etc/systemd; i18n; sysctl; crypt, lvm, mdraid…)
    inputs: {
      config: [
        '/etc/dracut.conf',
        '/etc/dracut.conf.d',
        '/usr/lib/dracut',
        '/usr/bin/dracut',
        '/etc/modprobe.d',
        '/usr/lib/modprobe.d',
        '/etc/udev',
        '/usr/lib/udev/rules.d',
        '/etc/systemd',
        '/etc/passwd',
        '/etc/group',
        '/etc/os-release',
        '/etc/initrd-release',
        '/etc/locale.conf',
        '/etc/vconsole.conf',
        '/etc/sysctl.conf',
        '/etc/sysctl.d',
        '/etc/crypttab',
        '/etc/lvm',
        '/etc/mdadm.conf',
        '/etc/multipath.conf',
        '/etc/iscsi',
        '/etc/cmdline.d',
        '/etc/selinux/config',
        '/etc/system-fips',
        '/etc/ld.so.conf',
        '/etc/ld.so.conf.d',
        '/boot/config-{kver}',
        '/boot/vmlinuz-{kver}',
      ],
      listings: ['/usr/lib/modules/{kver}', '/usr/lib/firmware'],
      // written by dracut's modules, not copied: /etc/passwd and /etc/group are config inputs instead
      generated: ['/etc/fstab', '/etc/mtab', '/etc/ld.so.cache', '/etc/passwd', '/etc/group', '/etc/shadow', '/etc/machine-id', '/etc/hostname', '/etc/initrd-release', '/etc/cmdline.d/*', '/usr/lib/modules/{kver}/modules.*'],
    },
  },
  // systemd-boot ships linuxx64.efi.stub and systemd-bootx64.efi
  systemdEfi: {
    package: 'systemd-boot',
    stub: '/usr/lib/systemd/boot/efi/linuxx64.efi.stub',
    systemdBoot: '/usr/lib/systemd/boot/efi/systemd-bootx64.efi',
  },
  layers: {
    // dracut's crypt module unlocks with systemd-cryptsetup (rd.luks.name=)
    luks: { packages: ['cryptsetup', 'device-mapper'], dracutModules: ['crypt'] },
    // systemd-veritysetup-generator in the initramfs (roothash=, systemd.verity_root_data/hash=)
    verity: { packages: ['cryptsetup'], dracutModules: ['systemd-veritysetup'] },
  },
  kernelAliases: {},
  bootPackages: (boot) => (boot === 'efi' ? ['grub2-efi-binary', 'grub2-tools'] : boot === 'legacy' ? ['grub2-pc', 'grub2-tools'] : []),
  packageDb: ['/var/lib/rpm'],
  packageCacheDir: '/var/cache/tdnf',
  docFilter: 'rpm-macros',
  // Fedora's naming: selinux-policy is the "targeted" policy, selinux-policy-<type> the others
  selinuxType: (pkg) => pkg.replace(/^selinux-policy-?/, '') || 'targeted',
  rules: {
    family: 'rpm',
    isKernelPackage: (name) => KERNELS.has(name),
    defaultKernel: 'kernel',
    defaultSelinuxPolicy: 'selinux-policy',
    fipsPackage: 'dracut-fips',
    userManagementPackage: 'shadow-utils',
    implicitPackages: [],
  },
  unsupportedKeys: {},
};

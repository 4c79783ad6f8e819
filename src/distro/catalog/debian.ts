/**
 * Debian: apt and dpkg through mmdebstrap, grub-* tools, initramfs-tools, the host's Debian mirror.
 * Kernels are the linux-image-* packages (excluding debug symbols); useradd comes from `passwd`,
 * Priority: required and therefore in every base system Kiln bootstraps.
 */
import type { DistroDecl } from './types.js';

const FIPS_UNSUPPORTED =
  'Debian has no FIPS 140 validated modules and no dracut-fips equivalent; FIPS mode is not supported for Debian images';

export const debian: DistroDecl = {
  name: 'debian',
  aliases: [],
  prettyName: 'Debian GNU/Linux',
  family: 'debian',
  releases: [
    { name: 'bookworm', aliases: ['12'] },
    { name: 'trixie', aliases: ['13'] },
  ],
  packageManager: 'apt (mmdebstrap)',
  // no defaultRepoFile: the host's apt sources name the mirror (see distro/debian/sources.ts)
  // below a mirror root as mkosi lays it out (Mirror=<root>): debian/, debian-security/
  repositories: (release) => [
    { id: 'debian', name: 'Debian', path: 'debian', suite: release, components: ['main'], keys: [], gpgCheck: true, repoGpgCheck: true },
    { id: 'debian-updates', name: 'Debian updates', path: 'debian', suite: `${release}-updates`, components: ['main'], keys: [], gpgCheck: true, repoGpgCheck: true },
    { id: 'debian-security', name: 'Debian security', path: 'debian-security', suite: `${release}-security`, components: ['main'], keys: [], gpgCheck: true, repoGpgCheck: true, mirrorKind: 'security' },
  ],
  grub: {
    mkimage: 'grub-mkimage',
    mkconfig: 'grub-mkconfig',
    install: 'grub-install',
    libDir: '/usr/lib/grub',
    configPath: '/boot/grub/grub.cfg',
    defaultsFile: '/etc/default/grub',
  },
  efi: {
    shim: {
      package: 'shim-signed',
      path: '/usr/lib/shim/shimx64.efi.signed',
      signedGrub: '/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed',
      extraPackages: ['grub-efi-amd64-signed'],
      mokManager: '/usr/lib/shim/mmx64.efi.signed',
    },
  },
  initramfs: {
    generator: 'initramfs-tools',
    // zstd: fast to make and to unpack (initramfs-tools falls back to gzip without it)
    packages: ['initramfs-tools', 'zstd'],
    fileName: (kver) => `initrd.img-${kver}`,
    // initramfs-tools: its hooks and scripts, the settings and udev/modprobe files its hooks read
    // (hooks/udev, kmod, fsck, resume, keymap, dmsetup and the cryptsetup/mdadm/lvm/dropbear hooks
    // when installed). /etc/fstab is not read: Kiln sets FSTYPE (see the backend).
    inputs: {
      config: [
        '/etc/initramfs-tools',
        '/usr/share/initramfs-tools',
        '/usr/sbin/mkinitramfs',
        '/etc/modprobe.d',
        '/usr/lib/modprobe.d',
        '/etc/udev',
        '/usr/lib/udev/rules.d',
        '/etc/systemd/network',
        '/etc/crypttab',
        '/etc/cryptsetup-initramfs',
        '/etc/mdadm',
        '/etc/lvm',
        '/etc/dropbear',
        '/etc/iscsi',
        '/etc/default/keyboard',
        '/etc/console-setup',
        '/etc/ld.so.conf',
        '/etc/ld.so.conf.d',
        '/boot/config-{kver}',
        '/boot/vmlinuz-{kver}',
      ],
      listings: ['/usr/lib/modules/{kver}', '/usr/lib/firmware'],
      // mkinitramfs writes an empty fstab and an mtab link, runs ldconfig and depmod on its own tree
      generated: ['/etc/fstab', '/etc/mtab', '/etc/ld.so.cache', '/usr/lib/modules/{kver}/modules.*'],
    },
  },
  // systemd-boot-efi: the stub and systemd-boot only (the systemd-boot package would run bootctl)
  systemdEfi: {
    package: 'systemd-boot-efi',
    stub: '/usr/lib/systemd/boot/efi/linuxx64.efi.stub',
    systemdBoot: '/usr/lib/systemd/boot/efi/systemd-bootx64.efi',
  },
  layers: {
    // cryptroot in the initramfs (initramfs-tools); busybox for Kiln's keyscript (stty, read)
    luks: { packages: ['cryptsetup-initramfs', 'busybox'] },
    // veritysetup, copied into the initramfs by Kiln's hook; busybox for its script
    verity: { packages: ['cryptsetup-bin', 'busybox'] },
  },
  kernelAliases: { kernel: 'linux-image-amd64' },
  // grub-*-bin: modules and grub-mkimage without the postinst that runs grub-install on the
  // host's disks; grub2-common: grub-mkconfig and /etc/grub.d
  bootPackages: (boot) => (boot === 'efi' ? ['grub-efi-amd64-bin', 'grub2-common'] : boot === 'legacy' ? ['grub-pc-bin', 'grub2-common'] : []),
  packageDb: ['/var/lib/dpkg'],
  packageCacheDir: '/var/cache/apt/archives',
  docFilter: 'dpkg-path-excludes',
  // selinux-policy-default → "default", selinux-policy-mls → "mls"
  selinuxType: (pkg) => pkg.replace(/^selinux-policy-?/, '') || 'default',
  rules: {
    family: 'debian',
    isKernelPackage: (name) => /^linux-image-/.test(name) && !/-dbg(sym)?$/.test(name),
    defaultKernel: 'linux-image-amd64',
    defaultSelinuxPolicy: 'selinux-policy-default',
    userManagementPackage: 'passwd',
    implicitPackages: ['passwd'],
  },
  unsupportedKeys: { 'KernelCommandLine.EnableFIPS': FIPS_UNSUPPORTED },
};

/**
 * Host tools and the Debian packages that provide them. `kiln build` checks the tools its config
 * needs; `kiln prereqs --all` covers everything the test suite and the benchmarks use (including
 * what the ISO, roast and RPM work needs), so a fresh Debian machine can run `npm test`.
 */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  // disks and filesystems
  losetup: 'mount',
  mount: 'mount',
  umount: 'mount',
  partx: 'util-linux',
  unshare: 'util-linux',
  flock: 'util-linux',
  chroot: 'coreutils',
  // the sandbox of everything that runs inside an image, and the parent-death signal of every command
  bwrap: 'bubblewrap',
  setpriv: 'util-linux',
  sfdisk: 'fdisk',
  'mkfs.ext2': 'e2fsprogs',
  'mkfs.ext3': 'e2fsprogs',
  'mkfs.ext4': 'e2fsprogs',
  'mkfs.xfs': 'xfsprogs',
  mkswap: 'util-linux',
  fsfreeze: 'util-linux',
  fstrim: 'util-linux',
  fallocate: 'util-linux',
  tune2fs: 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  dumpe2fs: 'e2fsprogs',
  xfs_admin: 'xfsprogs',
  'mkfs.vfat': 'dosfstools',
  mcopy: 'mtools',
  mdir: 'mtools',
  minfo: 'mtools',
  // device layers, unified kernel images, Secure Boot signatures
  cryptsetup: 'cryptsetup-bin',
  veritysetup: 'cryptsetup-bin',
  sbsign: 'sbsigntool',
  sbverify: 'sbsigntool',
  sbattach: 'sbsigntool',
  // packages
  mmdebstrap: 'mmdebstrap',
  'dpkg-query': 'dpkg',
  'apt-get': 'apt',
  debootstrap: 'debootstrap',
  rpm: 'rpm',
  createrepo_c: 'createrepo-c',
  dnf: 'dnf',
  // the offline Azure Linux test repository (scripts/make-azl-test-repo.sh): rpmbuild, signing, checks
  rpmbuild: 'rpm',
  rpmsign: 'rpm',
  rpmkeys: 'rpm',
  'dpkg-deb': 'dpkg',
  gpg: 'gpg',
  'gpg-agent': 'gpg-agent', // a Recommends of gpg, which prereqs' --no-install-recommends leaves out
  gpgconf: 'gpgconf',
  gpgv: 'gpgv',
  // artifacts
  'qemu-img': 'qemu-utils',
  xorriso: 'xorriso',
  osirrox: 'xorriso',
  script: 'bsdutils',
  openssl: 'openssl',
  mksquashfs: 'squashfs-tools',
  'mkfs.erofs': 'erofs-utils',
  cpio: 'cpio',
  zstd: 'zstd',
  xz: 'xz-utils',
  pigz: 'pigz',
  gzip: 'gzip',
  tar: 'tar',
  rdiff: 'rdiff',
  // roast: sparse copies (SEEK_DATA + copy_file_range), partition probing, and its test readers
  xfs_io: 'xfsprogs',
  blkid: 'util-linux',
  unsquashfs: 'squashfs-tools',
  'dump.erofs': 'erofs-utils',
  'fsck.erofs': 'erofs-utils',
  debugfs: 'e2fsprogs',
  mtype: 'mtools',
  setfattr: 'attr',
  getfattr: 'attr',
  // tests and benchmarks
  'qemu-system-x86_64': 'qemu-system-x86',
  expect: 'expect',
  mkosi: 'mkosi',
  'systemd-nspawn': 'systemd-container',
  bc: 'bc',
  // the graphical installer's e2e test reads each page's title from a QMP screendump
  tesseract: 'tesseract-ocr',
  objcopy: 'binutils',
  // bench/faults.sh: a network namespace without a route, a local repository, a full filesystem
  ip: 'iproute2',
  'dpkg-scanpackages': 'dpkg-dev',
  findmnt: 'util-linux',
};

/** Files (not programs) that must exist, with their package. */
export const FILE_PACKAGES: Readonly<Record<string, string>> = {
  '/usr/share/OVMF/OVMF_CODE.fd': 'ovmf',
  '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd': 'ovmf',
  '/usr/share/seabios/bios.bin': 'seabios',
  '/usr/share/mmdebstrap/hooks/eatmydata/extract.sh': 'mmdebstrap',
  '/usr/bin/time': 'time',
};

/** What `kiln prereqs --all` installs: every package any part of Kiln, its tests or its bench use. */
export const ALL_PACKAGES: readonly string[] = [
  ...new Set([
    ...Object.values(TOOL_PACKAGES),
    ...Object.values(FILE_PACKAGES),
    'qemu-utils', 'qemu-system-x86', 'ovmf', 'seabios', 'xorriso', 'squashfs-tools', 'erofs-utils', 'cpio', 'zstd',
    'xz-utils', 'pigz', 'rdiff', 'mtools', 'dosfstools', 'fdisk', 'xfsprogs', 'e2fsprogs', 'mmdebstrap', 'expect',
    'time', 'rpm', 'createrepo-c', 'dnf', 'mkosi', 'systemd-container', 'debootstrap', 'bc', 'binutils',
    'attr', 'bubblewrap', 'cryptsetup-bin', 'sbsigntool', 'tesseract-ocr',
  ]),
].sort();

/** The packages providing `tools`; unknown tools are reported by name. */
export function packagesFor(tools: readonly string[]): { packages: string[]; unknown: string[] } {
  const packages = new Set<string>();
  const unknown: string[] = [];
  for (const t of tools) {
    const p = TOOL_PACKAGES[t] ?? FILE_PACKAGES[t];
    if (p) packages.add(p);
    else unknown.push(t);
  }
  return { packages: [...packages].sort(), unknown };
}

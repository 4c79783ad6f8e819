#!/usr/bin/env node
/**
 * Turns a Debian bookworm tree (made by mmdebstrap, with Kiln's extra files already written into
 * it) into ONE rpm spec whose sub-packages carry Azure Linux 3.0 package names. Called by
 * scripts/make-azl-test-repo.sh; see docs/distros.md, "The offline Azure Linux test repository".
 *
 *   node gen-spec.mjs TREE SPEC [--version NAME=VERSION ...]
 *
 * - Removes from TREE what no image should carry (dpkg/apt state, device nodes, Debian's
 *   os-release, the initrd, machine-id, hostname, ssh host keys...).
 * - Assigns every remaining file, symlink and directory to exactly one package (directories may be
 *   shared): Kiln's own files by FORCED rules, Debian-owned paths through the Debian → Azure Linux
 *   name table (DEB_TO_AZL; unlisted Debian packages keep their Debian name), and paths no Debian
 *   package owns (written by maintainer scripts) by UNOWNED rules, else by the owner of a
 *   symlink's target, else to `filesystem`.
 * - Writes `Requires:` from Debian's Depends/Pre-Depends, mapped to Azure Linux names, minus the
 *   packaging machinery no rpm-installed system runs (NEVER_REQUIRED), plus the hand-written
 *   requirements of the Azure-only packages (EXTRA).
 * - Marks /usr/share/{doc,man,info} files %doc, /usr/share/locale/<lang>/ and man/<lang>/ files
 *   %lang(<lang>), Debian conffiles %config(noreplace), and gives non-root owners by name (read
 *   from the tree's own /etc/passwd and /etc/group).
 *
 * The spec's %install moves TREE into the build root, so rpmbuild's unpackaged-files check proves
 * that every file was assigned. Progress and a package summary go to stderr.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import process from 'node:process';

const RELEASE = '1.azl3';

/** Debian package (name or pattern) → Azure Linux package. First match wins; unlisted names stay. */
const DEB_TO_AZL = [
  // (usrmerge stays apart: its converter needs perl, which a base system should not pull in)
  [['base-files', 'base-passwd'], 'filesystem'],
  [['libc6', 'libc-bin'], 'glibc'],
  [['gcc-12-base', 'libgcc-s1'], 'libgcc'],
  [['libstdc++6'], 'libstdc++'],
  [['libgomp1'], 'libgomp'],
  // Azure Linux's /bin/sh is bash; here it stays Debian's dash, shipped with bash
  [['dash'], 'bash'],
  [['ncurses-base', 'libtinfo6', 'libncursesw6'], 'ncurses-libs'],
  [['ncurses-bin'], 'ncurses'],
  [['libreadline8', 'readline-common'], 'readline'],
  [['util-linux', 'util-linux-extra', 'mount', 'bsdutils'], 'util-linux'],
  [['libblkid1', 'libmount1', 'libuuid1', 'libsmartcols1', 'libfdisk1'], 'util-linux-libs'],
  [['logsave'], 'e2fsprogs'],
  [['libext2fs2', 'libss2', 'libcom-err2'], 'e2fsprogs-libs'],
  [['passwd', 'login'], 'shadow-utils'],
  [['libpam0g', 'libpam-modules', 'libpam-modules-bin', 'libpam-runtime'], 'pam'],
  [['systemd', 'systemd-sysv', 'libpam-systemd', 'libsystemd-shared'], 'systemd'],
  [['libsystemd0', 'libudev1'], 'systemd-libs'],
  [['udev'], 'systemd-udev'],
  [['dbus', 'dbus-bin', 'dbus-daemon', 'dbus-session-bus-common', 'dbus-system-bus-common'], 'dbus'],
  [['libdbus-1-3'], 'dbus-libs'],
  [[/^linux-image-/], 'kernel'],
  [['dracut', 'dracut-core'], 'dracut'],
  [['libkmod2'], 'kmod-libs'],
  [['iproute2'], 'iproute'],
  [['libbpf1'], 'libbpf'],
  [['libmnl0'], 'libmnl'],
  [['libelf1'], 'elfutils-libelf'],
  [['libdw1'], 'elfutils-libs'],
  [['libxtables12', 'libip4tc2'], 'iptables-libs'],
  [['libcap2', 'libcap2-bin'], 'libcap'],
  [['libcap-ng0'], 'libcap-ng'],
  [['procps', 'libproc2-0'], 'procps-ng'],
  [['openssh-server', 'openssh-sftp-server'], 'openssh-server'],
  [['openssh-client'], 'openssh-clients'],
  [['rpm', 'rpm-common', 'rpm2cpio'], 'rpm'],
  [['librpm9', 'librpmio9'], 'rpm-libs'],
  [['librpmbuild9', 'librpmsign9'], 'rpm-build-libs'],
  [['perl', /^perl-modules-/, /^libperl5/], 'perl'],
  [['libssl3'], 'openssl-libs'],
  [['cron', 'cron-daemon-common'], 'cronie'],
  [['anacron'], 'cronie-anacron'],
  [['grub-common', 'grub2-common'], 'grub2-tools'],
  [['grub-pc-bin'], 'grub2-pc'],
  [['grub-efi-amd64-bin'], 'grub2-efi-x64-modules'],
  [['libkrb5-3', 'libkrb5support0', 'libk5crypto3', 'libgssapi-krb5-2'], 'krb5-libs'],
  [['libkeyutils1'], 'keyutils-libs'],
  [['libselinux1'], 'libselinux'],
  [['libsepol2'], 'libsepol'],
  [['libsemanage2', 'libsemanage-common'], 'libsemanage'],
  [['libaudit1', 'libaudit-common'], 'audit-libs'],
  [['libsqlite3-0'], 'sqlite-libs'],
  [['libexpat1'], 'expat-libs'],
  [[/^libicu\d+$/], 'icu'],
  [[/^libarchive\d+$/], 'libarchive'],
  [['libgcrypt20'], 'libgcrypt'],
  [['libgpg-error0'], 'libgpg-error'],
  [['libnettle8'], 'nettle'],
  [['libgmp10'], 'gmp'],
  [['libffi8'], 'libffi'],
  [['libp11-kit0'], 'p11-kit'],
  [['libpcre2-8-0'], 'pcre2'],
  [['libseccomp2'], 'libseccomp'],
  [['libcryptsetup12'], 'cryptsetup-libs'],
  [['cryptsetup-bin'], 'cryptsetup'],
  [['libargon2-1'], 'libargon2'],
  [['libjson-c5'], 'json-c'],
  [['libdevmapper1.02.1'], 'device-mapper-libs'],
  [['dmsetup'], 'device-mapper'],
  [['libefivar1', 'libefiboot1'], 'efivar-libs'],
  [['libfreetype6'], 'freetype'],
  [['libpng16-16'], 'libpng'],
  [['libbrotli1'], 'brotli'],
  [['libfuse2'], 'fuse'],
  [['gettext-base'], 'gettext'],
  [['libcrypt1'], 'libxcrypt'],
  [['libtirpc3', 'libtirpc-common'], 'libtirpc'],
  [['libpopt0'], 'popt'],
  [[/^liblua5\.\d+-\d+$/], 'lua-libs'],
  [['libmagic1', 'libmagic-mgc'], 'file-libs'],
  [['libdb5.3'], 'libdb'],
  [['libgdbm6', 'libgdbm-compat4'], 'gdbm'],
  [['libbsd0'], 'libbsd'],
  [['libmd0'], 'libmd'],
  [['libedit2'], 'libedit'],
  [['libfido2-1'], 'libfido2'],
  [[/^libcbor\d/], 'libcbor'],
  [['libacl1'], 'libacl'],
  [['libattr1'], 'libattr'],
  [['liblzma5'], 'xz-libs'],
  [['libbz2-1.0'], 'bzip2-libs'],
  [['zlib1g'], 'zlib'],
  [['liblz4-1'], 'lz4'],
  [['libzstd1'], 'zstd-libs'],
];

/** When an Azure Linux package gathers several Debian packages, whose version it takes. */
const PRIMARY = {
  filesystem: 'base-files', glibc: 'libc6', libgcc: 'libgcc-s1', bash: 'bash', 'ncurses-libs': 'libtinfo6',
  readline: 'libreadline8', 'util-linux-libs': 'libblkid1', 'e2fsprogs-libs': 'libext2fs2', 'shadow-utils': 'passwd',
  pam: 'libpam0g', 'systemd-libs': 'libsystemd0', perl: 'perl', cronie: 'cron', 'grub2-tools': 'grub-common',
  'krb5-libs': 'libkrb5-3', 'rpm-libs': 'librpm9', 'rpm-build-libs': 'librpmbuild9', 'audit-libs': 'libaudit1',
  'efivar-libs': 'libefivar1', 'file-libs': 'libmagic1', 'iptables-libs': 'libxtables12', gdbm: 'libgdbm6',
  'procps-ng': 'procps', 'openssh-server': 'openssh-server', dbus: 'dbus', systemd: 'systemd', dracut: 'dracut-core',
  libtirpc: 'libtirpc3', libsemanage: 'libsemanage2', libcap: 'libcap2',
};

/**
 * Debian dependencies that are packaging machinery (maintainer scripts, debconf, dpkg itself):
 * these rpms run no maintainer scripts, so nothing needs them at run time.
 */
const NEVER_REQUIRED = new Set(['dpkg', 'debconf', 'cdebconf', 'ucf', 'usrmerge', 'adduser', 'init-system-helpers', 'runit-helper', 'linux-base', 'sensible-utils', 'install-info']);

/**
 * Azure Linux-side dependencies to leave out: Debian's rpm packages also hold rpmbuild, rpmsign and
 * rpm2archive (split out below, as Azure Linux and Fedora do, so a container's rpm does not pull
 * perl, libarchive and ICU in); the kernel does not need an initramfs generator (Kiln runs dracut).
 */
const DROP_REQUIRES = { rpm: ['perl', 'rpm-build-libs', 'debugedit', 'libarchive'], kernel: ['dracut'] };

/** Requirements Azure Linux has and Debian does not (Debian's anacron runs without cron). */
const ADD_REQUIRES = { 'cronie-anacron': ['cronie'] };

/** Paths Kiln writes into the tree (or takes over from Debian): they go here whatever dpkg says. */
const FORCED = [
  [/^\/(etc\/os-release|usr\/lib\/os-release|etc\/azurelinux-release|etc\/issue|etc\/issue\.net)$/, 'azurelinux-release'],
  [/^\/etc\/dracut\.conf\.d\/hyperv\.conf$/, 'dracut-hyperv'],
  [/^\/etc\/dracut\.conf\.d\/virtio\.conf$/, 'dracut-virtio'],
  [/^\/etc\/dracut\.conf\.d\/xen\.conf$/, 'dracut-xen'],
  [/^\/etc\/rpm(\/macros\.dbpath)?$/, 'rpm'],
  [/^\/boot\/grub2?$/, 'grub2-tools'],
  [/^\/usr\/s?bin\/grub2-[^/]+$/, 'grub2-tools'],
  [/^\/boot\/efi\/EFI\/BOOT\/grubx64\.efi$/, 'grub2-efi-binary'],
  [/^\/boot\/efi\/EFI\/BOOT\/bootx64\.efi$/, 'shim'],
  [/^\/usr\/share\/kiln-test-unsigned(\/|$)/, 'kiln-test-unsigned'],
  [/^\/usr\/lib\/systemd\/system\/ssh\.service\.d(\/|$)/, 'openssh-server'],
  [/^\/usr\/share\/doc\/shim(\/|$)/, 'shim'],
  [/^\/usr\/bin\/(rpmbuild|rpmspec|gendiff)$/, 'rpm-build'],
  [/^\/usr\/bin\/rpmsign$/, 'rpm-sign'],
  [/^\/usr\/bin\/rpm2archive$/, 'rpm2archive'],
  // merged-/usr aliases, which every Debian package with a file in /bin, /lib or /sbin lists
  [/^\/(bin|sbin|lib|lib32|lib64|libx32)$/, 'filesystem'],
];

/** Paths no Debian package owns (made by maintainer scripts) and the package they belong with. */
const UNOWNED = [
  [/^\/usr\/lib\/modules\/[^/]+\//, 'kernel'], // depmod's modules.* files
  [/^\/etc\/ssl\/certs\/ca-certificates\.crt$/, 'ca-certificates'],
  [/^\/etc\/ca-certificates\.conf$/, 'ca-certificates'],
  [/^\/etc\/ssh\/(sshd_config|moduli)$/, 'openssh-server'],
  [/^\/var\/lib\/pam\//, 'pam'],
  [/^\/etc\/pam\.d\/common-/, 'pam'],
  [/^\/var\/lib\/systemd\/catalog\//, 'systemd'],
  [/^\/etc\/systemd\/system\/[^/]*\.wants$/, 'systemd'],
  [/^\/etc\/sudoers\.d$/, 'sudo'],
  [/^\/etc\/security\/opasswd$/, 'pam'],
  [/^\/usr\/lib\/udev\/hwdb\.bin$/, 'systemd-udev'],
  [/^\/etc\/hosts\.(allow|deny)$/, 'libwrap0'],
  [/^\/etc\/inputrc$/, 'readline'],
  [/^\/etc\/modules$/, 'kmod'],
];

/** Never packaged: runtime contents, Debian package-manager state, per-machine identity. */
const EXCLUDE = [
  /^\/(dev|proc|sys|run|tmp|var\/tmp|mnt|media)\/./,
  /^\/var\/lib\/(dpkg|apt|ucf)(\/|$)/,
  /^\/var\/cache\/apt(\/|$)/,
  /^\/etc\/apt(\/|$)/,
  /^\/var\/log\/apt(\/|$)/,
  /^\/var\/log\/(dpkg|alternatives|bootstrap)\.log$/,
  /^\/var\/cache\/debconf\/[^/]+\.dat(-old)?$/,
  /^\/var\/lib\/systemd\/deb-systemd(-user)?-helper-(enabled|masked)(\/|$)/,
  /^\/var\/lib\/grub\/ucf(\/|$)/,
  /^\/var\/cache\/ldconfig\/aux-cache$/,
  /^\/boot\/initrd\.img-/,
  /^\/etc\/(machine-id|hostname|resolv\.conf|mtab|\.pwd\.lock)$/,
  /^\/var\/lib\/dbus\/machine-id$/,
  /^\/etc\/(passwd|group|shadow|gshadow|subuid|subgid)-$/,
  /^\/etc\/ssh\/ssh_host_/,
];

/** Packages that are not repackaged Debian ones. `version` null: taken from `versionOf`. */
const EXTRA = {
  'azurelinux-release': { version: '3.0', noarch: true, summary: 'Azure Linux release files (/etc/os-release) for the Kiln test repository', requires: ['filesystem'] },
  'dracut-hostonly': {
    versionOf: 'dracut', noarch: true, requires: ['dracut'], summary: 'Host-only initramfs setting (empty in the Kiln test repository)',
    description: "Empty on purpose. Azure Linux's dracut-hostonly turns hostonly=yes on; Kiln builds the initramfs in a chroot on the build machine, where host-only detection would describe the build host's disks and drivers, not the image's. Kiln runs dracut itself.",
  },
  'dracut-vrf': { versionOf: 'dracut', noarch: true, requires: ['dracut'], summary: 'Dracut VRF support (empty in the Kiln test repository)', description: 'Empty: the test images configure no virtual routing and forwarding in the initramfs.' },
  'dracut-fips': { versionOf: 'dracut', noarch: true, requires: ['dracut'], summary: 'Dracut FIPS module (empty in the Kiln test repository)', description: "Empty: Debian's kernel and dracut have no FIPS module to ship; the package exists so configs that ask for FIPS resolve." },
  'dracut-hyperv': { versionOf: 'dracut', noarch: true, requires: ['dracut'], summary: 'Hyper-V drivers in the initramfs' },
  'dracut-virtio': { versionOf: 'dracut', noarch: true, requires: ['dracut'], summary: 'virtio drivers in the initramfs (Debian builds virtio_pci as a module)' },
  'dracut-xen': { versionOf: 'dracut', noarch: true, requires: ['dracut'], summary: 'Xen PV drivers in the initramfs' },
  initramfs: {
    version: '3.0', noarch: true, requires: ['dracut'], summary: 'Initramfs generation (empty in the Kiln test repository)',
    description: "Empty: Azure Linux's initramfs package runs dracut from rpm triggers; Kiln runs dracut itself after the install, once for the image's kernel.",
  },
  grub2: { versionOf: 'grub-common', requires: ['grub2-tools'], summary: 'GRUB 2 (common files and tools)', description: 'Meta package: everything is in grub2-tools.' },
  'grub2-efi-binary': {
    versionOf: 'grub-efi-amd64-bin', requires: ['filesystem'], summary: 'GRUB 2 EFI image /boot/efi/EFI/BOOT/grubx64.efi',
    description: "Built at repository-build time with Debian's grub-mkimage -O x86_64-efi -p /boot/grub2 and an embedded module set; like Azure Linux's binary it reads $prefix/grub.cfg from the ESP it was loaded from.",
  },
  shim: { versionOf: 'shim', requires: ['grub2-efi-binary'], summary: "UEFI shim (Debian's Microsoft-signed shimx64.efi) as /boot/efi/EFI/BOOT/bootx64.efi" },
  'rpm-build': { versionOf: 'rpm', requires: ['rpm', 'rpm-build-libs', 'debugedit', 'perl', 'bash', 'coreutils', 'findutils', 'cpio', 'diffutils', 'gzip', 'tar'], summary: "rpmbuild, rpmspec and gendiff (from Debian's rpm)" },
  'rpm-sign': { versionOf: 'rpm', requires: ['rpm', 'rpm-build-libs'], summary: "rpmsign (from Debian's rpm)" },
  rpm2archive: { versionOf: 'rpm', requires: ['rpm-libs', 'libarchive', 'popt'], summary: "rpm2archive (from Debian's rpm2cpio)" },
  tdnf: {
    version: '0', noarch: true, requires: ['rpm'], summary: 'tdnf (empty in the Kiln test repository)',
    description: 'Empty: Debian has no tdnf. Images are built with dnf --installroot from the build host; the guest queries its packages with rpm.',
  },
  'hyperv-daemons': { version: '0', requires: ['filesystem'], summary: 'Hyper-V daemons (empty in the Kiln test repository)', description: 'Empty: the test images do not run on Hyper-V.' },
  'cloud-init': {
    version: '0', noarch: true, requires: ['filesystem'], summary: 'cloud-init (empty in the Kiln test repository)',
    description: 'Empty on purpose: a real cloud-init waits for a datasource at boot, which would stall every offline boot test.',
  },
  'cloud-utils-growpart': { version: '0', noarch: true, requires: ['filesystem'], summary: 'growpart (empty in the Kiln test repository)', description: 'Empty: the test images are never resized.' },
  'core-packages-container': {
    version: '3.0', requires: ['filesystem', 'bash', 'glibc', 'azurelinux-release', 'rpm', 'rpm-libs', 'tdnf', 'coreutils', 'findutils', 'grep', 'gzip', 'sed', 'tar', 'ncurses-libs', 'readline', 'zlib', 'xz-libs'],
    summary: 'Meta package: the basic set of packages of a container (no systemd, no kernel)',
  },
  'core-packages-base-image': {
    version: '3.0',
    requires: ['core-packages-container', 'systemd', 'systemd-udev', 'dbus', 'shadow-utils', 'pam', 'util-linux', 'e2fsprogs', 'iproute', 'kmod', 'procps-ng', 'ca-certificates', 'sudo', 'openssh-clients', 'cpio', 'zstd'],
    summary: 'Meta package: the basic set of packages of a bootable image (no kernel, no boot loader)',
  },
  'kiln-test-unsigned': {
    version: '1.0', noarch: true, requires: [], unsigned: true, summary: 'Deliberately unsigned test package',
    description: 'The one package of the Kiln test repository without a signature: tests install it to prove unsigned packages are refused.',
  },
};

/** Package descriptions that say why a repackaged package differs from Azure Linux's. */
const NOTES = {
  'grub2-tools': "Debian's grub-common and grub2-common, also under Azure Linux's grub2-* program names (symlinks). Debian's grub uses the directory name \"grub\" where Azure Linux uses /boot/grub2: /boot/grub is a symlink to grub2, so grub-install's core.img prefix and grub-mkconfig's output meet.",
  kernel: "Debian's kernel, with Debian's version string in its file names (/boot/vmlinuz-<kver>, /usr/lib/modules/<kver>). No initramfs: Kiln runs dracut.",
  rpm: "Debian's rpm, rpm-common and rpm2cpio (but rpmbuild, rpmspec, gendiff: rpm-build; rpmsign: rpm-sign; rpm2archive: rpm2archive), with /etc/rpm/macros.dbpath setting %_dbpath /var/lib/rpm (Debian's default is ~/.rpmdb) so rpm -qa in the guest reads the image's database.",
  'openssh-server': "Debian's OpenSSH server; host keys are made when sshd first starts (ssh.service.d/kiln-host-keys.conf), not shipped.",
  filesystem: 'The base tree: directories, /etc/passwd, /etc/group, /etc/shadow, ld.so.cache and the other files no Debian package owns, with base-files and base-passwd.',
};

// ---------------------------------------------------------------------------------------------

function fail(msg) {
  process.stderr.write(`gen-spec: ${msg}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
const TREE = args[0];
const SPEC = args[1];
if (!TREE || !SPEC) fail('usage: gen-spec.mjs TREE SPEC [--version NAME=VERSION ...]');
const forcedVersions = {};
for (let i = 2; i < args.length; i++) {
  if (args[i] === '--version' && args[i + 1]?.includes('=')) {
    const [k, v] = args[++i].split('=');
    forcedVersions[k] = v;
  } else fail(`unknown argument ${args[i]}`);
}

const T = (p) => TREE + p;

/** lstat or null. */
function lst(p) {
  try {
    return lstatSync(T(p));
  } catch {
    return null;
  }
}

/** Resolve every symlink of `p` inside the tree (as chroot would). `followLast`: the last component too. */
function resolve(p, followLast, depth = 0) {
  if (depth > 40) return null;
  const parts = p.split('/').filter(Boolean);
  let cur = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === '.') continue;
    if (part === '..') {
      cur = cur.slice(0, cur.lastIndexOf('/'));
      continue;
    }
    const next = `${cur}/${part}`;
    const last = i === parts.length - 1;
    const st = lst(next);
    if (st?.isSymbolicLink() && (!last || followLast)) {
      const target = readlinkSync(T(next));
      const rest = parts.slice(i + 1).join('/');
      const base = target.startsWith('/') ? target : `${cur}/${target}`;
      return resolve(rest ? `${base}/${rest}` : base, followLast, depth + 1);
    }
    cur = next;
  }
  return cur || '/';
}

const dirCache = new Map();
/** The path dpkg listed, as it is on disk: the directory part resolved (/bin/ls → /usr/bin/ls). */
function canonical(p) {
  const i = p.lastIndexOf('/');
  const dir = p.slice(0, i) || '/';
  let d = dirCache.get(dir);
  if (d === undefined) {
    d = resolve(dir, true) ?? dir;
    dirCache.set(dir, d);
  }
  return `${d === '/' ? '' : d}/${p.slice(i + 1)}`;
}

// --- Debian's package database -----------------------------------------------------------------

const status = readFileSync(T('/var/lib/dpkg/status'), 'utf8');
/** name → {version, depends: string[][] (alternatives), conffiles: string[]} */
const debs = new Map();
const provides = new Map(); // virtual name → installed package
for (const stanza of status.split(/\n\n+/)) {
  const fields = {};
  let key = null;
  for (const line of stanza.split('\n')) {
    if (/^\s/.test(line) && key) fields[key] += `\n${line.trim()}`;
    else {
      const m = /^([A-Za-z-]+):\s?(.*)$/.exec(line);
      if (m) {
        key = m[1];
        fields[key] = m[2];
      }
    }
  }
  if (!fields.Package || !/ installed$/.test(fields.Status ?? '')) continue;
  const dep = [fields['Pre-Depends'], fields.Depends].filter(Boolean).join(', ');
  const depends = dep
    ? dep.split(',').map((g) => g.split('|').map((a) => a.trim().split(/[\s(:]/)[0]).filter(Boolean)).filter((g) => g.length)
    : [];
  const conffiles = (fields.Conffiles ?? '').split('\n').map((l) => l.trim()).filter((l) => l && !/ (obsolete|remove-on-upgrade)$/.test(l)).map((l) => l.split(' ')[0]);
  debs.set(fields.Package, { version: fields.Version, depends, conffiles });
  for (const p of (fields.Provides ?? '').split(',')) {
    const n = p.trim().split(/[\s(]/)[0];
    if (n && !provides.has(n)) provides.set(n, fields.Package);
  }
}

function azlName(deb) {
  for (const [pats, azl] of DEB_TO_AZL) {
    if (pats.some((p) => (typeof p === 'string' ? p === deb : p.test(deb)))) return azl;
  }
  return deb;
}

/** Debian version → rpm Version: no epoch, no Debian revision, no repack/stable-update tags, no - ~ : */
function rpmVersion(v) {
  let s = v.replace(/^\d+:/, '');
  if (s.includes('-')) s = s.slice(0, s.lastIndexOf('-'));
  s = s.replace(/[+~.](dfsg|ds)\d*|[+~](deb\d+u\d+|nmu\d+|b\d+)/g, '');
  s = s.replace(/[-~:]/g, '.');
  return s || '0';
}

// diversions: a file another package shipped at `from` lives at `to`
const diversions = new Map();
{
  const lines = existsSync(T('/var/lib/dpkg/diversions')) ? readFileSync(T('/var/lib/dpkg/diversions'), 'utf8').split('\n') : [];
  for (let i = 0; i + 2 < lines.length; i += 3) diversions.set(lines[i], { to: lines[i + 1], by: lines[i + 2] });
}

/** canonical path → Set of Debian packages listing it */
const owners = new Map();
const conffiles = new Set();
for (const f of readdirSync(T('/var/lib/dpkg/info'))) {
  if (!f.endsWith('.list')) continue;
  const deb = f.slice(0, -5).replace(/:.*$/, '');
  if (!debs.has(deb)) continue;
  for (let p of readFileSync(T(`/var/lib/dpkg/info/${f}`), 'utf8').split('\n')) {
    if (!p || p === '/.') continue;
    const div = diversions.get(p);
    if (div && div.by !== deb) p = div.to;
    const c = canonical(p);
    if (!owners.has(c)) owners.set(c, new Set());
    owners.get(c).add(deb);
  }
}
for (const d of debs.values()) for (const c of d.conffiles) conffiles.add(canonical(c));

// --- the tree ------------------------------------------------------------------------------------

function readDb(file) {
  const m = new Map();
  for (const l of readFileSync(T(file), 'utf8').split('\n')) {
    const f = l.split(':');
    if (f.length > 2) m.set(Number(f[2]), f[0]);
  }
  return m;
}
const users = readDb('/etc/passwd');
const groups = readDb('/etc/group');

/** Every path of the tree, excluded ones removed from disk. */
const entries = [];
let removed = 0;
function walk(dir) {
  for (const name of readdirSync(T(dir || '/')).sort()) {
    const p = `${dir}/${name}`;
    if (EXCLUDE.some((re) => re.test(p))) {
      rmSync(T(p), { recursive: true, force: true });
      removed++;
      continue;
    }
    const st = lstatSync(T(p));
    entries.push({ path: p, st });
    if (st.isDirectory()) walk(p);
  }
}
walk('');

/** Azure Linux package → {debs:Set, files: [{path, st}]} */
const pkgs = new Map();
function pkg(name) {
  let p = pkgs.get(name);
  if (!p) {
    p = { name, debs: new Set(), files: [], dirs: [] };
    pkgs.set(name, p);
  }
  return p;
}
for (const name of Object.keys(EXTRA)) pkg(name);
for (const deb of debs.keys()) pkg(azlName(deb)).debs.add(deb);

const ruleFor = (rules, p) => rules.find(([re]) => re.test(p))?.[1];
const defaulted = [];
const multiOwned = [];
for (const e of entries) {
  const p = e.path;
  const forced = ruleFor(FORCED, p);
  const debOwners = [...(owners.get(p) ?? [])].sort();
  if (e.st.isDirectory()) {
    const names = forced ? [forced] : [...new Set(debOwners.map(azlName))];
    if (!names.length) names.push(ruleFor(UNOWNED, p) ?? 'filesystem');
    for (const n of names) pkg(n).dirs.push(e);
    continue;
  }
  if (!e.st.isFile() && !e.st.isSymbolicLink()) fail(`${p}: not a file, directory or symlink (add it to EXCLUDE)`);
  let owner = forced;
  if (!owner && debOwners.length) {
    if (debOwners.length > 1 && !e.st.isDirectory()) multiOwned.push(`${p} (${debOwners.join(', ')})`);
    owner = azlName(debOwners[0]);
  }
  owner ??= ruleFor(UNOWNED, p);
  if (!owner && e.st.isSymbolicLink()) {
    // alternatives, enablement links, certificate hashes: with the package of what they point at
    const target = resolve(p, true);
    const t = target && [...(owners.get(target) ?? [])].sort()[0];
    if (t) owner = azlName(t);
  }
  if (!owner) {
    owner = 'filesystem';
    defaulted.push(p);
  }
  pkg(owner).files.push(e);
}

// --- dependencies -------------------------------------------------------------------------------

function requiresOf(p) {
  const out = new Set([...(EXTRA[p.name]?.requires ?? []), ...(ADD_REQUIRES[p.name] ?? [])]);
  for (const deb of p.debs) {
    for (const group of debs.get(deb).depends) {
      const pick = group.find((a) => debs.has(a)) ?? group.map((a) => provides.get(a)).find(Boolean);
      if (!pick || NEVER_REQUIRED.has(pick)) continue;
      out.add(azlName(pick));
    }
  }
  for (const d of DROP_REQUIRES[p.name] ?? []) out.delete(d);
  // every package sits on the base tree, so rpm installs `filesystem` (users, groups) first; it
  // requires nothing itself (Debian's base-files and base-passwd depend on what their maintainer
  // scripts run), so no dependency loop can put another package before it
  if (p.name === 'filesystem') return [];
  if (p.name !== 'kiln-test-unsigned') out.add('filesystem');
  out.delete(p.name);
  for (const r of out) if (!pkgs.has(r)) fail(`${p.name} requires ${r}, which no package provides`);
  return [...out].sort();
}

function versionOf(p) {
  if (forcedVersions[p.name]) return forcedVersions[p.name];
  const x = EXTRA[p.name];
  if (x?.version) return x.version;
  const deb = x?.versionOf ?? PRIMARY[p.name] ?? (p.debs.has(p.name) ? p.name : [...p.debs].sort()[0]);
  if (forcedVersions[deb]) return forcedVersions[deb];
  const d = debs.get(deb);
  if (!d) fail(`no version for ${p.name} (Debian ${deb} is not installed; pass --version ${p.name}=...)`);
  return rpmVersion(d.version);
}

// --- the spec ------------------------------------------------------------------------------------

function specPath(p) {
  if (/["\n\r]/.test(p)) fail(`cannot name ${JSON.stringify(p)} in a spec`);
  let s = p.replace(/%/g, '%%');
  if (/[[\]*?{}]/.test(s)) {
    if (s.includes('\\')) fail(`cannot name ${JSON.stringify(p)} in a spec (glob characters and a backslash)`);
    s = s.replace(/[[\]*?{}]/g, (c) => `[${c}]`);
  }
  return `"${s}"`;
}

function attr(st) {
  const u = users.get(st.uid);
  const g = groups.get(st.gid);
  if (u === undefined || g === undefined) fail(`uid ${st.uid} / gid ${st.gid} not in the tree's passwd/group`);
  return u === 'root' && g === 'root' ? '' : `%attr(-,${u},${g}) `;
}

function fileLine(e) {
  const p = e.path;
  let flags = '';
  if (/^\/usr\/share\/(doc|man|info)\//.test(p)) flags += '%doc ';
  // /usr/share/locale/<lang>/..., /usr/share/man/<lang>/... (not the man1..man8 sections)
  const lang = /^\/usr\/share\/(?:locale|man)\/([^/]+)\/./.exec(p)?.[1];
  if (lang && !/^man\d/.test(lang)) flags += `%lang(${lang}) `;
  if (e.st.isFile() && conffiles.has(p)) flags += '%config(noreplace) ';
  return `${flags}${attr(e.st)}${specPath(p)}`;
}

const out = [];
const w = (s = '') => out.push(s);
w('# Generated by scripts/azl-test-repo/gen-spec.mjs: do not edit.');
w('%global _buildshell /bin/bash');
w('%define debug_package %{nil}');
w('%define __os_install_post %{nil}');
w('%define __arch_install_post %{nil}');
w('%define __spec_install_post %{nil}');
w('%define _build_id_links none');
w('%define _binary_payload w2.zstdio');
w('%define _binary_filedigest_algorithm 8');
w('%define _unpackaged_files_terminate_build 1');
w('%define _build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm');
w('Name: kiln-azl-test-repo');
w('Version: 3.0');
w(`Release: ${RELEASE}`);
w('Summary: The Kiln offline Azure Linux 3.0 test repository');
w('License: Various (see /usr/share/doc/*/copyright)');
w('Vendor: Kiln test repository');
w('Distribution: Azure Linux (Kiln test repository)');
w('URL: https://github.com/kiln');
w('%description');
w('Packages repackaged from Debian bookworm under Azure Linux 3.0 names.');
const names = [...pkgs.keys()].sort();
for (const name of names) {
  const p = pkgs.get(name);
  const x = EXTRA[name];
  const debList = [...p.debs].sort();
  w();
  w(`%package -n ${name}`);
  w(`Version: ${versionOf(p)}`);
  w(`Release: ${RELEASE}`);
  w(`Summary: ${x?.summary ?? `${name} (repackaged from Debian ${debList.join(', ')})`}`);
  w('AutoReqProv: no');
  if (x?.noarch) w('BuildArch: noarch');
  for (const r of requiresOf(p)) w(`Requires: ${r}`);
  w(`%description -n ${name}`);
  w(x?.description ?? NOTES[name] ?? (debList.length ? `Repackaged from Debian bookworm: ${debList.join(', ')}.` : x.summary));
  if (x?.description && debList.length) w(`Repackaged from Debian bookworm: ${debList.join(', ')}.`);
}
// rpm looks owners up in the root (its /etc/passwd and /etc/group) while it unpacks a package, so
// the files of the package that brings those two files (/etc/shadow: root:shadow, /var/mail:
// root:mail, setgid) would fall back to root, with a warning, and lose their set-id bits. In a new
// root, its %pretrans (Lua: no shell exists yet) writes the two files first; rpm then unpacks the
// same content over them.
const accounts = [...pkgs.values()].find((p) => p.files.some((e) => e.path === '/etc/group'));
if (!accounts || !accounts.files.some((e) => e.path === '/etc/passwd')) fail('no package carries both /etc/passwd and /etc/group');
{
  const text = (f) => {
    const t = readFileSync(T(f), 'utf8').replace(/%/g, '%%');
    if (t.includes(']==]')) fail(`${f} cannot be quoted in Lua`);
    return `[==[${t}]==]`;
  };
  w();
  w(`%pretrans -n ${accounts.name} -p <lua>`);
  w('if not posix.access("/etc/group") then');
  w('  posix.mkdir("/etc")');
  w(`  for name, content in pairs({ passwd = ${text('/etc/passwd')}, group = ${text('/etc/group')} }) do`);
  w('    local f = assert(io.open("/etc/" .. name, "w"))');
  w('    f:write(content)');
  w('    f:close()');
  w('  end');
  w('end');
}
w();
w('%prep');
w('%build');
w('%install');
w('rmdir %{buildroot}');
w(`mv ${specPath(TREE).slice(1, -1)} %{buildroot}`);
for (const name of names) {
  const p = pkgs.get(name);
  w();
  w(`%files -n ${name}`);
  w('%defattr(-,root,root,-)');
  for (const e of p.dirs) w(`%dir ${attr(e.st)}${specPath(e.path)}`);
  for (const e of p.files) w(fileLine(e));
}
writeFileSync(SPEC, `${out.join('\n')}\n`);

// --- report --------------------------------------------------------------------------------------

const say = (s) => process.stderr.write(`${s}\n`);
say(`gen-spec: ${entries.length} paths in ${pkgs.size} packages (${removed} excluded paths removed)`);
if (multiOwned.length) say(`gen-spec: listed by several Debian packages (first one wins): ${multiOwned.join('; ')}`);
if (defaulted.length) say(`gen-spec: unowned, given to filesystem: ${defaulted.join(' ')}`);
for (const name of names) {
  const p = pkgs.get(name);
  say(`  ${name}-${versionOf(p)}: ${p.files.length} files${p.debs.size ? ` from ${[...p.debs].sort().join(',')}` : ''}`);
}

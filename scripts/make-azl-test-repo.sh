#!/bin/bash
# make-azl-test-repo.sh DIR
#
# Builds the offline stand-in for Azure Linux 3.0's package mirror: a signed local RPM repository
# whose packages carry Azure Linux names and are repackaged from a Debian bookworm tree (mmdebstrap),
# so Kiln's RPM backend can install bootable Azure Linux-shaped images with no network but the
# Debian mirror. See docs/distros.md, "The offline Azure Linux test repository".
#
#   DIR/3.0/prod/base/x86_64/*.rpm + repodata/ (+ repodata/repomd.xml.asc)
#   DIR/RPM-GPG-KEY-kiln-test        the armored public key (private key: DIR/.gnupg)
#   DIR/.kiln-test-repo-hash         hash of this script, scripts/azl-test-repo/* and the Debian package list
#
# `make-azl-test-repo.sh --hash` prints that hash and exits (test/e2e/lib/azl-repo.ts names its
# directory after it).
#
# Prints file://DIR as the last line of stdout; progress goes to stderr. When DIR already holds a
# complete repository of the same hash, it prints the URL and does nothing else. The build happens
# in DIR.tmp.XXXXXX and is renamed into place at the end, so a killed run never leaves a DIR that
# passes the check. Runs as root (mmdebstrap --mode=root, chroot).
set -euo pipefail
exec 3>&1 1>&2 # stdout is for the URL only

die() { echo "make-azl-test-repo: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 DIR | --hash"
SELF=$(realpath -- "${BASH_SOURCE[0]}")
DATA=$(dirname "$SELF")/azl-test-repo
REPO_PATH=3.0/prod/base/x86_64

# The Debian tree the packages are cut from. --variant=essential adds the Essential: yes packages
# (coreutils, dash, login, util-linux...); apt itself is not installed.
DEBIAN_SUITE=bookworm
DEBIAN_PACKAGES=(
  systemd systemd-sysv libpam-systemd udev dbus kmod
  linux-image-amd64 dracut
  grub-efi-amd64-bin grub-pc-bin grub2-common
  passwd login sudo
  rpm ca-certificates cron anacron logrotate
  iproute2 e2fsprogs util-linux procps zstd cpio
  openssh-server
  cryptsetup-bin
)
# Embedded in grubx64.efi (Azure Linux's image embeds its modules too: it must not need /boot).
GRUB_EFI_MODULES=(
  normal configfile search search_fs_uuid search_fs_file search_label linux boot echo test gzio
  efi_gop efi_uga all_video video_bochs video_cirrus font gfxterm serial terminal fat ext2 xfs btrfs
  part_gpt part_msdos loadenv reboot halt sleep ls cat chain regexp probe minicmd
)

HASH=$(
  {
    cat "$SELF"
    for f in "$DATA"/*; do printf '%s\n' "${f##*/}"; cat "$f"; done
    printf '%s\n' "$DEBIAN_SUITE" "${DEBIAN_PACKAGES[@]}"
  } | sha256sum | cut -c1-64
)

if [ "$1" = --hash ]; then echo "$HASH" >&3; exit 0; fi
DIR=$(realpath -m -- "$1")
case $DIR in *[!A-Za-z0-9._/+-]*) die "DIR may only contain letters, digits and . _ / + - ($DIR)" ;; esac

complete() {
  [ "$(cat "$DIR/.kiln-test-repo-hash" 2>/dev/null)" = "$HASH" ] &&
    [ -s "$DIR/$REPO_PATH/repodata/repomd.xml" ] && [ -s "$DIR/$REPO_PATH/repodata/repomd.xml.asc" ] &&
    [ -s "$DIR/RPM-GPG-KEY-kiln-test" ]
}
done_url() { echo "file://$DIR" >&3; exit 0; }

complete && done_url

[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap --mode=root, chroot)"
for t in mmdebstrap rpmbuild rpmsign rpmkeys createrepo_c gpg gpg-agent gpgconf dpkg-deb unshare chroot node flock; do
  command -v "$t" >/dev/null || die "$t is missing: run ./kiln prereqs --all --install"
done

mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9
complete && done_url # another run finished it while we waited

# We hold the lock: any DIR.tmp.* is left over from a killed run.
rm -rf --one-file-system "$DIR".tmp.* "$DIR".old.*
TMP=$(mktemp -d "$DIR.tmp.XXXXXX")
chmod 0755 "$TMP"
WORK=$TMP/.work
# gpg-agent's socket lives in its home: keep that path short (DIR may be deep), move it in at the
# end. One name per DIR, so a killed run's is removed by the next one (which holds the lock).
GNUPGHOME=/tmp/kiln-gpg.$(printf '%s' "$DIR" | sha256sum | cut -c1-12)
export GNUPGHOME
cleanup() {
  gpgconf --kill all 2>/dev/null || true
  rm -rf --one-file-system "$TMP" "$GNUPGHOME"
}
rm -rf --one-file-system "$GNUPGHOME"
mkdir -m 0700 "$GNUPGHOME"
trap cleanup EXIT
trap 'exit 130' INT TERM
T0=$(date +%s)
step() { echo "make-azl-test-repo: [+$(($(date +%s) - T0))s] $*"; }

TREE=$WORK/tree
REPO=$TMP/$REPO_PATH
mkdir -p "$WORK/debs" "$WORK/home" "$WORK/tmp" "$REPO"

# --- 1. the Debian tree --------------------------------------------------------------------------
step "mmdebstrap $DEBIAN_SUITE (${#DEBIAN_PACKAGES[@]} packages and their dependencies)"
hooks=()
[ -d /usr/share/mmdebstrap/hooks/eatmydata ] && hooks+=(--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata)
# INITRD=No: the kernel's postinst must not run dracut (Kiln builds the image's initramfs).
# shim-signed is downloaded, not installed (its postinst runs grub-install).
INITRD=No DEBIAN_FRONTEND=noninteractive unshare --mount --propagation private \
  mmdebstrap --mode=root --variant=essential --quiet \
  --aptopt='Apt::Install-Recommends "false"' "${hooks[@]}" \
  --include="$(IFS=,; echo "${DEBIAN_PACKAGES[*]}")" \
  --customize-hook="cd '$WORK/debs' && apt-get -q -o APT::Sandbox::User=root download shim-signed" \
  "$DEBIAN_SUITE" "$TREE"

# --- 2. what Azure Linux has and Debian does not ---------------------------------------------------
step "adding Azure Linux files (os-release, dracut drivers, grub2 names, grubx64.efi, shim)"
KVER=$(cd "$TREE/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//')
[ "$(echo "$KVER" | wc -l)" = 1 ] || die "expected one kernel in the tree, found: $KVER"
DATE=$(date -u +%Y%m%d)

rm -f "$TREE/etc/os-release" "$TREE/usr/lib/os-release"
cat >"$TREE/usr/lib/os-release" <<EOF
NAME="Microsoft Azure Linux"
VERSION="3.0.$DATE (Kiln test repository)"
ID=azurelinux
VERSION_ID="3.0"
PRETTY_NAME="Microsoft Azure Linux 3.0 (Kiln test repository)"
ANSI_COLOR="1;34"
HOME_URL="https://aka.ms/azurelinux"
BUG_REPORT_URL="https://aka.ms/azurelinux"
SUPPORT_URL="https://aka.ms/azurelinux"
EOF
ln -s ../usr/lib/os-release "$TREE/etc/os-release"
printf 'Microsoft Azure Linux 3.0 (Kiln test repository)\nAZURELINUX_BUILD_NUMBER=3.0.%s\n' "$DATE" >"$TREE/etc/azurelinux-release"
printf 'Microsoft Azure Linux 3.0 (Kiln test repository) \\n \\l\n\n' >"$TREE/etc/issue"
printf 'Microsoft Azure Linux 3.0 (Kiln test repository)\n' >"$TREE/etc/issue.net"

mkdir -p "$TREE/etc/dracut.conf.d"
for m in hv_vmbus hv_storvsc hv_netvsc hv_utils virtio_pci virtio_blk virtio_scsi virtio_net virtio_console xen-blkfront xen-netfront; do
  [ -n "$(find "$TREE/usr/lib/modules/$KVER" -name "$m.ko*" -print -quit)" ] || die "kernel $KVER has no module $m"
done
echo 'add_drivers+=" hv_vmbus hv_storvsc hv_netvsc hv_utils "' >"$TREE/etc/dracut.conf.d/hyperv.conf"
echo 'add_drivers+=" virtio_pci virtio_blk virtio_scsi virtio_net virtio_console "' >"$TREE/etc/dracut.conf.d/virtio.conf"
echo 'add_drivers+=" xen-blkfront xen-netfront "' >"$TREE/etc/dracut.conf.d/xen.conf"

# Debian's rpm keeps its database in ~/.rpmdb; Azure Linux's in /var/lib/rpm
mkdir -p "$TREE/etc/rpm"
echo '%_dbpath /var/lib/rpm' >"$TREE/etc/rpm/macros.dbpath"

# grub: Azure Linux's program names, and its /boot/grub2 directory for Debian's "grub" prefix
for f in "$TREE"/usr/bin/grub-* "$TREE"/usr/sbin/grub-*; do
  n=${f##*/}
  ln -s "$n" "${f%/*}/grub2-${n#grub-}"
done
[ ! -e "$TREE/boot/grub" ] || die "the Debian tree already has /boot/grub"
mkdir -p "$TREE/boot/grub2"
ln -s grub2 "$TREE/boot/grub"

mkdir -p "$TREE/boot/efi/EFI/BOOT"
GRUB_VERSION=$(chroot "$TREE" dpkg-query -W -f '${Version}' grub-efi-amd64-bin)
cat >"$TREE/tmp/sbat.csv" <<EOF
sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md
grub,4,Free Software Foundation,grub,2.06,https://www.gnu.org/software/grub/
grub.kiln,1,Kiln test repository,grub2,$GRUB_VERSION,https://aka.ms/azurelinux
EOF
chroot "$TREE" grub-mkimage -O x86_64-efi -p /boot/grub2 --sbat /tmp/sbat.csv \
  -o /boot/efi/EFI/BOOT/grubx64.efi "${GRUB_EFI_MODULES[@]}"
rm -f "$TREE/tmp/sbat.csv"

SHIM_DEB=$(ls "$WORK"/debs/shim-signed_*.deb)
SHIM_VERSION=$(dpkg-deb -f "$SHIM_DEB" Version | sed -E 's/^.*\+([0-9][0-9.]*)-[^-]*$/\1/')
[[ $SHIM_VERSION =~ ^[0-9][0-9.]*$ ]] || die "cannot read shim's version from $(dpkg-deb -f "$SHIM_DEB" Version)"
dpkg-deb -x "$SHIM_DEB" "$WORK/shim"
install -m 0644 "$WORK/shim/usr/lib/shim/shimx64.efi.signed" "$TREE/boot/efi/EFI/BOOT/bootx64.efi"
mkdir -p "$TREE/usr/share/doc/shim"
cp "$WORK/shim/usr/share/doc/shim-signed/copyright" "$TREE/usr/share/doc/shim/copyright"

# sshd needs host keys; an image must not share the repository's, so make them on first start
mkdir -p "$TREE/usr/lib/systemd/system/ssh.service.d"
cat >"$TREE/usr/lib/systemd/system/ssh.service.d/kiln-host-keys.conf" <<'EOF'
# Kiln test repository: host keys are made on first start, never shipped in a package.
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF

mkdir -p "$TREE/usr/share/kiln-test-unsigned"
echo 'This package is deliberately unsigned: installing it with gpgcheck=1 must fail.' >"$TREE/usr/share/kiln-test-unsigned/README"

# --- 3. one spec, one rpmbuild -----------------------------------------------------------------------
step "generating the spec"
node "$DATA/gen-spec.mjs" "$TREE" "$WORK/azl.spec" --version shim="$SHIM_VERSION"

step "rpmbuild"
cat >"$WORK/home/.rpmmacros" <<EOF
%_topdir $WORK/rpmbuild
%_tmppath $WORK/tmp
%_dbpath $WORK/rpmdb
%_rpmdir $REPO
EOF
# (Debian's packages have absolute symlinks; rpmbuild warns about each one)
HOME=$WORK/home rpmbuild -bb --quiet "$WORK/azl.spec" 2> >(grep -v '^warning: absolute symlink: ' >&2)
[ ! -e "$TREE" ] || die "rpmbuild left the tree behind"
ls "$REPO"/kiln-test-unsigned-*.rpm >/dev/null

# --- 4. key, signatures, metadata ------------------------------------------------------------------
step "signing $(ls "$REPO" | grep -c '\.rpm$') packages"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Kiln test repository <kiln-test-repo@kiln.invalid>' rsa3072 sign never
FPR=$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1 == "fpr" { print $10; exit }')
gpg --batch --armor --export "$FPR" >"$TMP/RPM-GPG-KEY-kiln-test"
ls "$REPO"/*.rpm | grep -v '/kiln-test-unsigned-[^/]*$' |
  HOME=$WORK/home xargs rpmsign --define '__gpg /usr/bin/gpg' --define "_gpg_name $FPR" --define "_gpg_path $GNUPGHOME" --addsign \
  >/dev/null 2> >(grep -v '^warning: Could not set GPG_TTY' >&2)

# check what tests will check: every package but one verifies with the key
HOME=$WORK/home rpmkeys --dbpath "$WORK/checkdb" --import "$TMP/RPM-GPG-KEY-kiln-test"
for rpm in "$REPO"/*.rpm; do
  out=$(HOME=$WORK/home rpmkeys --dbpath "$WORK/checkdb" -Kv "$rpm" 2>&1 || true)
  case ${rpm##*/} in
    kiln-test-unsigned-*) ! grep -q 'Signature' <<<"$out" || die "${rpm##*/} is signed" ;;
    *) grep -Eq 'Header V4 RSA/SHA[0-9]+ Signature, key ID [0-9a-f]+: OK' <<<"$out" || die "${rpm##*/} does not verify: $out" ;;
  esac
done

step "createrepo_c"
createrepo_c --quiet --general-compress-type=gz "$REPO"
gpg --batch --yes --armor --detach-sign -u "$FPR" -o "$REPO/repodata/repomd.xml.asc" "$REPO/repodata/repomd.xml"
gpg --batch --quiet --verify "$REPO/repodata/repomd.xml.asc" "$REPO/repodata/repomd.xml"

# --- 5. into place -----------------------------------------------------------------------------------
gpgconf --kill all
cp -a "$GNUPGHOME" "$TMP/.gnupg"
chmod 0700 "$TMP/.gnupg"
rm -rf --one-file-system "$WORK"
echo "$HASH" >"$TMP/.kiln-test-repo-hash"
sync -f "$TMP/.kiln-test-repo-hash"
if [ -e "$DIR" ]; then mv "$DIR" "$DIR.old.$$"; fi
mv "$TMP" "$DIR"
rm -rf --one-file-system "$DIR.old.$$"
step "done: $(ls "$DIR/$REPO_PATH" | grep -c '\.rpm$') packages, $(du -sh "$DIR/$REPO_PATH" | cut -f1)"
done_url

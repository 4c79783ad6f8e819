/**
 * The mmdebstrap command line for one install: the whole package set in one call (so triggers such
 * as update-initramfs and man-db run once), into the already-mounted image root, with the shared
 * package cache bind-mounted as /var/cache/apt/archives for the duration of the call.
 */
export interface MmdebstrapPlan {
  root: string;
  release: string;
  packages: string[];
  sources: string[];
  /** This build's archives directory (filled from the shared cache), bind-mounted in the root. */
  archives: string;
  /** This build's apt lists directory (seeded from the cache), bind-mounted in the root. */
  lists?: string;
  /** Use mmdebstrap's eatmydata hook: no fsync while unpacking (the image is synced once at the end). */
  eatmydata: boolean;
  /**
   * Replace update-initramfs by a stub while packages install: the kernel's postinst and the
   * initramfs-tools trigger (fired again by udev, kmod, zstd...) would otherwise each build an
   * initramfs. The build makes exactly one afterwards, once the system is configured.
   */
  deferInitramfs?: boolean;
  /**
   * A root-only apt_auth.conf outside the image (repository credentials): apt, which mmdebstrap
   * runs on the host, reads it as Dir::Etc::netrc. mmdebstrap copies --aptopt lines into the
   * image's apt.conf.d/99mmdebstrap, so the line naming this host path is removed again at the end.
   */
  netrc?: string;
}

const HOOKS = '/usr/share/mmdebstrap/hooks';
const INITRAMFS = '/usr/sbin/update-initramfs';

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function mmdebstrapArgs(plan: MmdebstrapPlan): string[] {
  const archives = '"$1/var/cache/apt/archives"';
  const args = [
    '--mode=root',
    '--variant=minbase',
    '--verbose',
    // the root is a fresh filesystem (lost+found) holding files written before install (fstab, dpkg filters)
    '--skip=check/empty',
    // the archives directory is this build's view of the cache: keep what was downloaded
    '--skip=essential/unlink',
    '--skip=download/empty',
    '--skip=cleanup/apt/cache',
    '--aptopt=Apt::Install-Recommends "false"',
    '--aptopt=Acquire::Retries "3"',
    `--setup-hook=mkdir -p ${archives} && mount --bind ${shellQuote(plan.archives)} ${archives}`,
    `--customize-hook=umount ${archives}`,
  ];
  if (plan.netrc) {
    args.push(`--aptopt=Dir::Etc::netrc ${JSON.stringify(plan.netrc)}`, `--customize-hook=sed -i '/^Dir::Etc::netrc /d' "$1/etc/apt/apt.conf.d/99mmdebstrap"`);
  }
  if (plan.lists) {
    // customize hooks run before mmdebstrap's cleanup empties the lists: unmount first, keep ours
    const lists = '"$1/var/lib/apt/lists"';
    args.push(`--setup-hook=mkdir -p ${lists} && mount --bind ${shellQuote(plan.lists)} ${lists}`, `--customize-hook=umount ${lists}`);
  }
  if (plan.deferInitramfs) {
    args.push(
      `--essential-hook=chroot "$1" dpkg-divert --quiet --local --rename --divert ${INITRAMFS}.kiln --add ${INITRAMFS} && printf '#!/bin/sh\\necho "update-initramfs: deferred by kiln"\\n' > "$1${INITRAMFS}" && chmod 755 "$1${INITRAMFS}"`,
      `--customize-hook=rm -f "$1${INITRAMFS}" && chroot "$1" dpkg-divert --quiet --local --rename --remove ${INITRAMFS}`,
    );
  }
  if (plan.eatmydata) args.push(`--hook-dir=${HOOKS}/eatmydata`);
  if (plan.packages.length) args.push(`--include=${plan.packages.join(',')}`);
  args.push(plan.release, plan.root, ...plan.sources);
  return args;
}

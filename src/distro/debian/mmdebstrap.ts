/**
 * The command lines of a Debian install, in two sandboxed phases (see install-root.ts):
 *
 * 1. download (network, no image): the host's apt, with a configuration of its own, fetches the
 *    package lists and every .deb the install will need into this build's archives directory;
 * 2. install (no network): mmdebstrap installs the whole package set in one call (so triggers such
 *    as update-initramfs and man-db run once) into the already-mounted image root, from those
 *    archives and lists, which the sandbox binds read-only into the root. Maintainer scripts never
 *    have a network, and can change neither the package cache nor the lists other builds reuse.
 */
export interface MmdebstrapPlan {
  root: string;
  release: string;
  packages: string[];
  sources: string[];
  /** Use an eatmydata hook: no fsync while unpacking (the image is synced once at the end). */
  eatmydata: boolean;
  /**
   * Replace update-initramfs by a stub while packages install: the kernel's postinst and the
   * initramfs-tools trigger (fired again by udev, kmod, zstd...) would otherwise each build an
   * initramfs. The build makes exactly one afterwards, once the system is configured.
   */
  deferInitramfs?: boolean;
  /** dpkg path-exclude patterns (never unpacked). */
  exclude?: string[];
  /** More mmdebstrap options (hooks), placed before the packages. */
  extra?: string[];
}

const HOOKS = '/usr/share/mmdebstrap/hooks';
const INITRAMFS = '/usr/sbin/update-initramfs';
/** What the eatmydata hooks need downloaded (the stock extract hook downloads them itself: no network in phase 2). */
export const EATMYDATA_PACKAGES = ['eatmydata', 'libeatmydata1'];

/**
 * mmdebstrap's eatmydata extract hook without its download: the two packages come from the archives
 * phase 1 filled. Same effect: libeatmydata in the root, dpkg diverted to a wrapper that preloads
 * it; the stock customize hook undoes it.
 */
const EATMYDATA_EXTRACT = [
  'set -eu',
  'a="$1/var/cache/apt/archives"',
  'e=$(ls "$a"/eatmydata_*_all.deb | sort -V | tail -n 1)',
  'l=$(ls "$a"/libeatmydata1_*.deb | sort -V | tail -n 1)',
  'dpkg-deb --fsys-tarfile "$e" | tar -C "$1" -x ./usr/bin/eatmydata',
  'dpkg-deb --fsys-tarfile "$l" | tar -C "$1" -x --wildcards "./usr/lib/*/libeatmydata.so*"',
  'mv "$1/usr/bin/dpkg" "$1/usr/bin/dpkg.distrib"',
  `printf '#!/bin/sh\\nexec /usr/bin/eatmydata /usr/bin/dpkg.distrib "$@"\\n' > "$1/usr/bin/dpkg"`,
  'chmod 755 "$1/usr/bin/dpkg"',
  `printf '/usr/bin/dpkg\\n/usr/bin/dpkg.distrib\\n:\\n' >> "$1/var/lib/dpkg/diversions"`,
].join('\n');

/** apt options both phases use (and that mmdebstrap writes into the image's apt configuration). */
export const APT_OPTIONS = ['Apt::Install-Recommends "false"', 'Acquire::Retries "3"'];

export function mmdebstrapArgs(plan: MmdebstrapPlan): string[] {
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
    // phase 1 fetched the lists; they are bound read-only (the root's own directory stays empty)
    '--skip=update',
    '--skip=cleanup/apt/lists',
    // the sandbox provides the root's /proc and /dev nodes; mounting needs a capability it lacks
    '--skip=chroot/mount',
    ...APT_OPTIONS.map((o) => `--aptopt=${o}`),
    ...(plan.exclude ?? []).map((p) => `--dpkgopt=path-exclude=${p}`),
  ];
  if (plan.deferInitramfs) {
    args.push(
      `--essential-hook=chroot "$1" dpkg-divert --quiet --local --rename --divert ${INITRAMFS}.kiln --add ${INITRAMFS} && printf '#!/bin/sh\\necho "update-initramfs: deferred by kiln"\\n' > "$1${INITRAMFS}" && chmod 755 "$1${INITRAMFS}"`,
      `--customize-hook=rm -f "$1${INITRAMFS}" && chroot "$1" dpkg-divert --quiet --local --rename --remove ${INITRAMFS}`,
    );
  }
  if (plan.eatmydata) args.push(`--extract-hook=${EATMYDATA_EXTRACT}`, `--customize-hook=${HOOKS}/eatmydata/customize.sh`);
  args.push(...(plan.extra ?? []));
  if (plan.packages.length) args.push(`--include=${plan.packages.join(',')}`);
  args.push(plan.release, plan.root, ...plan.sources);
  return args;
}

/** Where phase 1's apt keeps its state. */
export interface AptDownloadDirs {
  /** apt's own directory (configuration, sources, an empty dpkg status). */
  dir: string;
  lists: string;
  archives: string;
  /** A root-only apt auth.conf outside the image (repository credentials), read by this phase only. */
  netrc?: string;
}

/**
 * The apt configuration of phase 1: the host's apt, but nothing of the host's apt state or
 * configuration; the native architecture only; the host's keyrings (as mmdebstrap uses them).
 */
export function aptDownloadConfig(d: AptDownloadDirs, arch: string): string {
  return [
    `Apt::Architecture "${arch}";`,
    `Apt::Architectures "${arch}";`,
    `Dir "${d.dir}/";`,
    `Dir::State::Status "${d.dir}/status";`,
    `Dir::State::Lists "${d.lists}/";`,
    `Dir::Cache::Archives "${d.archives}/";`,
    'Dir::Etc::Trusted "/etc/apt/trusted.gpg";',
    'Dir::Etc::TrustedParts "/etc/apt/trusted.gpg.d/";',
    ...(d.netrc ? [`Dir::Etc::netrc "${d.netrc}";`] : []),
    'pkgCacheGen::ForceEssential ",";',
    'Acquire::Languages "none";',
    ...APT_OPTIONS.map((o) => `${o};`),
    '',
  ].join('\n');
}

/**
 * What phase 1 downloads, as apt arguments: the Essential:yes set alone (what mmdebstrap's own
 * download step computes) and everything together (essential, Priority:required, the packages),
 * resolved from an empty system, a superset of what phase 2's apt picks with essential installed.
 */
export function downloadSets(release: string, arch: string, packages: readonly string[]): string[][] {
  const narrow = (p: string) => `?narrow(?or(?archive(^${release}$),?codename(^${release}$)),?architecture(${arch}),${p})`;
  const essential = narrow('?essential');
  return [[essential], [essential, narrow('?and(?priority(required),?not(?essential))'), ...packages]];
}

/**
 * Sources as apt lines for the sandboxed install: a `file:` repository becomes `copy:`, so apt
 * copies its packages into the archives (dpkg runs chrooted in the image and cannot see the host's
 * files; plain `file:` did not work with mmdebstrap's root mode either).
 */
export function sandboxSources(sources: readonly string[]): string[] {
  return sources.map((s) => s.replace(/^(deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?)file:/, '$1copy:'));
}

/** Host paths sources read: local repositories and signed-by keyrings (bound read-only). */
export function sourcePaths(sources: readonly string[]): string[] {
  const paths = new Set<string>();
  for (const s of sources) {
    const opts = /^deb(?:-src)?\s+\[([^\]]*)\]/.exec(s)?.[1] ?? '';
    for (const o of opts.split(/\s+/)) {
      const m = /^signed-by=(\/.+)$/.exec(o);
      if (m?.[1]) paths.add(m[1]);
    }
    const uri = /^deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(s)?.[1] ?? '';
    const local = /^(?:file|copy):(?:\/\/)?(\/.*)$/.exec(uri);
    if (local?.[1]) paths.add(decodeURIComponent(local[1]).replace(/\/+$/, '') || '/');
  }
  return [...paths];
}

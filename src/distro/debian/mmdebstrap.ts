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
  cacheDir: string;
  dpkgFilters: string[];
  /** Extra files to create before packages are unpacked (e.g. initramfs-tools settings). */
  preseedFiles: { path: string; content: string }[];
  /** Use mmdebstrap's eatmydata hook: no fsync while unpacking (the image is synced once at the end). */
  eatmydata: boolean;
}

const HOOKS = '/usr/share/mmdebstrap/hooks';

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function mmdebstrapArgs(plan: MmdebstrapPlan): string[] {
  const archives = '"$1/var/cache/apt/archives"';
  const args = [
    '--mode=root',
    '--variant=minbase',
    '--verbose',
    // the root is a freshly made filesystem (lost+found) with a provisional /etc/fstab
    '--skip=check/empty',
    // the archives directory is the shared cache: keep what was downloaded
    '--skip=essential/unlink',
    '--skip=download/empty',
    '--skip=cleanup/apt/cache',
    '--aptopt=Apt::Install-Recommends "false"',
    '--aptopt=Acquire::Retries "3"',
    `--setup-hook=mkdir -p ${archives} && mount --bind ${shellQuote(plan.cacheDir)} ${archives}`,
    // apt inside the chroot cleans nothing, but the lock/partial entries are per-build
    `--customize-hook=umount ${archives}`,
  ];
  for (const f of plan.preseedFiles) {
    args.push(`--setup-hook=mkdir -p "$1"${shellQuote(dirnameOf(f.path))} && printf %s ${shellQuote(f.content)} > "$1"${shellQuote(f.path)}`);
  }
  if (plan.eatmydata) args.push(`--hook-dir=${HOOKS}/eatmydata`);
  for (const f of plan.dpkgFilters) args.push(`--dpkgopt=${f}`);
  if (plan.packages.length) args.push(`--include=${plan.packages.join(',')}`);
  args.push(plan.release, plan.root, ...plan.sources);
  return args;
}

function dirnameOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/**
 * The sandbox every program that runs *inside an image* gets, as bubblewrap (bwrap) command lines.
 * Pure: this file only builds argv; chroot.ts runs them. See docs/security.md ("The sandbox").
 *
 * Two shapes share one policy:
 *
 * - the image sandbox (`imageSandboxArgs`): the image root is `/` and the program sees nothing of
 *   the host: its own PID, IPC, UTS, mount and (unless asked) network namespaces, its own /proc with
 *   /proc/sys and friends read-only, a minimal /dev (null zero full random urandom tty, pts, shm)
 *   plus device nodes a call names explicitly, a private tmpfs /run, no /sys unless asked (then
 *   read-only);
 * - the tool sandbox (`toolSandboxArgs`): a host program that writes an image and chroots into it
 *   itself (mmdebstrap/apt/dpkg, dnf/rpm) sees a read-only view of the host's /usr and the few /etc
 *   files a package manager reads, a tmpfs /tmp, /var/tmp and /run, and read-write only the image
 *   root and the paths it is given; the install root gets its own /proc and minimal /dev nodes so
 *   the maintainer scripts it chroots into find them. `/proc/1/root` there is this view, not the host.
 *
 * Both: every capability that could reach past the namespaces (CAP_SYS_ADMIN: mount; CAP_MKNOD:
 * device nodes; CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_DAC_READ_SEARCH: open_by_handle_at; CAP_SYS_TIME,
 * CAP_SYS_PTRACE, CAP_NET_ADMIN, CAP_SYSLOG, CAP_BPF, ...) is dropped, no_new_privs is set (bwrap
 * always does), bind mounts are nodev except the device nodes a call exposes, a new session keeps
 * the program off Kiln's terminal (TIOCSTI), and --die-with-parent ends the whole namespace when
 * Kiln dies, even by SIGKILL.
 */
import { existsSync, lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { KilnError } from '../core/errors.js';

/**
 * What root keeps inside a sandbox: enough to install packages and configure a system (own files,
 * switch users, set file capabilities such as ping's, chroot) and nothing that reaches the kernel
 * or the host (Docker's default set minus CAP_MKNOD and CAP_NET_RAW).
 */
export const KEPT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_SETFCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_AUDIT_WRITE',
] as const;

/** Device nodes of the minimal /dev (bwrap --dev makes them, plus pts, shm, ptmx and the fd links). */
export const MINIMAL_DEV = ['null', 'zero', 'full', 'random', 'urandom', 'tty'] as const;

/**
 * Entries of a fresh procfs that must not be writable (a uid-0 process writes /proc/sys with file
 * permissions alone: kernel.core_pattern would run a program of its choice on the host). bwrap
 * covers irq and bus itself; its check skips /proc/sys when run as root, so Kiln binds them all.
 */
export const PROC_READ_ONLY = ['sys', 'sysrq-trigger', 'fs', 'irq', 'bus', 'acpi', 'scsi'] as const;
/** Entries hidden behind /dev/null (host-wide information or kernel memory). */
export const PROC_MASKED = ['kcore', 'keys', 'timer_list', 'sched_debug', 'latency_stats'] as const;

/**
 * The host's /etc as a package manager needs it (apt/dpkg, dnf/rpm, TLS, name resolution, the _apt
 * user, the dynamic linker, perl's configuration for mmdebstrap): read-only, only these entries.
 */
export const HOST_ETC = [
  'apt', 'dpkg', 'alternatives', 'ssl', 'ca-certificates', 'ca-certificates.conf', 'pki', 'crypto-policies',
  'dnf', 'yum.repos.d', 'rpm', 'resolv.conf', 'hosts', 'host.conf', 'nsswitch.conf', 'gai.conf',
  'passwd', 'group', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'perl', 'localtime', 'mime.types',
] as const;

/** Facts about the host a command line depends on (probed once; given explicitly in unit tests). */
export interface HostFacts {
  /** PROC_READ_ONLY and PROC_MASKED entries that exist in this kernel's procfs. */
  proc: string[];
  /** HOST_ETC entries that exist. */
  etc: string[];
  /** Top-level directories beside /usr: merged-/usr symlinks (`/bin -> usr/bin`) or real directories. */
  topLevel: { name: string; symlink?: string }[];
}

let probed: HostFacts | undefined;

export function hostFacts(): HostFacts {
  probed ??= {
    proc: [...PROC_READ_ONLY, ...PROC_MASKED].filter((p) => existsSync(`/proc/${p}`)),
    etc: HOST_ETC.filter((e) => existsSync(`/etc/${e}`)),
    topLevel: ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'].flatMap((name) => {
      try {
        const st = lstatSync(`/${name}`);
        if (st.isSymbolicLink()) return [{ name, symlink: readlinkSync(`/${name}`) }];
        return st.isDirectory() ? [{ name }] : [];
      } catch {
        return [];
      }
    }),
  };
  return probed;
}

/** Options of a command run inside an image. */
export interface ImageSandbox {
  /** Share the host's network (default: a network namespace of its own with only loopback). */
  network?: boolean;
  /**
   * Host device nodes exposed at the same path (e.g. the loop device grub-install writes to), each
   * with its sysfs entry, read-only (`/sys/dev/block/MAJ:MIN` and its directory): grub finds a
   * partition's disk and start sector through `udevadm info` and sysfs.
   */
  devices?: readonly string[];
  /** Mount the host's whole /sys read-only (default: none, or only the devices' entries). */
  sys?: boolean;
}

/** A block device's place in sysfs. */
export interface DeviceSysfs {
  /** /sys/dev/block/MAJ:MIN */
  link: string;
  /** Its target, relative (../../devices/virtual/block/loop3/loop3p1). */
  target: string;
  /** The directory it points to (/sys/devices/virtual/block/loop3/loop3p1). */
  dir: string;
}

/** The host's sysfs entry of a block device node (undefined for other nodes). */
export function hostSysfs(device: string): DeviceSysfs | undefined {
  try {
    const st = statSync(device);
    if (!st.isBlockDevice()) return undefined;
    const major = Math.floor(st.rdev / 256) & 0xfff;
    const minor = (st.rdev & 0xff) | (Math.floor(st.rdev / 4096) & 0xfff00);
    const link = `/sys/dev/block/${major}:${minor}`;
    const target = readlinkSync(link);
    return { link, target, dir: resolve(dirname(link), target) };
  } catch {
    return undefined;
  }
}

/** Namespaces, capabilities, process lifetime: the part both sandboxes share. */
function policyArgs(network: boolean): string[] {
  return [
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(network ? [] : ['--unshare-net']),
    '--die-with-parent',
    '--new-session',
    '--cap-drop', 'ALL',
    ...KEPT_CAPABILITIES.flatMap((c) => ['--cap-add', c]),
  ];
}

/** A fresh procfs at `dest` with the dangerous entries read-only or masked. */
function procArgs(dest: string, facts: HostFacts): string[] {
  const args = ['--proc', dest];
  for (const p of facts.proc) {
    if ((PROC_MASKED as readonly string[]).includes(p)) args.push('--ro-bind', '/dev/null', `${dest}/${p}`);
    else args.push('--ro-bind', `/proc/${p}`, `${dest}/${p}`);
  }
  return args;
}

function checkDevice(device: string): void {
  if (!/^\/dev\/[A-Za-z0-9._/-]+$/.test(device) || device.includes('..')) {
    throw new KilnError(`sandbox: "${device}" is not a device node under /dev`);
  }
}

/** bwrap options (without the program) that make `root` the `/` of the program. */
export function imageSandboxArgs(
  root: string,
  opts: ImageSandbox = {},
  facts: HostFacts = hostFacts(),
  sysfsOf: (device: string) => DeviceSysfs | undefined = hostSysfs,
): string[] {
  const args = ['--bind', root, '/', ...procArgs('/proc', facts), '--dev', '/dev'];
  const sysfs: DeviceSysfs[] = [];
  for (const d of opts.devices ?? []) {
    checkDevice(d);
    args.push('--dev-bind', d, d);
    const s = sysfsOf(d);
    if (s) sysfs.push(s);
  }
  args.push('--tmpfs', '/run');
  if (opts.sys) args.push('--ro-bind', '/sys', '/sys');
  else if (sysfs.length) {
    // a tmpfs /sys (nothing is created in the image's own /sys) with only these devices' entries
    args.push('--tmpfs', '/sys');
    const dirs = sysfs.map((s) => s.dir).filter((d, i, all) => !all.some((o, j) => j !== i && d.startsWith(`${o}/`)));
    for (const d of [...new Set(dirs)]) args.push('--ro-bind', d, d);
    for (const s of sysfs) args.push('--symlink', s.target, s.link);
    args.push('--remount-ro', '/sys');
  }
  args.push(...policyArgs(!!opts.network), '--chdir', '/');
  return args;
}

/** A bind of a host path into the tool sandbox. */
export interface SandboxBind {
  source: string;
  /** Where it appears (default: the same path). */
  dest?: string;
  readOnly?: boolean;
}

/** Options of a host program that writes an image (a package manager). */
export interface ToolSandbox {
  /**
   * The image root it installs into: bound read-write at the same path, with a procfs of the
   * sandbox's own at ROOT/proc and the minimal /dev nodes at ROOT/dev/*, so programs it chroots
   * into the root (dpkg and maintainer scripts, rpm scriptlets) have them.
   */
  installRoot?: string;
  /** Other host paths it may write (same path inside). */
  writable?: readonly string[];
  /** Host paths it may read beyond /usr and HOST_ETC (repositories, keyrings, files to copy in). */
  readable?: readonly string[];
  /** Binds to other places, e.g. a package cache at ROOT/var/cache/apt/archives (after the root). */
  binds?: readonly SandboxBind[];
  /** Share the host's network (downloads); default none. */
  network?: boolean;
}

/** bwrap options (without the program) for a package manager confined to what it needs. */
export function toolSandboxArgs(s: ToolSandbox, facts: HostFacts = hostFacts()): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const t of facts.topLevel) {
    if (t.symlink !== undefined) args.push('--symlink', t.symlink, `/${t.name}`);
    else args.push('--ro-bind', `/${t.name}`, `/${t.name}`);
  }
  for (const e of facts.etc) args.push('--ro-bind', `/etc/${e}`, `/etc/${e}`);
  args.push(...procArgs('/proc', facts), '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/var/tmp', '--tmpfs', '/run');
  for (const r of s.readable ?? []) args.push('--ro-bind', r, r);
  for (const w of s.writable ?? []) args.push('--bind', w, w);
  if (s.installRoot) {
    const root = s.installRoot;
    args.push('--bind', root, root);
    args.push(...procArgs(`${root}/proc`, facts));
    for (const d of MINIMAL_DEV) args.push('--dev-bind', `/dev/${d}`, `${root}/dev/${d}`);
  }
  for (const b of s.binds ?? []) args.push(b.readOnly ? '--ro-bind' : '--bind', b.source, b.dest ?? b.source);
  args.push(...policyArgs(!!s.network));
  return args;
}

/**
 * Mount points bwrap creates in an image root must be real directories of the image: bwrap follows
 * symbolic links when it creates them, so an image whose /run pointed at `/oldroot/etc/x` would make
 * it create a directory on the host. Checked on the host before every sandbox (nothing of the image
 * runs meanwhile: everything it started died with its PID namespace).
 */
export function assertPlainPath(root: string, relative: string): void {
  let path = resolve(root);
  for (const part of relative.split('/').filter(Boolean)) {
    path = join(path, part);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return; // missing: bwrap creates it from here on, below a checked directory
    }
    if (st.isSymbolicLink()) {
      throw new KilnError(`the image's ${path.slice(resolve(root).length)} is a symbolic link (to ${readlinkSync(path)}); Kiln mounts there, so it must be a directory`);
    }
  }
}

/** Mount points below an image root that the image sandbox uses. */
export function imageMountPoints(opts: ImageSandbox = {}): string[] {
  return ['proc', 'dev', 'run', ...(opts.sys || opts.devices?.length ? ['sys'] : [])];
}

/** A whole-disk loop device and its partition nodes (/dev/loop3, /dev/loop3p1, ...): what grub needs. */
export function diskNodes(device: string, devDir = '/dev'): string[] {
  const name = basename(device);
  const parts = readdirSync(devDir)
    .filter((n) => n.startsWith(`${name}p`) && /^\d+$/.test(n.slice(name.length + 1)))
    .sort((a, b) => Number(a.slice(name.length + 1)) - Number(b.slice(name.length + 1)));
  return [device, ...parts.map((p) => join(dirname(device), p))];
}

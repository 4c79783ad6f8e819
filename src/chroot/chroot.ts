/**
 * The chroot runner: run a program inside an image root. Each call gets its own private mount
 * namespace (`unshare --mount --propagation private`) in which /dev, /proc, /sys and a tmpfs /run
 * are mounted into the root before `chroot`; when the program ends (or is killed, even with
 * SIGKILL) the namespace and every mount in it disappear, so nothing can leak to the host.
 */
import { run, type RunOptions, type RunResult } from '../core/exec.js';

export interface ChrootRunOptions extends Omit<RunOptions, 'env' | 'cwd'> {
  /** Added to the minimal environment the program gets (the host's environment is not passed). */
  env?: Record<string, string>;
}

/** The environment every chroot program starts with. */
export const CHROOT_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  DEBIAN_FRONTEND: 'noninteractive',
  DEBCONF_NONINTERACTIVE_SEEN: 'true',
};

// $1 = root, the rest = argv. Runs in the new namespace, as root, before chroot.
const SETUP = `set -e
r=$1; shift
mkdir -p "$r/dev" "$r/proc" "$r/sys"
mount --rbind /dev "$r/dev"
mount -t proc proc "$r/proc"
mount --rbind /sys "$r/sys"
if [ -d "$r/run" ]; then mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$r/run"; fi
exec chroot "$r" "$@"`;

/** The argv that runs `argv` inside `root` (exposed for the unit tests and for logging). */
export function chrootCommand(root: string, argv: readonly string[]): [string, string[]] {
  if (!argv.length) throw new Error('chroot: empty command');
  return ['unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', SETUP, 'kiln-chroot', root, ...argv]];
}

export async function chroot(root: string, argv: readonly string[], opts: ChrootRunOptions = {}): Promise<RunResult> {
  const [cmd, args] = chrootCommand(root, argv);
  const { env, ...rest } = opts;
  return await run(cmd, args, { ...rest, env: { ...CHROOT_ENV, ...env } });
}

/** Run a shell snippet inside the root (`sh -c`). */
export async function chrootShell(root: string, script: string, opts: ChrootRunOptions = {}): Promise<RunResult> {
  return await chroot(root, ['/bin/sh', '-c', script], opts);
}

/**
 * Where a program runs when it is not a plain host tool: inside an image (`chroot`), or as a host
 * package manager that writes an image and runs the image's own scripts (`runInToolSandbox`). Both
 * go through bubblewrap with the policy of sandbox.ts, so nothing run for an image — configuration
 * steps, PostInstallScripts, grub, initramfs generators, package maintainer scripts — can see or
 * write the build host. Each call gets fresh namespaces; when the program ends, or Kiln dies (even
 * by SIGKILL: --die-with-parent), every process and mount of the call disappears with them.
 */
import { existsSync, lstatSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run, type RunOptions, type RunResult } from '../core/exec.js';
import { assertPlainPath, imageMountPoints, imageSandboxArgs, MINIMAL_DEV, toolSandboxArgs, type ImageSandbox, type ToolSandbox } from './sandbox.js';

export type { ImageSandbox, ToolSandbox, SandboxBind } from './sandbox.js';
export { diskNodes } from './sandbox.js';

export interface ChrootRunOptions extends Omit<RunOptions, 'env' | 'cwd'>, ImageSandbox {
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

/** The program that builds the sandboxes. */
export const BWRAP = 'bwrap';

/** The argv that runs `argv` inside `root` (exposed for the unit tests and for logging). */
export function chrootCommand(root: string, argv: readonly string[], sandbox: ImageSandbox = {}): [string, string[]] {
  if (!argv.length) throw new Error('chroot: empty command');
  return [BWRAP, [...imageSandboxArgs(root, sandbox), '--', ...argv]];
}

/** Run `argv` inside the image at `root` (the image is `/`; see sandbox.ts for what else it sees). */
export async function chroot(root: string, argv: readonly string[], opts: ChrootRunOptions = {}): Promise<RunResult> {
  const { env, network, devices, sys, ...rest } = opts;
  const sandbox: ImageSandbox = { ...(network ? { network } : {}), ...(devices ? { devices } : {}), ...(sys ? { sys } : {}) };
  for (const p of imageMountPoints(sandbox)) assertPlainPath(root, p);
  const [cmd, args] = chrootCommand(root, argv, sandbox);
  const where = [`sandbox: image ${root}`, network ? 'host network' : 'no network', ...(devices?.length ? [`devices ${devices.join(' ')}`] : []), ...(sys ? ['/sys read-only'] : [])];
  return await run(cmd, args, { ...rest, env: { ...CHROOT_ENV, ...env }, shownAs: { cmd: argv[0]!, args: argv.slice(1), where: where.join(', ') } });
}

/** Run a shell snippet inside the root (`sh -c`). */
export async function chrootShell(root: string, script: string, opts: ChrootRunOptions = {}): Promise<RunResult> {
  return await chroot(root, ['/bin/sh', '-c', script], opts);
}

/** The argv that runs the host program `argv` in the tool sandbox. */
export function toolSandboxCommand(argv: readonly string[], sandbox: ToolSandbox): [string, string[]] {
  if (!argv.length) throw new Error('sandbox: empty command');
  return [BWRAP, [...toolSandboxArgs(sandbox), '--', ...argv]];
}

/**
 * Run a host package manager (or any host program that writes an image root and chroots into it)
 * confined to what it needs: the host's /usr and package-manager configuration read-only, the
 * install root and `writable` read-write, nothing else of the host; no network unless asked. This
 * is the function for every backend: mmdebstrap (distro/debian) and `dnf --installroot` / rpm
 * (distro/rpm) alike, e.g.
 *
 *   runInToolSandbox(['dnf', '--installroot', root, '--setopt=cachedir=' + cache, ..., 'install', ...pkgs],
 *     { installRoot: root, writable: [cache, home], readable: [repoDir] }, { env: { ...process.env, HOME: home } })
 *
 * Maintainer scripts / scriptlets the tool runs chrooted into the root run with the same
 * namespaces and capabilities: `/proc/1/root` leads to the sandbox's view, never to the host.
 * Placeholder files bwrap creates for the root's /dev nodes are removed afterwards.
 */
export async function runInToolSandbox(argv: readonly string[], sandbox: ToolSandbox, opts: RunOptions = {}): Promise<RunResult> {
  const root = sandbox.installRoot;
  const placeholders: string[] = [];
  if (root) {
    const inRoot = (sandbox.binds ?? []).flatMap((b) => (b.dest?.startsWith(`${root}/`) ? [{ source: b.source, rel: b.dest.slice(root.length + 1) }] : []));
    for (const p of ['proc', 'dev', ...inRoot.map((b) => b.rel)]) assertPlainPath(root, p);
    // bwrap would make missing mount points (and their parents) mode 0700: /var/cache/apt is 0755
    for (const { source, rel } of inRoot) {
      const dest = join(root, rel);
      mkdirSync(statSync(source).isDirectory() ? dest : dirname(dest), { recursive: true, mode: 0o755 });
    }
    for (const d of ['proc', 'dev']) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
    for (const d of MINIMAL_DEV) if (!existsSync(join(root, 'dev', d))) placeholders.push(join(root, 'dev', d));
  }
  const [cmd, args] = toolSandboxCommand(argv, sandbox);
  const where = [
    'tool sandbox',
    ...(root ? [`root ${root}`] : []),
    ...(sandbox.writable?.length ? [`writes ${sandbox.writable.join(' ')}`] : []),
    ...(sandbox.readable?.length ? [`reads ${sandbox.readable.join(' ')}`] : []),
    ...(sandbox.binds ?? []).map((b) => {
      const dest = b.dest && root && b.dest.startsWith(`${root}/`) ? `ROOT${b.dest.slice(root.length)}` : b.dest;
      return `${b.readOnly ? 'ro' : 'rw'} ${b.source}${dest && dest !== b.source ? ` at ${dest}` : ''}`;
    }),
    sandbox.network ? 'host network' : 'no network',
  ];
  try {
    return await run(cmd, args, { ...opts, shownAs: { cmd: argv[0]!, args: argv.slice(1), where: where.join(', ') } });
  } finally {
    for (const p of placeholders) {
      try {
        const st = lstatSync(p);
        if (st.isFile() && st.size === 0) rmSync(p);
      } catch {
        // not created
      }
    }
  }
}

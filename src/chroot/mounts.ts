/**
 * The image's filesystems mounted as a tree under the build's root directory, parents before
 * children ("/" then "/boot" then "/boot/efi"...), each registered with the scope so they are
 * unmounted children-first on success, error or Ctrl-C. FAT partitions cannot be mounted (no vfat
 * in the kernel): their mount point gets a staging directory (bind-mounted) whose contents are
 * copied into the FAT filesystem with mtools when the tree is released.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { ExitCode, KilnError } from '../core/errors.js';
import { run } from '../core/exec.js';
import { mountPointProblem } from '../core/safe-text.js';
import type { Scope } from '../core/scope.js';

export interface MountSpec {
  id: string;
  mountPoint: string;
  device: string;
  fsType: string;
  /** The config's MountOptions (fstab options). */
  options?: string;
  /** FAT: staged in a directory instead of mounted. */
  staged: boolean;
}

/** Mount points in an order where every parent comes before its children. */
export function mountOrder<T extends { mountPoint: string }>(specs: readonly T[]): T[] {
  const depth = (p: string) => (p === '/' ? 0 : p.split('/').filter(Boolean).length);
  return [...specs].sort((a, b) => depth(a.mountPoint) - depth(b.mountPoint) || a.mountPoint.localeCompare(b.mountPoint));
}

/** Options that would stop the build from writing or running programs are dropped at build time. */
const BUILD_TIME_DROPPED = new Set(['ro', 'noauto', 'nofail', 'defaults', 'noexec', 'nosuid', 'nodev', 'auto', 'user', 'users', 'nouser', '_netdev']);

export function buildMountOptions(fsType: string, options: string | undefined): string[] {
  const kept = (options ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o && !BUILD_TIME_DROPPED.has(o) && !o.startsWith('x-') && !o.startsWith('comment='));
  // no background inode-table zeroing while we build: it would keep writing after we are done
  if ((fsType === 'ext3' || fsType === 'ext4') && !kept.includes('init_itable')) kept.push('noinit_itable');
  // no cache flushes while we build: on a loop device each journal commit's flush is an fsync of
  // the whole raw file. A build that dies is thrown away anyway; a finished one is frozen (journal
  // checkpointed) and synced before anything reads it.
  if ((fsType === 'ext3' || fsType === 'ext4') && !kept.some((o) => /^(no)?barrier/.test(o))) kept.push('barrier=0');
  return kept.length ? ['-t', fsType, '-o', kept.join(',')] : ['-t', fsType];
}

export interface MountedTree {
  root: string;
  /** Staging directories of FAT partitions, by partition id. */
  staging: Map<string, string>;
}

/**
 * Where a mount point goes on the host: below `root`, never elsewhere. The validator already refuses
 * mount points that are not plain absolute paths; this is the second line (a config that skipped
 * validation, a library caller): "/../../usr" would otherwise mount over the build host's /usr.
 */
export function mountTarget(root: string, mountPoint: string, id = '?'): string {
  const problem = mountPointProblem(mountPoint);
  if (problem) throw new KilnError(`partition '${id}': mount point ${JSON.stringify(mountPoint)} ${problem}; refusing to mount it`, ExitCode.InvalidConfig);
  // resolve: no trailing slash for "/", so the sweep record matches /proc/self/mountinfo
  const target = resolve(join(root, mountPoint));
  const base = resolve(root);
  if (target !== base && !target.startsWith(base + sep)) throw new KilnError(`partition '${id}': mount point ${JSON.stringify(mountPoint)} lies outside the image root`, ExitCode.InvalidConfig);
  return target;
}

/** Mount the tree; `stagingBase` holds the FAT staging directories. */
export async function mountTree(scope: Scope, root: string, specs: readonly MountSpec[], stagingBase: string): Promise<MountedTree> {
  const staging = new Map<string, string>();
  // every mount point is checked before anything is created or mounted
  const targets = new Map(specs.map((spec) => [spec, mountTarget(root, spec.mountPoint, spec.id)] as const));
  mkdirSync(root, { recursive: true });
  const realRoot = realpathSync(root);
  for (const spec of mountOrder(specs)) {
    const target = targets.get(spec)!;
    mkdirSync(target, { recursive: true });
    // no link on the way (the tree mounted so far is fresh, but a link there would lead out of it)
    const real = realpathSync(target);
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new KilnError(`partition '${spec.id}': mount point ${spec.mountPoint} leads to ${real}, outside the image root; refusing to mount it`);
    }
    let source = spec.device;
    let args: string[];
    if (spec.staged) {
      source = join(stagingBase, spec.id);
      mkdirSync(source, { recursive: true });
      staging.set(spec.id, source);
      args = ['--bind', source, target];
    } else {
      args = [...buildMountOptions(spec.fsType === 'linux-swap' ? 'swap' : spec.fsType, spec.options), source, target];
    }
    await scope.acquire(
      `mount ${spec.mountPoint}`,
      () => run('mount', args),
      () => unmount(target),
      () => ({ kind: 'mount', path: target }),
    );
  }
  return { root, staging };
}

/**
 * Make a filesystem's on-disk state complete before it is unmounted: freezing flushes the journal
 * (ext4) or log (xfs) into the filesystem proper. Needed because another process's mount namespace
 * created while the image was mounted (any `unshare --mount` on the host, e.g. a concurrent build)
 * keeps a copy of the mount: our umount then does not shut the filesystem down, and tools that do
 * not replay journals (grub, converters reading the raw file) would see stale metadata.
 */
export async function flushFilesystem(target: string): Promise<void> {
  await run('fsfreeze', ['--freeze', target]);
  await run('fsfreeze', ['--unfreeze', target]);
}

export async function unmount(target: string): Promise<void> {
  const r = await run('umount', [target], { allowFailure: true });
  if (r.code === 0 || /not mounted|no mount point/.test(r.stderrTail)) return;
  // a process still holds it (e.g. a script left a daemon): detach lazily rather than leak it
  await run('umount', ['--lazy', target]);
}

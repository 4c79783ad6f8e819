import { KilnError } from '../../core/errors.js';
import { assertNoControl } from '../../core/safe-text.js';
import type { SystemConfig } from '../../config/model.js';

/**
 * The kernel command line Kiln boots with: root device, the boot code's base options, then every
 * KernelCommandLine setting, then ExtraCommandLine last so a user can override what came before.
 * Pure: the boot code renders it into grub.cfg (or GRUB_CMDLINE_LINUX for grub-mkconfig).
 */
export interface CmdlineOptions {
  /** root=PARTUUID=<this> (the issue asks for the root device by PARTUUID). */
  rootPartuuid?: string;
  /** Any other root= spec (e.g. "UUID=..." or "/dev/sda2") when no PARTUUID applies. */
  root?: string;
  /** PARTUUID of a separate /boot partition: FIPS mode needs boot= to verify the kernel's HMAC. */
  bootPartuuid?: string;
  /** Options the boot code always wants (e.g. "ro", "console=ttyS0"), placed after root=. */
  base?: string[];
}

export function kernelCommandLineSettings(sc: SystemConfig): string[] {
  const k = sc.KernelCommandLine ?? {};
  const out: string[] = [];
  if (k.SELinux) {
    out.push('security=selinux', 'selinux=1');
    if (k.SELinux === 'force_enforcing') out.push('enforcing=1');
  }
  if (k.EnableFIPS) out.push('fips=1');
  if (k.ImaPolicy?.length) out.push(`ima_policy=${k.ImaPolicy.join('|')}`);
  // Debian 12 boots cgroup v2 by default, so version_one must be asked for explicitly.
  if (k.CGroup === 'version_two') out.push('systemd.unified_cgroup_hierarchy=1');
  else if (k.CGroup === 'version_one') out.push('systemd.unified_cgroup_hierarchy=0');
  return out;
}

export function kernelCommandLine(sc: SystemConfig, opts: CmdlineOptions = {}): string {
  const extra = sc.KernelCommandLine?.ExtraCommandLine?.trim() ?? '';
  if (extra.includes('`')) {
    throw new KilnError(`system config '${sc.Name}': KernelCommandLine.ExtraCommandLine must not contain the reserved character \``);
  }
  assertNoControl(extra, 'KernelCommandLine.ExtraCommandLine');
  const parts: string[] = [];
  if (opts.rootPartuuid) parts.push(`root=PARTUUID=${opts.rootPartuuid}`);
  else if (opts.root) parts.push(`root=${opts.root}`);
  parts.push(...(opts.base ?? []));
  const settings = kernelCommandLineSettings(sc);
  if (sc.KernelCommandLine?.EnableFIPS && opts.bootPartuuid) settings.push(`boot=PARTUUID=${opts.bootPartuuid}`);
  parts.push(...settings);
  if (extra) parts.push(extra);
  // every part reaches grub.cfg: nothing may start a new line there (the validator reports these first)
  return assertNoControl(parts.join(' '), 'kernel command line');
}

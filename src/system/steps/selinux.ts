import { existsInRoot, writeInRoot } from '../paths.js';
import { info, warn } from '../../core/log.js';
import { debian } from '../../distro/catalog/debian.js';
import type { DistroDecl } from '../../distro/catalog/index.js';
import { assertNoControl } from '../../core/safe-text.js';
import type { SystemStep } from '../types.js';

/**
 * KernelCommandLine.SELinux inside the image: the mode in /etc/selinux/config (force_enforcing is
 * "enforcing" there plus enforcing=1 on the command line), then the labels: when the image has
 * setfiles and the policy's file contexts, the build labels every file with the image's own policy
 * (as upstream's imager does); otherwise /.autorelabel makes the first boot label the filesystem,
 * as Debian's selinux-activate does. The policy type is the catalog's (Debian's
 * selinux-policy-default → "default", Azure Linux's selinux-policy → "targeted").
 */
export function selinuxType(policy: string | undefined, distro: DistroDecl = debian): string {
  return distro.selinuxType(policy?.trim() || distro.rules.defaultSelinuxPolicy);
}

export function renderSelinuxConfig(mode: string, type: string): string {
  assertNoControl(mode, 'KernelCommandLine.SELinux');
  assertNoControl(type, 'KernelCommandLine.SELinuxPolicy');
  return `# Written by kiln from KernelCommandLine.SELinux\nSELINUX=${mode === 'force_enforcing' ? 'enforcing' : mode}\nSELINUXTYPE=${type}\n`;
}

export const selinuxStep: SystemStep = {
  name: 'selinux',
  applies: (ctx) => Boolean(ctx.sc.KernelCommandLine?.SELinux),
  async run(ctx) {
    const k = ctx.sc.KernelCommandLine!;
    const type = selinuxType(k.SELinuxPolicy, ctx.distro);
    if (!(await existsInRoot(ctx.root, `/etc/selinux/${type}`))) {
      warn(`SELinux is '${k.SELinux}' but the image has no /etc/selinux/${type} policy; add the policy package ("${ctx.distro.rules.defaultSelinuxPolicy}") to the packages`);
    }
    await writeInRoot(ctx.root, '/etc/selinux/config', renderSelinuxConfig(k.SELinux!, type), { mode: 0o644 });
    const contexts = `/etc/selinux/${type}/contexts/files/file_contexts`;
    const setfiles = ['/usr/sbin/setfiles', '/sbin/setfiles'];
    if ((await existsInRoot(ctx.root, contexts)) && (await anyExists(ctx.root, setfiles))) {
      await ctx.chroot(['setfiles', '-F', '-e', '/proc', '-e', '/sys', '-e', '/dev', '-e', '/run', contexts, '/']);
      info(`SELinux: labelled the image with its ${type} policy`);
    } else {
      await writeInRoot(ctx.root, '/.autorelabel', '', { mode: 0o644 });
    }
  },
};

async function anyExists(root: string, paths: readonly string[]): Promise<boolean> {
  for (const p of paths) if (await existsInRoot(root, p)) return true;
  return false;
}

import { existsInRoot, writeInRoot } from '../paths.js';
import { warn } from '../../core/log.js';
import type { SystemStep } from '../types.js';

/**
 * KernelCommandLine.SELinux inside the image: the mode in /etc/selinux/config (force_enforcing is
 * "enforcing" there plus enforcing=1 on the command line), and /.autorelabel so the first boot labels
 * the filesystem, as Debian's selinux-activate does. The policy type is SELinuxPolicy's name minus
 * the package prefix (Debian's selinux-policy-default → "default").
 */
export function selinuxType(policy: string | undefined): string {
  const p = policy?.trim() || 'selinux-policy-default';
  return p.replace(/^selinux-policy-?/, '') || 'default';
}

export function renderSelinuxConfig(mode: string, type: string): string {
  return `# Written by kiln from KernelCommandLine.SELinux\nSELINUX=${mode === 'force_enforcing' ? 'enforcing' : mode}\nSELINUXTYPE=${type}\n`;
}

export const selinuxStep: SystemStep = {
  name: 'selinux',
  applies: (ctx) => Boolean(ctx.sc.KernelCommandLine?.SELinux),
  async run(ctx) {
    const k = ctx.sc.KernelCommandLine!;
    const type = selinuxType(k.SELinuxPolicy);
    if (!(await existsInRoot(ctx.root, `/etc/selinux/${type}`))) {
      warn(`SELinux is '${k.SELinux}' but the image has no /etc/selinux/${type} policy; add 'selinux-basics' and 'selinux-policy-default' to the packages`);
    }
    await writeInRoot(ctx.root, '/etc/selinux/config', renderSelinuxConfig(k.SELinux!, type), { mode: 0o644 });
    await writeInRoot(ctx.root, '/.autorelabel', '', { mode: 0o644 });
  },
};

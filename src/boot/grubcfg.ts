/**
 * grub configuration, rendered (pure). Three pieces:
 * - the stub grub.cfg embedded in (or next to) the EFI binary: find the filesystem holding /boot
 *   by UUID and hand over to its grub.cfg;
 * - Kiln's own grub.cfg (EnableGrubMkconfig false): one entry per installed kernel;
 * - the /etc/default/grub settings grub-mkconfig reads (EnableGrubMkconfig true).
 * The serial console is always enabled alongside the screen so headless VMs (and the tests) see
 * the menu and the kernel.
 */

/** Where /boot's files live as seen from the filesystem that holds them. */
export interface BootFs {
  /** Filesystem UUID of the partition holding /boot (root, or a separate /boot). */
  uuid: string;
  /** "/boot" when /boot is a directory of the root filesystem, "" when it is its own partition. */
  prefix: string;
}

export const GRUB_SERIAL = 'serial --unit=0 --speed=115200';

/** The stub config next to (or inside) the EFI binary; `grubDir` is "grub" or "grub2" (the distro's). */
export function stubConfig(boot: BootFs, grubDir = 'grub'): string {
  return [
    `search --no-floppy --fs-uuid --set=root ${boot.uuid}`,
    `set prefix=($root)${boot.prefix}/${grubDir}`,
    `configfile $prefix/grub.cfg`,
    '',
  ].join('\n');
}

export interface KernelEntry {
  version: string;
  /** File name of its initramfs under /boot, when there is one. */
  initrd?: string;
}

/** grub modules the config needs for these filesystems and this table type. */
export function grubModules(table: 'gpt' | 'mbr', fsTypes: readonly string[]): string[] {
  const mods = new Set<string>([table === 'gpt' ? 'part_gpt' : 'part_msdos']);
  for (const fs of fsTypes) {
    if (fs.startsWith('ext')) mods.add('ext2');
    else if (fs === 'xfs') mods.add('xfs');
    else if (fs.startsWith('fat') || fs === 'vfat') mods.add('fat');
  }
  return [...mods];
}

export function kilnGrubCfg(opts: {
  distroName: string;
  boot: BootFs;
  kernels: readonly KernelEntry[];
  cmdline: string;
  modules: readonly string[];
  timeoutSeconds?: number;
}): string {
  if (!opts.kernels.length) throw new Error('no kernel installed in /boot: add the kernel to KernelOptions');
  const lines = [
    '# Written by Kiln (EnableGrubMkconfig: false). Edits are kept until the next image build.',
    `set timeout=${opts.timeoutSeconds ?? 1}`,
    'set default=0',
    GRUB_SERIAL,
    'terminal_input serial console',
    'terminal_output serial console',
    ...opts.modules.map((m) => `insmod ${m}`),
    'insmod gzio',
    `search --no-floppy --fs-uuid --set=root ${opts.boot.uuid}`,
    '',
  ];
  for (const k of opts.kernels) {
    lines.push(
      `menuentry '${opts.distroName}, Linux ${k.version}' {`,
      `\tlinux ${opts.boot.prefix}/vmlinuz-${k.version} ${opts.cmdline}`,
      ...(k.initrd ? [`\tinitrd ${opts.boot.prefix}/${k.initrd}`] : []),
      '}',
    );
  }
  return lines.join('\n') + '\n';
}

/** Settings appended to /etc/default/grub for grub-mkconfig. `cmdline` excludes root= (grub adds it). */
export function grubDefaults(cmdline: string, timeoutSeconds = 1): string {
  const q = (s: string) => `"${s.replace(/(["\\$`])/g, '\\$1')}"`;
  return [
    '',
    '# Kiln: image settings (see docs/imager.md)',
    `GRUB_TIMEOUT=${timeoutSeconds}`,
    `GRUB_CMDLINE_LINUX=${q(cmdline)}`,
    'GRUB_CMDLINE_LINUX_DEFAULT=""',
    'GRUB_TERMINAL="serial console"',
    `GRUB_SERIAL_COMMAND=${q(GRUB_SERIAL)}`,
    // root= by PARTUUID, never by the build host's loop device name
    'GRUB_DISABLE_LINUX_UUID=true',
    'GRUB_DISABLE_LINUX_PARTUUID=false',
    'GRUB_DISABLE_RECOVERY=true',
    'GRUB_DISABLE_OS_PROBER=true',
    '',
  ].join('\n');
}

/**
 * grub-mkconfig derives root= from the device it probes; make sure every kernel line carries the
 * image's PARTUUID (and never a /dev/loop name of the build host). Returns the fixed config and
 * how many lines were changed.
 */
export function pinRootPartuuid(cfg: string, partuuid: string): { text: string; changed: number } {
  let changed = 0;
  const text = cfg.replace(/^(\s*linux\s+\S+)(.*)$/gm, (line, head: string, rest: string) => {
    const fixed = ` ${rest.trim()} `.replace(/\sroot=\S+/g, ' ').trim();
    const out = `${head} root=PARTUUID=${partuuid}${fixed ? ' ' + fixed : ''}`;
    if (out !== line) changed++;
    return out;
  });
  return { text, changed };
}

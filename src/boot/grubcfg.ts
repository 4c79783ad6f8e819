/**
 * grub configuration, rendered (pure). Three pieces:
 * - the stub grub.cfg embedded in (or next to) the EFI binary: find the filesystem holding /boot
 *   by UUID and hand over to its grub.cfg;
 * - Kiln's own grub.cfg (EnableGrubMkconfig false): one entry per installed kernel;
 * - the /etc/default/grub settings grub-mkconfig reads (EnableGrubMkconfig true).
 * The serial console is always enabled alongside the screen so headless VMs (and the tests) see
 * the menu and the kernel.
 */
import { KilnError } from '../core/errors.js';
import { assertNoControl } from '../core/safe-text.js';
import { splitArgs } from '../system/render/args.js';

/** Where /boot's files live as seen from the filesystem that holds them. */
export interface BootFs {
  /** Filesystem UUID of the partition holding /boot (root, or a separate /boot). */
  uuid: string;
  /** "/boot" when /boot is a directory of the root filesystem, "" when it is its own partition. */
  prefix: string;
}

export const GRUB_SERIAL = 'serial --unit=0 --speed=115200';

/**
 * One word for grub's script parser, exactly as given: bare when it holds only characters grub
 * never treats specially, else in single quotes (inside which grub expands nothing; a quote itself
 * is written '\''). grub's metacharacters — blanks, { } | & $ ; < > and quotes — could otherwise
 * end the command or open a new one. Control characters are refused (a line feed would).
 */
export function grubWord(word: string, what = 'grub.cfg value'): string {
  assertNoControl(word, what);
  if (/^[A-Za-z0-9_.,:=/+@%^~-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A kernel command line as grub words. The line is split the way grub's own parser would split it
 * if written unquoted (shell-like: blanks separate, quotes group, a backslash escapes; no variable
 * expansion), and each word is then quoted for grub: the kernel receives the same arguments, and
 * nothing in the line can act as grub script.
 */
export function grubCmdline(cmdline: string): string {
  assertNoControl(cmdline, 'kernel command line');
  let words: string[];
  try {
    words = splitArgs(cmdline);
  } catch (e) {
    throw new KilnError(`kernel command line: ${(e as Error).message.replace(/^Args: /, '')}`);
  }
  return words.map((w) => grubWord(w, 'kernel command line')).join(' ');
}

/** The stub config next to (or inside) the EFI binary; `grubDir` is "grub" or "grub2" (the distro's). */
export function stubConfig(boot: BootFs, grubDir = 'grub'): string {
  return [
    `search --no-floppy --fs-uuid --set=root ${grubWord(boot.uuid)}`,
    `set prefix=($root)${assertNoControl(`${boot.prefix}/${grubDir}`, 'boot prefix')}`,
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
    ...opts.modules.map((m) => `insmod ${grubWord(m)}`),
    'insmod gzio',
    `search --no-floppy --fs-uuid --set=root ${grubWord(opts.boot.uuid)}`,
    '',
  ];
  const cmdline = grubCmdline(opts.cmdline);
  for (const k of opts.kernels) {
    // the version comes from a file name in the image's /boot: quoted like everything else
    lines.push(
      `menuentry ${grubWord(`${opts.distroName}, Linux ${k.version}`, 'menu entry title')} {`,
      `\tlinux ${grubWord(`${opts.boot.prefix}/vmlinuz-${k.version}`, 'kernel path')}${cmdline ? ` ${cmdline}` : ''}`,
      ...(k.initrd ? [`\tinitrd ${grubWord(`${opts.boot.prefix}/${k.initrd}`, 'initrd path')}`] : []),
      '}',
    );
  }
  return lines.join('\n') + '\n';
}

/** Settings appended to /etc/default/grub for grub-mkconfig. `cmdline` excludes root= (grub adds it). */
export function grubDefaults(cmdline: string, timeoutSeconds = 1): string {
  // a shell double-quoted string (grub-mkconfig sources this file) ...
  const q = (s: string) => `"${assertNoControl(s, '/etc/default/grub value').replace(/(["\\$`])/g, '\\$1')}"`;
  return [
    '',
    '# Kiln: image settings (see docs/imager.md)',
    `GRUB_TIMEOUT=${timeoutSeconds}`,
    // ... holding grub words: grub-mkconfig copies the value verbatim into the `linux` lines of grub.cfg
    `GRUB_CMDLINE_LINUX=${q(grubCmdline(cmdline))}`,
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
  return pinRoot(cfg, `PARTUUID=${partuuid}`);
}

/** Every `linux` line of a grub.cfg booting `root=<device>` (a PARTUUID=, UUID= or /dev/mapper/ spec). */
export function pinRoot(cfg: string, device: string): { text: string; changed: number } {
  let changed = 0;
  const text = cfg.replace(/^(\s*linux\s+\S+)(.*)$/gm, (line, head: string, rest: string) => {
    const fixed = ` ${rest.trim()} `.replace(/\sroot=\S+/g, ' ').trim();
    const out = `${head} root=${device}${fixed ? ' ' + fixed : ''}`;
    if (out !== line) changed++;
    return out;
  });
  return { text, changed };
}

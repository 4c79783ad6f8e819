/**
 * No control characters anywhere in a config's strings. Strings reach rendered files — grub.cfg
 * (KernelCommandLine), /etc/fstab (MountPoint, MountOptions), apt sources (PackageRepos),
 * /etc/hosts (Hostname), /etc/passwd through useradd (names, HomeDirectory, StartupCommand),
 * chpasswd's stdin (Password), authorized_keys (SSHPubKeys), networkd units (Networks), package
 * manager arguments (Packages, KernelOptions), artifact file names and script Args — where a line
 * feed would start a new line of the attacker's choosing (a whole grub menuentry, an fstab line, a
 * source). Rather than a list that misses the next new field, every string value and key is
 * checked; keys starting with "_" are comments and skipped.
 */
import { controlCharAt, describeControlChar, LOCALES, optionLike } from '../../core/safe-text.js';
import type { Segment } from '../findings.js';
import type { RuleContext } from './context.js';

export function checkControlCharacters(ctx: RuleContext): void {
  const walk = (value: unknown, at: Segment[]) => {
    if (typeof value === 'string') {
      const i = controlCharAt(value);
      if (i >= 0) {
        ctx.report(at, `contains the control character ${describeControlChar(value, i)}`, 'remove line breaks, tabs and other control characters: the value is written into configuration files of the image');
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, [...at, i]));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k.startsWith('_')) continue;
        const i = controlCharAt(k);
        if (i >= 0) ctx.report([...at, k], `the key contains the control character ${describeControlChar(k, i)}`, 'remove line breaks, tabs and other control characters from the key');
        walk(v, [...at, k]);
      }
    }
  };
  walk(ctx.config, []);
}

/**
 * Values that reach a program's command line or a macro file, where a control character is not
 * the only danger: a package name starting with "-" would be read by dnf/tdnf as an option (e.g.
 * "--installroot=/" installs onto the build host), and OverrideRpmLocales becomes an rpm macro
 * that the host's rpm expands ("%(...)" runs a shell command).
 */
export function checkCommandText(ctx: RuleContext): void {
  ctx.config.SystemConfigs.forEach((sc, i) => {
    const at: Segment[] = ['SystemConfigs', i];
    (sc.Packages ?? []).forEach((p, k) => {
      if (optionLike(p)) ctx.report([...at, 'Packages', k], `package "${p}" starts with "-", which a package manager would read as an option`, 'package names start with a letter or digit');
    });
    for (const e of ctx.packages(i).entries) {
      if (e.where.startsWith('PackageLists') && optionLike(e.name)) {
        const k = Number(/\[(\d+)\]/.exec(e.where)?.[1]);
        ctx.report([...at, 'PackageLists', k], `the package list holds "${e.name}", which starts with "-" and a package manager would read as an option`, 'package names start with a letter or digit');
      }
    }
    for (const [key, value] of Object.entries(sc.KernelOptions ?? {})) {
      if (!key.startsWith('_') && optionLike(value)) ctx.report([...at, 'KernelOptions', key], `kernel package "${value}" starts with "-"`, 'name the kernel package, e.g. "linux-image-amd64"');
    }
    const locales = sc.OverrideRpmLocales?.trim();
    if (locales && controlCharAt(locales) < 0 && !LOCALES.test(locales)) {
      ctx.report([...at, 'OverrideRpmLocales'], `"${locales}" is not a list of locales`, 'use "NONE", "all" or locale names separated by ":", e.g. "en:fr:pt_BR"');
    }
  });
}

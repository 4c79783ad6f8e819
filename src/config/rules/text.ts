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
import { controlCharAt, describeControlChar } from '../../core/safe-text.js';
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

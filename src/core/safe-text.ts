/**
 * Text from a config that ends up in a rendered file (grub.cfg, fstab, apt sources, /etc/hosts ...)
 * must stay on its line: control characters (U+0000-U+001F, U+007F) are refused. The validator
 * reports them as findings; renderers call `assertNoControl` again so nothing slips through.
 */
import { KilnError } from './errors.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Index of the first control character, or -1. */
export function controlCharAt(s: string): number {
  const m = CONTROL.exec(s);
  return m ? m.index : -1;
}

/** "U+000A (line feed) at position 5" */
export function describeControlChar(s: string, at = controlCharAt(s)): string {
  const code = s.charCodeAt(at);
  const names: Record<number, string> = { 0: 'NUL', 9: 'tab', 10: 'line feed', 13: 'carriage return', 0x1b: 'escape', 0x7f: 'DEL' };
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  return `U+${hex}${names[code] ? ` (${names[code]})` : ''} at position ${at + 1}`;
}

/**
 * Throw (never write) when a value about to be rendered holds a control character.
 * `what` names the value, e.g. "KernelCommandLine.ExtraCommandLine".
 */
export function assertNoControl(value: string, what: string): string {
  const at = controlCharAt(value);
  if (at >= 0) {
    throw new KilnError(`${what}: contains the control character ${describeControlChar(value, at)}; refusing to write it into a configuration file`);
  }
  return value;
}

/**
 * Why a mount point is not a plain absolute path (undefined when it is): it must start with "/",
 * have no empty, "." or ".." components, no trailing "/" (except "/" itself), no control characters.
 * "/../../usr" would otherwise name a directory of the build host.
 */
export function mountPointProblem(mp: string): string | undefined {
  if (!mp.startsWith('/')) return 'is not an absolute path';
  const at = controlCharAt(mp);
  if (at >= 0) return `contains the control character ${describeControlChar(mp, at)}`;
  if (mp === '/') return undefined;
  const parts = mp.slice(1).split('/');
  if (parts.includes('..')) return 'contains ".." and could name a directory outside the image';
  if (parts.includes('.')) return 'contains a "." component';
  if (parts.includes('')) return mp.endsWith('/') ? 'ends with "/"' : 'contains "//"';
  return undefined;
}

/** A value a program would take for an option if it stood alone in its argv ("-x", "--installroot=/"). */
export function optionLike(value: string): boolean {
  return value.trimStart().startsWith('-');
}

/**
 * OverrideRpmLocales: "NONE", "all", or locale names ("en", "pt_BR", "sr@latin", "en_US.UTF-8")
 * separated by ":". Nothing else: the value becomes an rpm macro (%_install_langs) and a dpkg filter.
 */
export const LOCALES = /^(NONE|all|[A-Za-z]{2,3}([_@.][A-Za-z0-9_@.-]*)?(:[A-Za-z]{2,3}([_@.][A-Za-z0-9_@.-]*)?)*)$/i;

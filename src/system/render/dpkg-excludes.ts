import { KilnError } from '../../core/errors.js';
import type { SystemConfig } from '../../config/model.js';

/**
 * DisableRpmDocs / OverrideRpmLocales, the Debian way: dpkg path filters (dpkg.cfg.d fragment).
 * RPM encodes them as %_excludedocs / %_install_langs macros; dpkg's equivalent is
 * path-exclude / path-include, which only act on files unpacked AFTER the fragment is in place —
 * so the Debian backend drops this text into the root before installing packages, and the
 * `dpkg-excludes` step prunes whatever was unpacked before that (mmdebstrap's essential set).
 */
export const DPKG_EXCLUDES_FILE = '/etc/dpkg/dpkg.cfg.d/kiln-excludes';

const DOC_RULES = [
  'path-exclude=/usr/share/doc/*',
  // copyright files stay: the licences of what is shipped must ship too (Debian policy 12.5).
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/groff/*',
  'path-exclude=/usr/share/lintian/*',
  'path-exclude=/usr/share/linda/*',
];

/** "NONE" → no locales; "en:fr" → only those languages (and their regional variants); "all" → no filter. */
export function localeRules(value: string): string[] {
  const v = value.trim();
  if (v === '' || v.toLowerCase() === 'all') return [];
  const rules = ['path-exclude=/usr/share/locale/*', 'path-include=/usr/share/locale/locale.alias'];
  if (v.toUpperCase() === 'NONE') return rules;
  for (const lang of v.split(':').filter(Boolean)) {
    if (!/^[A-Za-z]{2,3}([_@.][A-Za-z0-9_@.-]*)?$/.test(lang)) {
      throw new KilnError(`OverrideRpmLocales: '${lang}' is not a locale name (use e.g. "en:fr:es", "NONE" or "all")`);
    }
    // rpm's %_install_langs "en" keeps en, en_US, en_GB@euro ... : same here.
    rules.push(`path-include=/usr/share/locale/${lang}/*`);
    if (!/[_@.]/.test(lang)) {
      for (const sep of ['_', '@', '.']) rules.push(`path-include=/usr/share/locale/${lang}${sep}*`);
    } else {
      // a territory keeps its language too: most catalogs exist only as "pt", not "pt_BR"
      const base = lang.split(/[_@.]/)[0]!;
      if (!rules.includes(`path-include=/usr/share/locale/${base}/*`)) rules.push(`path-include=/usr/share/locale/${base}/*`);
    }
  }
  return rules;
}

/** DisableRpmDocs, or upstream's RemoveDocs (on the SystemConfig or any of its PartitionSettings). */
export function removesDocs(sc: SystemConfig): boolean {
  return sc.DisableRpmDocs === true || sc.RemoveDocs === true || (sc.PartitionSettings ?? []).some((p) => p.RemoveDocs === true);
}

/** The dpkg.cfg.d fragment for this system config, or undefined when nothing is filtered. */
export function dpkgExcludes(sc: SystemConfig): string | undefined {
  const rules = [...(removesDocs(sc) ? DOC_RULES : []), ...(sc.OverrideRpmLocales !== undefined ? localeRules(sc.OverrideRpmLocales) : [])];
  if (!rules.length) return undefined;
  return `# Written by kiln: DisableRpmDocs / OverrideRpmLocales of the image config.\n# Remove this file and reinstall packages to get the files back.\n${rules.join('\n')}\n`;
}

/** dpkg's filter matching (fnmatch without FNM_PATHNAME: '*' crosses '/'); the last matching rule wins. */
export function excludedBy(fragment: string): (path: string) => boolean {
  const rules = fragment
    .split('\n')
    .map((l) => /^path-(exclude|include)=(.+)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ exclude: m[1] === 'exclude', re: globToRegExp(m[2]!) }));
  return (path: string) => {
    let excluded = false;
    for (const r of rules) if (r.re.test(path)) excluded = r.exclude;
    return excluded;
  };
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end);
        re += `[${body.startsWith('!') ? '^' + body.slice(1) : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * DisableRpmDocs and OverrideRpmLocales, the Debian way: dpkg path-exclude/path-include filters.
 * mmdebstrap writes them to /etc/dpkg/dpkg.cfg.d/99mmdebstrap, so they keep applying to packages
 * installed later in the image (as rpm's %_excludedocs / %_install_langs macros do).
 */
import type { SystemConfig } from '../../config/model.js';

export function dpkgFilters(sc: Pick<SystemConfig, 'DisableRpmDocs' | 'RemoveDocs' | 'OverrideRpmLocales'>): string[] {
  const out: string[] = [];
  if (sc.DisableRpmDocs || sc.RemoveDocs) {
    out.push(
      'path-exclude=/usr/share/doc/*',
      // licences stay: Debian policy and most licences require shipping them
      'path-include=/usr/share/doc/*/copyright',
      'path-exclude=/usr/share/man/*',
      'path-exclude=/usr/share/info/*',
      'path-exclude=/usr/share/groff/*',
      'path-exclude=/usr/share/lintian/*',
      'path-exclude=/usr/share/linda/*',
    );
  }
  const locales = sc.OverrideRpmLocales?.trim();
  if (locales && locales.toUpperCase() !== 'ALL') {
    out.push('path-exclude=/usr/share/locale/*', 'path-include=/usr/share/locale/locale.alias');
    if (locales.toUpperCase() !== 'NONE') {
      // rpm's %_install_langs is colon-separated ("en_US:fr"); a territory also keeps its language
      const langs = new Set<string>();
      for (const l of locales.split(':').map((s) => s.trim()).filter(Boolean)) {
        langs.add(l);
        langs.add(l.split(/[_.@]/)[0]!);
      }
      for (const l of langs) out.push(`path-include=/usr/share/locale/${l}/*`);
    }
  }
  return out;
}

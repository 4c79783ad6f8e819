/**
 * rpm macros for an install: where the database lives (Debian's rpm defaults to ~/.rpmdb), and
 * DisableRpmDocs / OverrideRpmLocales as rpm itself knows them (%_excludedocs, %_install_langs).
 * The same settings are left in the image so packages installed later honour them too, as
 * upstream's images do.
 */
import type { SystemConfig } from '../../config/model.js';
import { KilnError } from '../../core/errors.js';
import { LOCALES } from '../../core/safe-text.js';

export const RPM_DBPATH = '/var/lib/rpm';
/** Files the image keeps (Fedora's and kiwi's names for the same settings). */
export const IMAGE_LANG_MACROS = '/etc/rpm/macros.image-language-conf';
export const IMAGE_DOCS_MACROS = '/etc/rpm/macros.image-excludedocs';

/** "NONE" installs no translations; "all" (or absent) installs all; "en:fr" only those. */
export function installLangs(sc: SystemConfig): string | undefined {
  const v = sc.OverrideRpmLocales?.trim();
  if (!v || v.toLowerCase() === 'all') return undefined;
  // the value becomes a macro the host's rpm expands: "%(...)" would run a command there
  if (!LOCALES.test(v)) throw new KilnError(`OverrideRpmLocales: '${v.replace(/[^\x20-\x7e]/g, '?')}' is not a list of locales ("NONE", "all" or e.g. "en:fr")`);
  return v;
}

export function excludeDocs(sc: SystemConfig): boolean {
  return sc.DisableRpmDocs === true;
}

/** The private ~/.rpmmacros of the host-side rpm and dnf for one build. */
export function hostMacros(sc: SystemConfig): string {
  const lines = [`%_dbpath ${RPM_DBPATH}`];
  if (excludeDocs(sc)) lines.push('%_excludedocs 1');
  const langs = installLangs(sc);
  if (langs) lines.push(`%_install_langs ${langs}`);
  return lines.join('\n') + '\n';
}

/** Macro files to leave in the image: path → content. */
export function imageMacros(sc: SystemConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const langs = installLangs(sc);
  if (langs) out[IMAGE_LANG_MACROS] = `# OverrideRpmLocales (written by kiln)\n%_install_langs ${langs}\n`;
  if (excludeDocs(sc)) out[IMAGE_DOCS_MACROS] = '# DisableRpmDocs (written by kiln)\n%_excludedocs 1\n';
  return out;
}

/**
 * What the package database says about a package's licence, made honest for the SBOMs:
 * a valid SPDX expression is used as one; anything else (Debian's DEP-5 short names that have no
 * SPDX equivalent, free text in an RPM License tag) is kept as named licences and never guessed.
 */
import parseSpdx from 'spdx-expression-parse';

/**
 * DEP-5 short names (https://dep-team.pages.debian.net/deps/dep5/#license-short-name) whose
 * meaning is an SPDX identifier. DEP-5's "+" means "or any later version".
 */
const DEP5_TO_SPDX: Readonly<Record<string, string>> = {
  'GPL-1': 'GPL-1.0-only', 'GPL-1+': 'GPL-1.0-or-later',
  'GPL-2': 'GPL-2.0-only', 'GPL-2+': 'GPL-2.0-or-later',
  'GPL-3': 'GPL-3.0-only', 'GPL-3+': 'GPL-3.0-or-later',
  'LGPL-2': 'LGPL-2.0-only', 'LGPL-2+': 'LGPL-2.0-or-later',
  'LGPL-2.1': 'LGPL-2.1-only', 'LGPL-2.1+': 'LGPL-2.1-or-later',
  'LGPL-3': 'LGPL-3.0-only', 'LGPL-3+': 'LGPL-3.0-or-later',
  'AGPL-3': 'AGPL-3.0-only', 'AGPL-3+': 'AGPL-3.0-or-later',
  'GFDL-1.2': 'GFDL-1.2-only', 'GFDL-1.2+': 'GFDL-1.2-or-later',
  'GFDL-1.3': 'GFDL-1.3-only', 'GFDL-1.3+': 'GFDL-1.3-or-later',
  'BSD-2-clause': 'BSD-2-Clause', 'BSD-3-clause': 'BSD-3-Clause', 'BSD-4-clause': 'BSD-4-Clause',
  Expat: 'MIT', 'MPL-1.1': 'MPL-1.1', 'MPL-2.0': 'MPL-2.0', 'Apache-2.0': 'Apache-2.0',
  Zlib: 'Zlib', ISC: 'ISC', 'Artistic-2.0': 'Artistic-2.0', 'CC0-1.0': 'CC0-1.0', 'OpenSSL': 'OpenSSL',
  'Perl': 'Artistic-1.0-Perl OR GPL-1.0-or-later', 'Python-2.0': 'Python-2.0', 'W3C': 'W3C',
};

export function isSpdxExpression(text: string): boolean {
  try {
    parseSpdx(text);
    return true;
  } catch {
    return false;
  }
}

export interface LicenseInfo {
  /** A valid SPDX license expression, when the database's text is one (or maps to one). */
  expression?: string;
  /** Otherwise the names as the database writes them. */
  names: string[];
}

/** The licence text from the manifest → an SPDX expression, or the names as found. */
export function licenseInfo(raw: string | undefined): LicenseInfo {
  const text = raw?.trim();
  if (!text) return { names: [] };
  // DEP-5 expressions: names joined by "and" / "or" (any case), parentheses, "with X exception"
  const tokens = text.match(/\(|\)|[^\s()]+/g) ?? [];
  let candidate = '';
  for (const t of tokens) {
    const m = t === '(' || t === ')' ? t : /^(and|or|with)$/i.test(t) ? t.toUpperCase() : DEP5_TO_SPDX[t] ?? t;
    const term = / /.test(m) ? `(${m})` : m;
    candidate += term === ')' ? ')' : `${candidate && !candidate.endsWith('(') ? ' ' : ''}${term}`;
  }
  if (isSpdxExpression(candidate)) return { expression: candidate, names: [] };
  if (isSpdxExpression(text)) return { expression: text, names: [] };
  const names = text.split(/\s+(?:and|or)\s+/i).map((n) => n.replace(/^\(+|\)+$/g, '').trim()).filter(Boolean);
  return { names: [...new Set(names)] };
}

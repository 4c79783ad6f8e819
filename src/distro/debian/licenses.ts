/**
 * A Debian package's licence, from /usr/share/doc/<package>/copyright — only when that file is
 * machine-readable (DEP-5, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/").
 * Free-form copyright files are not guessed at: the package gets no licence.
 */
import { readInRoot } from '../../system/paths.js';

const DEP5_FORMAT = /^Format:\s*\S*copyright-format\/1\.0/im;

/** The licences a DEP-5 file declares, in order of appearance, joined with " AND " (all of them apply to some file). */
export function dep5License(text: string): string | undefined {
  const paragraphs = text.replace(/\r/g, '').split(/\n\s*\n/);
  if (!paragraphs[0] || !DEP5_FORMAT.test(paragraphs[0])) return undefined;
  const found: string[] = [];
  for (const p of paragraphs) {
    // stand-alone licence paragraphs (License: NAME + text, no Files:) define texts, not which files use them
    if (p !== paragraphs[0] && !/^Files:/im.test(p)) continue;
    const m = /^License:[ \t]*(.*)$/im.exec(p);
    const name = m?.[1]?.trim();
    if (name && !found.includes(name)) found.push(name);
  }
  if (!found.length) return undefined;
  return found.map((n) => (found.length > 1 && /\s(or|and)\s/i.test(n) ? `(${n})` : n)).join(' AND ');
}

/** Licence of each package (by name) whose copyright file is DEP-5. */
export async function dpkgLicenses(root: string, packages: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of packages) {
    let text: string | undefined;
    try {
      text = await readInRoot(root, `/usr/share/doc/${name}/copyright`);
    } catch {
      text = undefined; // a symlink out of the root or a directory: no licence rather than a guess
    }
    const license = text ? dep5License(text) : undefined;
    if (license) out.set(name, license);
  }
  return out;
}

/**
 * Package-list files, upstream's format: {"packages": ["name", ...]} (keys starting with "_" are
 * comments). Problems are findings in the package list's own file, with line and column.
 */
import { readFileSync } from 'node:fs';
import type { Finding } from './findings.js';
import { parseConfigText } from './parse.js';

export interface PackageListResult {
  packages: string[];
  findings: Finding[];
}

export function readPackageList(path: string): PackageListResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`;
    return { packages: [], findings: [{ file: path, path: '', message: `package list ${why}`, hint: 'fix the path in PackageLists', severity: 'error' }] };
  }
  const parsed = parseConfigText(text, path);
  if (!parsed.ok) return { packages: [], findings: parsed.findings };
  const data = parsed.parsed.data;
  const at = (path2: (string | number)[]) => parsed.parsed.locate(path2) ?? {};
  const bad = (message: string, p: (string | number)[], jsonPath: string): Finding => ({
    file: path,
    path: jsonPath,
    message,
    hint: 'a package list is {"packages": ["name", ...]}',
    ...at(p),
    severity: 'error',
  });
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { packages: [], findings: [bad('a package list must be a JSON object', [], '')] };
  }
  const findings: Finding[] = [...parsed.parsed.findings];
  for (const key of Object.keys(data)) {
    if (key !== 'packages' && !key.startsWith('_')) findings.push(bad(`unknown field "${key}"`, [key], key));
  }
  const list = (data as Record<string, unknown>)['packages'];
  if (!Array.isArray(list)) {
    findings.push(bad(list === undefined ? 'missing field "packages"' : '"packages" must be an array of names', ['packages'], 'packages'));
    return { packages: [], findings };
  }
  const packages: string[] = [];
  list.forEach((p, i) => {
    if (typeof p !== 'string' || p.trim() === '') findings.push(bad('a package name must be a non-empty string', ['packages', i], `packages[${i}]`));
    else packages.push(p.trim());
  });
  return { packages, findings };
}

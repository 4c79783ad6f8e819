/**
 * Package-list files, upstream's format: {"packages": ["name", ...]}, read as upstream's Go parser
 * reads them (the key matches case-insensitively, unknown keys are ignored with a warning, keys
 * starting with "_" are comments). Each entry is a package name with an optional version
 * constraint, in upstream's syntax. Problems are findings in the package list's own file, with
 * line and column. The file must be a regular file of at most MAX_PACKAGE_LIST_BYTES.
 */
import { decode, type SchemaNode } from './decode.js';
import { markBlocking, type Finding } from './findings.js';
import { MAX_PACKAGE_LIST_BYTES, readBoundedFile } from './limits.js';
import { controlCharAt, describeControlChar } from '../core/safe-text.js';
import { parseConfigText } from './parse.js';

export interface PackageListResult {
  packages: string[];
  findings: Finding[];
  /** Why the file could not be read at all ("does not exist", "is a device, not a regular file" ...). */
  unreadable?: string;
}

const LIST_SCHEMA: SchemaNode = { type: 'object', properties: { packages: { type: 'array', items: { type: 'string' } } } };

/**
 * Upstream's package entry syntax (pkgjson.PackageStringToPackageVer): a name without white space
 * or "<", ">", "=", optionally followed by one condition (=, <, <=, >, >=) and a version.
 */
const PACKAGE_ENTRY = /^\s*([^><=\s]+)\s*(?:((?:[<>]=)|(?:[<>=]))\s*([^<>=\s]+))?\s*$/;

/** Why a package entry is not in upstream's syntax, or undefined. */
export function packageEntryProblem(entry: string): string | undefined {
  if (PACKAGE_ENTRY.test(entry)) return undefined;
  return entry.trim() === ''
    ? 'a package name must not be empty'
    : `"${entry}" is not a package name with an optional version constraint ("name", "name=1.2", "name >= 1.2")`;
}

export function readPackageList(path: string): PackageListResult {
  const read = readBoundedFile(path, MAX_PACKAGE_LIST_BYTES);
  if (!read.ok) return { packages: [], findings: [], unreadable: read.message };
  const hint = 'a package list is {"packages": ["name", ...]}';
  const parsed = parseConfigText(read.text, path);
  if (!parsed.ok) return { packages: [], findings: parsed.findings };
  const decoded = decode(parsed.root, LIST_SCHEMA, path);
  const findings: Finding[] = decoded.findings.map((f) => markBlocking(f));
  const bad = (message: string, at: (string | number)[], jsonPath: string, h = hint): Finding => ({
    file: path,
    path: jsonPath,
    message,
    hint: h,
    ...(decoded.locate(at) ?? {}),
    severity: 'error',
  });
  const data = decoded.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { packages: [], findings: [...findings, bad('a package list must be a JSON object', [], '')] };
  }
  const list = (data as Record<string, unknown>)['packages'];
  if (list === undefined) {
    findings.push({ ...bad('the package list has no "packages" field, so it adds no packages', [], ''), severity: 'warning' });
    return { packages: [], findings };
  }
  if (!Array.isArray(list)) {
    findings.push(bad('"packages" must be an array of names', ['packages'], 'packages'));
    return { packages: [], findings };
  }
  const packages: string[] = [];
  list.forEach((p, i) => {
    if (typeof p !== 'string') {
      findings.push(bad('a package name must be a string', ['packages', i], `packages[${i}]`));
      return;
    }
    // checked first: the entry reaches mmdebstrap/dnf arguments and the manifest, and must not be echoed
    const problem = controlCharAt(p) >= 0 ? `the package name contains the control character ${describeControlChar(p)}` : packageEntryProblem(p);
    if (problem) findings.push(bad(problem, ['packages', i], `packages[${i}]`, 'one package per entry; a version constraint is one of =, <, <=, >, >= and a version'));
    else packages.push(p.trim());
  });
  return { packages, findings };
}

/**
 * Validation pipeline: read → parse (syntax findings with line:column) → schema (all shape
 * findings) → semantic rules (all findings). Rules run when every field has its declared type
 * (unknown keys, bad enum values and the like do not stop them), so each rule can trust the
 * types; a document with wrong types or missing required fields reports its shape errors only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { packageName, packageRulesFor } from '../distro/catalog/index.js';
import type { Config } from './model.js';
import { type Finding, formatPath, hasErrors, type Segment, type Severity } from './findings.js';
import { readPackageList } from './packagelists.js';
import { parseConfigText } from './parse.js';
import { RULES, type RuleContext } from './rules/index.js';
import type { ScPackages } from './rules/context.js';
import { checkSchema } from './schema-check.js';

export interface ValidateOptions {
  /** Resolve relative paths against this directory instead of the config file's directory. */
  baseDir?: string;
}

export interface ValidationResult {
  /** Absolute path of the config file. */
  file: string;
  baseDir: string;
  valid: boolean;
  findings: Finding[];
  /** The document as written (relative paths), present when it passed the schema. */
  config?: Config;
}

/** Validate a config file. An unreadable or missing file is a usage error (exit 2), not a finding. */
export function validateConfigFile(file: string, opts: ValidateOptions = {}): ValidationResult {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${(e as Error).message})`;
    throw new UsageError(`config file ${file} ${why}`);
  }
  return validateConfigText(text, abs, opts);
}

/** Paths in findings are shown relative to the working directory when that is shorter. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export function validateConfigText(text: string, file: string, opts: ValidateOptions = {}): ValidationResult {
  const baseDir = resolve(opts.baseDir ?? dirname(file));
  const result = (findings: Finding[], config?: Config): ValidationResult => ({
    file,
    baseDir,
    valid: !hasErrors(findings),
    findings: sortFindings(findings).map((f) => ({ ...f, file: displayPath(f.file) })),
    ...(config ? { config } : {}),
  });
  const parsed = parseConfigText(text, file);
  if (!parsed.ok) return result(parsed.findings);
  const schema = checkSchema(parsed.parsed, file);
  if (!schema.typesSound) return result([...parsed.parsed.findings, ...schema.findings]);

  const config = parsed.parsed.data as Config;
  const findings: Finding[] = [...parsed.parsed.findings, ...schema.findings];
  const reported = new Set<string>();
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const packageCache = new Map<number, ScPackages>();
  const listCache = new Map<string, string[]>();

  const ctx: RuleContext = {
    config,
    file,
    baseDir,
    resolve: abs,
    exists: (p) => existsSync(abs(p)),
    rules: (sc) => packageRulesFor(sc.Distro?.Name),
    report(at: readonly Segment[], message: string, hint?: string, severity: Severity = 'error') {
      const path = formatPath(at);
      const key = `${path}\0${message}`;
      if (reported.has(key)) return;
      reported.add(key);
      findings.push({ file, path, message, ...(hint ? { hint } : {}), ...(parsed.parsed.locate(at) ?? {}), severity });
    },
    packages(index) {
      const cached = packageCache.get(index);
      if (cached) return cached;
      const sc = config.SystemConfigs[index]!;
      const entries: ScPackages['entries'] = [];
      (sc.PackageLists ?? []).forEach((list, k) => {
        const where: Segment[] = ['SystemConfigs', index, 'PackageLists', k];
        const path = abs(list);
        if (!existsSync(path)) {
          ctx.report(where, `package list "${list}" does not exist (looked for ${path})`, `relative paths are resolved against ${baseDir}; fix the path or pass --base-dir`);
          return;
        }
        let names = listCache.get(path);
        if (!names) {
          const read = readPackageList(path);
          findings.push(...read.findings);
          names = read.packages;
          listCache.set(path, names);
        }
        for (const n of names) entries.push({ name: packageName(n), where: `PackageLists[${k}]` });
      });
      (sc.Packages ?? []).forEach((n, k) => entries.push({ name: packageName(n), where: `Packages[${k}]` }));
      const value = { entries, names: new Set(entries.map((e) => e.name)) };
      packageCache.set(index, value);
      return value;
    },
  };
  for (const rule of RULES) rule(ctx);
  return result(findings, config);
}

function sortFindings(findings: Finding[]): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (a.f.file === b.f.file ? (a.f.line ?? 0) - (b.f.line ?? 0) || a.i - b.i : a.i - b.i))
    .map(({ f }) => f);
}

/** Config name used for output folders: core-efi.json → core-efi. */
export function configName(file: string): string {
  return basename(file).replace(/\.(json|ya?ml)$/i, '');
}

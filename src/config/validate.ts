/**
 * Validation pipeline: read (bounded, regular files only) → nesting-depth scan → parse (syntax
 * findings with line:column) → decode as upstream's Go parser reads the document (canonical model;
 * unknown keys are warnings) → schema (all shape findings) → semantic rules (all findings). Rules
 * run when every field has its declared type (bad enum values and the like do not stop them), so
 * each rule can trust the types; a document with wrong types or missing required fields reports
 * its shape errors only.
 *
 * Severity: an error is what upstream's imageconfigvalidator rejects too (or a Kiln extension
 * used wrongly, or one of the few deliberate differences documented in docs/config.md); a warning
 * is something upstream accepts. Warnings marked with markBlocking are what `kiln build` cannot
 * honour (it refuses the config); `--strict` turns every warning into an error.
 */
import { statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { packageName, packageRulesFor } from '../distro/catalog/index.js';
import type { Config } from './model.js';
import { blocksBuild, type Finding, formatPath, hasErrors, markBlocking, type Segment, type Severity, withFields } from './findings.js';
import { decodeConfig } from './canonical.js';
import { buildRefuses } from './decode.js';
import { MAX_CONFIG_BYTES, readBoundedFile } from './limits.js';
import { ALLOW_OUTSIDE_FLAG, isInside, realPathOf } from './containment.js';
import { readPackageList } from './packagelists.js';
import { parseConfigText } from './parse.js';
import { RULES, type FileKind, type RuleContext } from './rules/index.js';
import type { ScPackages } from './rules/context.js';
import { checkSchema } from './schema-check.js';

export interface ValidateOptions {
  /** Resolve relative paths against this directory instead of the config file's directory. */
  baseDir?: string;
  /** Every warning is an error (`kiln validate --strict`). */
  strict?: boolean;
  /** --allow-outside-config-dir: files the config refers to may lie outside the base directory. */
  allowOutsideConfigDir?: boolean;
}

export interface ValidationResult {
  /** Absolute path of the config file. */
  file: string;
  baseDir: string;
  /** No errors (warnings allowed). */
  valid: boolean;
  findings: Finding[];
  /** The warnings `kiln build` refuses (a subset of `findings`): see buildBlockers(). */
  blocking: Finding[];
  /** The canonical document (relative paths as written), present when it passed the schema. */
  config?: Config;
}

/**
 * Validate a config file. A config argument that does not exist, is not a regular file or cannot
 * be read is a usage error (exit 2), not a finding; one over the size limit is a finding.
 */
export function validateConfigFile(file: string, opts: ValidateOptions = {}): ValidationResult {
  const abs = resolve(file);
  const read = readBoundedFile(abs, MAX_CONFIG_BYTES);
  if (!read.ok) {
    if (read.reason !== 'too-large') throw new UsageError(`config file ${file} ${read.message}`);
    const baseDir = resolve(opts.baseDir ?? dirname(abs));
    const f: Finding = { file: displayPath(abs), path: '', message: `the config file ${read.message}`, hint: 'an image config is a few KiB; is this the right file?', severity: 'error' };
    return { file: abs, baseDir, valid: false, findings: [f], blocking: [] };
  }
  return validateConfigText(read.text, abs, opts);
}

/** Paths in findings are shown relative to the working directory when that is shorter. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export function validateConfigText(text: string, file: string, opts: ValidateOptions = {}): ValidationResult {
  const baseDir = resolve(opts.baseDir ?? dirname(file));
  const result = (findings: Finding[], config?: Config): ValidationResult => {
    let shown = sortFindings(findings).map((f) => withFields(f, { file: displayPath(f.file) }));
    if (opts.strict) shown = shown.map((f) => (f.severity === 'warning' ? withFields(f, { severity: 'error' }) : f));
    return {
      file,
      baseDir,
      valid: !hasErrors(shown),
      findings: shown,
      blocking: shown.filter((f) => f.severity === 'warning' && blocksBuild(f)),
      ...(config ? { config } : {}),
    };
  };
  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) {
    return result([{ file, path: '', message: `the config is larger than ${MAX_CONFIG_BYTES} bytes`, hint: 'an image config is a few KiB; is this the right file?', severity: 'error' }]);
  }
  const parsed = parseConfigText(text, file);
  if (!parsed.ok) return result(parsed.findings);
  const decoded = decodeConfig(parsed.root, file);
  const schema = checkSchema(decoded, file);
  if (!schema.typesSound) return result([...decoded.findings, ...schema.findings]);

  const config = decoded.data as Config;
  const findings: Finding[] = [...decoded.findings, ...schema.findings];
  const reported = new Set<string>();
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const packageCache = new Map<number, ScPackages>();
  const listCache = new Map<string, string[]>();
  const push = (at: readonly Segment[], message: string, hint: string | undefined, severity: Severity): Finding | undefined => {
    const path = formatPath(at);
    const key = `${path}\0${message}`;
    if (reported.has(key)) return undefined;
    reported.add(key);
    const f: Finding = { file, path, message, ...(hint ? { hint } : {}), ...(decoded.locate(at) ?? {}), severity };
    findings.push(f);
    return f;
  };

  const ctx: RuleContext = {
    config,
    file,
    baseDir,
    resolve: abs,
    exists: (p) => fileKind(abs(p)) !== 'missing',
    kind: (p) => fileKind(abs(p)),
    allowOutsideConfigDir: opts.allowOutsideConfigDir === true,
    outside: (p) => (opts.allowOutsideConfigDir || isInside(abs(p), baseDir) ? undefined : realPathOf(abs(p))),
    report(at, message, hint, severity = 'error') {
      push(at, message, hint, severity);
    },
    kiln(at, message, hint) {
      const f = push(at, message, `${hint ? `${hint}; ` : ''}${buildRefuses}`, 'warning');
      if (f) markBlocking(f);
    },
    packages(index) {
      const cached = packageCache.get(index);
      if (cached) return cached;
      const sc = config.SystemConfigs[index]!;
      const entries: ScPackages['entries'] = [];
      (sc.PackageLists ?? []).forEach((list, k) => {
        const where: Segment[] = ['SystemConfigs', index, 'PackageLists', k];
        const path = abs(list);
        if (ctx.outside(list) !== undefined) {
          // never read: the file could be anything on the build host (its content must not reach a message)
          ctx.report(where, `package list "${list}" is outside the config's directory ${baseDir}`, `move it next to the config, or pass ${ALLOW_OUTSIDE_FLAG} if you trust this config`);
          return;
        }
        let names = listCache.get(path);
        if (!names) {
          const read = readPackageList(path);
          if (read.unreadable) {
            ctx.report(where, `package list "${list}" ${read.unreadable} (looked for ${path})`, read.unreadable === 'does not exist' ? `relative paths are resolved against ${baseDir}; fix the path or pass --base-dir` : 'a package list is a JSON file: {"packages": ["name", ...]}');
            listCache.set(path, []);
            return;
          }
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
    rules: (sc) => packageRulesFor(sc.Distro?.Name),
  };
  for (const rule of RULES) rule(ctx);
  return result(findings, config);
}

function fileKind(path: string): FileKind {
  try {
    const st = statSync(path);
    return st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'missing';
  }
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

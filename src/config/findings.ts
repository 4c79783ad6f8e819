/**
 * A finding is one problem in a config: where (file, JSON path, line:column) and what to do.
 * Rules report with path segments; formatting to `SystemConfigs[0].Users[1].UID` happens here.
 */
import { ExitCode, KilnError } from '../core/errors.js';

export type Segment = string | number;
export type Severity = 'error' | 'warning';

export interface Finding {
  file: string;
  /** JSON path, e.g. `SystemConfigs[0].Users[1].UID`; "" for the whole document. */
  path: string;
  message: string;
  hint?: string;
  line?: number;
  column?: number;
  severity: Severity;
}

/** `["SystemConfigs", 0, "AdditionalFiles", "a/b.conf"]` → `SystemConfigs[0].AdditionalFiles["a/b.conf"]` */
export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** `file:line:col: error: path: message` plus an indented hint line. */
export function formatFinding(f: Finding): string {
  const where = f.line !== undefined ? `${f.file}:${f.line}:${f.column ?? 1}` : f.file;
  const head = `${where}: ${f.severity}: ${f.path ? `${f.path}: ` : ''}${f.message}`;
  return f.hint ? `${head}\n  hint: ${f.hint}` : head;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

/**
 * Warnings that `kiln build` refuses: the config is valid for upstream's parser, but it asks for
 * something Kiln would otherwise ignore or cannot build (an unknown key, a layout that will not
 * boot, an artifact type Kiln does not make). Kept beside the finding rather than in it, so a
 * finding keeps its documented shape in `--json` output.
 */
const BLOCKING = new WeakSet<Finding>();

export function markBlocking<T extends Finding>(f: T): T {
  BLOCKING.add(f);
  return f;
}

export function blocksBuild(f: Finding): boolean {
  return f.severity === 'error' || BLOCKING.has(f);
}

/** A copy of a finding with some fields changed, keeping its build-blocking mark. */
export function withFields(f: Finding, fields: Partial<Finding>): Finding {
  const copy = { ...f, ...fields };
  return BLOCKING.has(f) ? markBlocking(copy) : copy;
}

/**
 * Thrown by loadConfig: every finding, already formatted, exit code 1. A config without errors
 * whose warnings block the build (see blocksBuild) is refused with the same error.
 */
export class ConfigInvalidError extends KilnError {
  constructor(
    readonly file: string,
    readonly findings: Finding[],
  ) {
    const errors = findings.filter((f) => f.severity === 'error').length;
    const blocking = findings.filter((f) => f.severity === 'warning' && blocksBuild(f)).length;
    const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    super(
      errors > 0
        ? `invalid configuration ${file}: ${plural(errors, 'problem')}`
        : `kiln build refuses ${file}: ${plural(blocking, 'warning')} about what Kiln would ignore or cannot build (upstream's parser accepts the config; \`kiln validate\` lists the same)`,
      ExitCode.InvalidConfig,
      findings.map(formatFinding),
    );
    this.name = 'ConfigInvalidError';
  }
}

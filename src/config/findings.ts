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

/** Thrown by loadConfig: every finding, already formatted, exit code 1. */
export class ConfigInvalidError extends KilnError {
  constructor(
    readonly file: string,
    readonly findings: Finding[],
  ) {
    const errors = findings.filter((f) => f.severity === 'error');
    super(
      `invalid configuration ${file}: ${errors.length} problem${errors.length === 1 ? '' : 's'}`,
      ExitCode.InvalidConfig,
      findings.map(formatFinding),
    );
    this.name = 'ConfigInvalidError';
  }
}

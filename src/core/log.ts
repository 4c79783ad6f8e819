import { appendFileSync, chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { redactSecrets } from './credentials.js';
import { privateDir } from './private.js';

/**
 * Two audiences: the console gets stages and progress (short), the log file gets everything
 * (every command, its arguments and its output). One process-wide logger; a build points it at
 * out/.../build.log with `setLogFile`. Everything written goes through `redactSecrets` (URL
 * credentials and registered passwords are masked), and log files are root-only (0600 in a 0700
 * directory): a log lists the image's users, paths and repositories.
 */
let logFile: string | undefined;
let quiet = false;
const started = Date.now();

/**
 * Structured events beside the text: what a console front end (src/progress/: live display on a
 * terminal, JSON lines with --log-format json) needs to know. Without a sink the console output is
 * the plain time-stamped lines below.
 */
export type ConsoleEvent =
  | { type: 'stage-end'; stage: string; seconds: number; ok: boolean }
  | { type: 'progress'; what: string; done: number; total?: number }
  | { type: 'artifact'; path: string; bytes: number; sha256?: string; kind?: 'image' | 'manifest' | 'sbom' | 'iso' }
  | { type: 'build-start'; config: string; name: string; estimateSeconds?: Record<string, number> };

export interface ConsoleSink {
  stage(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  /** Free-text progress (the plain fallback of `progressCount`). */
  progress(message: string): void;
  endProgress(): void;
  event(e: ConsoleEvent): void;
}
let sink: ConsoleSink | undefined;
/** Route console output through a front end (undefined: back to plain lines). */
export function setConsoleSink(s: ConsoleSink | undefined): void {
  sink = s;
}
export function getConsoleSink(): ConsoleSink | undefined {
  return sink;
}

/** A structured event for the console front end (ignored by the plain console; not logged). */
export function emitEvent(e: ConsoleEvent): void {
  sink?.event(redactEvent(e));
}

/**
 * Every string of an event (or any plain data: an error report, an SBOM's input) through
 * `redactSecrets`: paths and names may come from the config. Other objects (a Date) are kept as they are.
 */
export function redactEvent<T>(e: T): T {
  if (typeof e === 'string') return redactSecrets(e) as T;
  if (Array.isArray(e)) return e.map((x: unknown) => redactEvent(x)) as T;
  if (e && typeof e === 'object' && Object.getPrototypeOf(e) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) out[k] = redactEvent(v);
    return out as T;
  }
  return e;
}

/** A stage that `stage(name)` started has ended (the time is recorded by the caller). */
export function stageEnd(name: string, seconds: number, ok: boolean): void {
  logToFile(`${stamp()} == ${name}: ${ok ? 'done' : 'failed'} in ${seconds.toFixed(1)} s`);
  sink?.event({ type: 'stage-end', stage: redactSecrets(name), seconds, ok });
}

/** Counted progress ("packages 40/149"); `total` 0 or undefined while not known. */
export function progressCount(what: string, done: number, total?: number): void {
  if (sink) {
    sink.event({ type: 'progress', what: redactSecrets(what), done, ...(total ? { total } : {}) });
    return;
  }
  progress(`${what} ${done}${total ? `/${total}` : ''}`);
}

export function setLogFile(path: string | undefined): void {
  logFile = path;
  if (!path) return;
  privateDir(dirname(path));
  appendFileSync(path, '', { mode: 0o600 });
  chmodSync(path, 0o600);
}
export function getLogFile(): string | undefined {
  return logFile;
}
export function setQuiet(value: boolean): void {
  quiet = value;
}

function stamp(): string {
  return `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`;
}

/** Append raw text to the build log only. */
export function logToFile(text: string): void {
  if (!logFile) return;
  try {
    const safe = redactSecrets(text);
    appendFileSync(logFile, safe.endsWith('\n') ? safe : safe + '\n', { mode: 0o600 });
  } catch {
    // The log is best-effort: a full disk must not mask the real error.
  }
}

/** A pipeline stage: shown on the console and recorded in the log. */
export function stage(message: string): void {
  logToFile(`${stamp()} == ${message}`);
  const safe = redactSecrets(message);
  if (sink) return sink.stage(safe);
  if (!quiet) process.stderr.write(`${stamp()} ${safe}\n`);
}

export function info(message: string): void {
  logToFile(`${stamp()} ${message}`);
  const safe = redactSecrets(message);
  if (sink) return sink.info(safe);
  if (!quiet) process.stderr.write(`${safe}\n`);
}

export function warn(message: string): void {
  logToFile(`${stamp()} WARNING ${message}`);
  const safe = redactSecrets(message);
  if (sink) return sink.warn(safe);
  process.stderr.write(`warning: ${safe}\n`);
}

/** Console-only progress (e.g. "packages 40/149"); overwrites itself on a TTY, throttled otherwise. */
let lastProgressAt = 0;
export function progress(raw: string): void {
  if (sink) return sink.progress(redactSecrets(raw));
  if (quiet) return;
  const message = redactSecrets(raw);
  if (process.stderr.isTTY) {
    process.stderr.write(`\r\x1b[K${stamp()} ${message}`);
    return;
  }
  const now = Date.now();
  if (now - lastProgressAt < 5000) return;
  lastProgressAt = now;
  process.stderr.write(`${stamp()} ${message}\n`);
}
export function endProgress(): void {
  if (sink) return sink.endProgress();
  if (!quiet && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

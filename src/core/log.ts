import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Two audiences: the console gets stages and progress (short), the log file gets everything
 * (every command, its arguments and its output). One process-wide logger; a build points it at
 * out/.../build.log with `setLogFile`.
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
  sink?.event(e);
}

/** A stage that `stage(name)` started has ended (the time is recorded by the caller). */
export function stageEnd(name: string, seconds: number, ok: boolean): void {
  logToFile(`${stamp()} == ${name}: ${ok ? 'done' : 'failed'} in ${seconds.toFixed(1)} s`);
  sink?.event({ type: 'stage-end', stage: name, seconds, ok });
}

/** Counted progress ("packages 40/149"); `total` 0 or undefined while not known. */
export function progressCount(what: string, done: number, total?: number): void {
  if (sink) {
    sink.event({ type: 'progress', what, done, ...(total ? { total } : {}) });
    return;
  }
  progress(`${what} ${done}${total ? `/${total}` : ''}`);
}

export function setLogFile(path: string | undefined): void {
  logFile = path;
  if (path) mkdirSync(dirname(path), { recursive: true });
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
    appendFileSync(logFile, text.endsWith('\n') ? text : text + '\n');
  } catch {
    // The log is best-effort: a full disk must not mask the real error.
  }
}

/** A pipeline stage: shown on the console and recorded in the log. */
export function stage(message: string): void {
  logToFile(`${stamp()} == ${message}`);
  if (sink) return sink.stage(message);
  if (!quiet) process.stderr.write(`${stamp()} ${message}\n`);
}

export function info(message: string): void {
  logToFile(`${stamp()} ${message}`);
  if (sink) return sink.info(message);
  if (!quiet) process.stderr.write(`${message}\n`);
}

export function warn(message: string): void {
  logToFile(`${stamp()} WARNING ${message}`);
  if (sink) return sink.warn(message);
  process.stderr.write(`warning: ${message}\n`);
}

/** Console-only progress (e.g. "packages 40/149"); overwrites itself on a TTY, throttled otherwise. */
let lastProgressAt = 0;
export function progress(message: string): void {
  if (sink) return sink.progress(message);
  if (quiet) return;
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

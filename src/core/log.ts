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
  if (!quiet) process.stderr.write(`${stamp()} ${message}\n`);
}

export function info(message: string): void {
  logToFile(`${stamp()} ${message}`);
  if (!quiet) process.stderr.write(`${message}\n`);
}

export function warn(message: string): void {
  logToFile(`${stamp()} WARNING ${message}`);
  process.stderr.write(`warning: ${message}\n`);
}

/** Console-only progress (e.g. "packages 40/149"); overwrites itself on a TTY, throttled otherwise. */
let lastProgressAt = 0;
export function progress(message: string): void {
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
  if (!quiet && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

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
  if (!quiet) process.stderr.write(`${stamp()} ${redactSecrets(message)}\n`);
}

export function info(message: string): void {
  logToFile(`${stamp()} ${message}`);
  if (!quiet) process.stderr.write(`${redactSecrets(message)}\n`);
}

export function warn(message: string): void {
  logToFile(`${stamp()} WARNING ${message}`);
  process.stderr.write(`warning: ${redactSecrets(message)}\n`);
}

/** Console-only progress (e.g. "packages 40/149"); overwrites itself on a TTY, throttled otherwise. */
let lastProgressAt = 0;
export function progress(raw: string): void {
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
  if (!quiet && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

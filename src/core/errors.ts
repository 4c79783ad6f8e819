import { redactSecrets } from './credentials.js';

/**
 * Exit codes are part of Kiln's interface (documented in the README and `kiln --help`).
 * A user mistake becomes a KilnError with one of these codes and a message that says what to do;
 * only genuine bugs ever surface as stack traces.
 */
export const ExitCode = {
  Ok: 0,
  InvalidConfig: 1,
  Usage: 2,
  BuildFailed: 3,
  MissingHostTools: 4,
  /** Another build holds the output directory (out/images/<config-name>) of this one (src/core/lock.ts). */
  OutputLocked: 5,
  /** `kiln boot --check`: the guest did not reach a login prompt (timed out, or qemu stopped first). */
  BootCheckFailed: 6,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Stable error codes: every user-facing error carries one, in text (`error: ... [CODE]`) and in
 * JSON (`"code"`). docs/errors.md lists each with its cause and remedy (a unit test keeps the two
 * in step). Codes are never renamed or reused; a new situation gets a new code.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: ExitCode.InvalidConfig,
  USAGE: ExitCode.Usage,
  INPUT_NOT_FOUND: ExitCode.Usage,
  ARTIFACT_NOT_BUILT: ExitCode.Usage,
  ARTIFACT_UNSUPPORTED: ExitCode.Usage,
  BUILD_FAILED: ExitCode.BuildFailed,
  COMMAND_FAILED: ExitCode.BuildFailed,
  PACKAGE_NOT_FOUND: ExitCode.BuildFailed,
  PACKAGE_UNSIGNED: ExitCode.BuildFailed,
  REPO_UNTRUSTED: ExitCode.BuildFailed,
  REPO_UNREACHABLE: ExitCode.BuildFailed,
  INSPECT_FAILED: ExitCode.BuildFailed,
  HOST_ERROR: ExitCode.BuildFailed,
  HOST_PREREQS_MISSING: ExitCode.MissingHostTools,
  OUTPUT_LOCKED: ExitCode.OutputLocked,
  BOOT_TIMEOUT: ExitCode.BootCheckFailed,
  BOOT_VM_EXITED: ExitCode.BootCheckFailed,
  INTERRUPTED: ExitCode.Interrupted,
  INTERNAL: 70,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

/** What to do when the host refuses an operation (a Node system error reaching the CLI: code HOST_ERROR). */
export const SYSTEM_ERROR_HINTS: Record<string, string> = {
  ENOSPC: 'the filesystem of the output directory (--out) or of the package cache is full: free space there, or build into another --out; `kiln clean` releases what a killed build left',
  EDQUOT: 'a disk quota is exhausted: free space, or build into another --out',
  EIO: 'the host reported an I/O error: check the disk holding --out',
};

/** The code an error gets when its thrower names none: decided by its exit code. */
export function defaultErrorCode(exitCode: number): ErrorCode {
  switch (exitCode) {
    case ExitCode.InvalidConfig:
      return 'CONFIG_INVALID';
    case ExitCode.Usage:
      return 'USAGE';
    case ExitCode.MissingHostTools:
      return 'HOST_PREREQS_MISSING';
    case ExitCode.OutputLocked:
      return 'OUTPUT_LOCKED';
    case ExitCode.BootCheckFailed:
      return 'BOOT_TIMEOUT';
    case ExitCode.Interrupted:
      return 'INTERRUPTED';
    case ExitCode.BuildFailed:
      return 'BUILD_FAILED';
    default:
      return 'INTERNAL';
  }
}

export class KilnError extends Error {
  /** Stable identifier of the situation (see ERROR_CODES and docs/errors.md). */
  readonly code: ErrorCode;
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.BuildFailed,
    /** Extra lines shown under the message (e.g. the tail of a command's stderr). */
    readonly details: string[] = [],
    code?: ErrorCode,
  ) {
    super(message);
    this.name = 'KilnError';
    this.code = code ?? defaultErrorCode(exitCode);
  }
}

export class UsageError extends KilnError {
  constructor(message: string) {
    super(message, ExitCode.Usage, [], 'USAGE');
    this.name = 'UsageError';
  }
}

export class InterruptedError extends KilnError {
  constructor(signal: string) {
    super(`interrupted by ${signal}; everything acquired was released`, ExitCode.Interrupted, [], 'INTERRUPTED');
    this.name = 'InterruptedError';
  }
}

/** A program run through core/exec that exited non-zero (or could not start). */
export class CommandError extends KilnError {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    /** The program's exit status (null: it could not be started). */
    readonly exitStatus: number | null,
    readonly stderrTail: string,
    hint?: string,
  ) {
    const shown = [command, ...args].join(' ');
    const why = exitStatus === null ? 'could not be started' : `exited with code ${exitStatus}`;
    super(
      redactSecrets(`command failed: ${shown.length > 300 ? shown.slice(0, 300) + '…' : shown} (${why})`),
      ExitCode.BuildFailed,
      [...(stderrTail ? stderrTail.split('\n').map((l) => `  | ${redactSecrets(l)}`) : []), ...(hint ? [hint] : [])],
      'COMMAND_FAILED',
    );
    this.name = 'CommandError';
  }
}

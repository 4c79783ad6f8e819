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
  /** Another build holds the output directory (out/images/<config-name>) of this one. */
  OutputLocked: 5,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class KilnError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.BuildFailed,
    /** Extra lines shown under the message (e.g. the tail of a command's stderr). */
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'KilnError';
  }
}

export class UsageError extends KilnError {
  constructor(message: string) {
    super(message, ExitCode.Usage);
    this.name = 'UsageError';
  }
}

export class InterruptedError extends KilnError {
  constructor(signal: string) {
    super(`interrupted by ${signal}; everything acquired was released`, ExitCode.Interrupted);
    this.name = 'InterruptedError';
  }
}

/** A program run through core/exec that exited non-zero (or could not start). */
export class CommandError extends KilnError {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stderrTail: string,
    hint?: string,
  ) {
    const shown = [command, ...args].join(' ');
    const why = code === null ? 'could not be started' : `exited with code ${code}`;
    super(
      redactSecrets(`command failed: ${shown.length > 300 ? shown.slice(0, 300) + '…' : shown} (${why})`),
      ExitCode.BuildFailed,
      [...(stderrTail ? stderrTail.split('\n').map((l) => `  | ${redactSecrets(l)}`) : []), ...(hint ? [hint] : [])],
    );
    this.name = 'CommandError';
  }
}

/**
 * Console front ends for what core/log.ts reports (stages, progress, warnings, artifacts):
 *
 * - PlainReporter: time-stamped lines, as Kiln always printed off a terminal;
 * - LiveReporter: on a terminal, a display redrawn in place (log-update) with the stage, the
 *   package count with a bar, the elapsed time and an estimate from the previous build's timings;
 * - JsonReporter: `--log-format json`, one JSON object per line on stderr, each valid against
 *   schema/kiln-events.schema.json.
 *
 * All three collect the stages and artifacts and print (or emit) a summary when the command ends.
 */
import { createLogUpdate } from 'log-update';
import type { ConsoleEvent, ConsoleSink } from '../core/log.js';
import { redactEvent } from '../core/log.js';
import { redactSecrets } from '../core/credentials.js';
import { ExitCode, KilnError, SYSTEM_ERROR_HINTS, type ErrorCode } from '../core/errors.js';
import { renderLive, renderSummary, type LiveState, type Summary } from './format.js';

export type LogFormat = 'text' | 'plain' | 'json';

export interface ErrorReport {
  code: ErrorCode;
  exitCode: number;
  message: string;
  details: string[];
}

/** What the user is told about an error, with every secret masked (see core/credentials.ts). */
export function errorReport(e: unknown): ErrorReport {
  return redactEvent(rawErrorReport(e));
}

function rawErrorReport(e: unknown): ErrorReport {
  if (e instanceof KilnError) return { code: e.code, exitCode: e.exitCode, message: e.message, details: [...e.details] };
  const sys = e as NodeJS.ErrnoException;
  if (typeof sys?.code === 'string' && typeof sys.syscall === 'string') {
    // the host said no (no space left, I/O error, permission...): a failed build, not a bug
    const hint = SYSTEM_ERROR_HINTS[sys.code];
    return { code: 'HOST_ERROR', exitCode: ExitCode.BuildFailed, message: sys.message, details: hint ? [hint] : [] };
  }
  return { code: 'INTERNAL', exitCode: 70, message: `internal error (a bug in kiln; please report it): ${(e as Error)?.message ?? String(e)}`, details: ((e as Error)?.stack ?? '').split('\n').slice(1) };
}

/** The text form of an error: the message with its code, then the detail lines. */
export function formatError(r: ErrorReport): string {
  return [`error: ${r.message} [${r.code}]`, ...r.details].join('\n') + '\n';
}

export abstract class Reporter implements ConsoleSink {
  protected readonly started = Date.now();
  protected readonly stages: Summary['stages'] = [];
  protected readonly artifacts: Summary['artifacts'] = [];
  protected readonly out: NodeJS.WritableStream & { columns?: number; rows?: number };
  constructor(out: NodeJS.WritableStream & { columns?: number; rows?: number } = process.stderr) {
    this.out = redacting(out);
  }

  abstract stage(message: string): void;
  abstract info(message: string): void;
  abstract warn(message: string): void;
  abstract progress(message: string): void;
  abstract endProgress(): void;

  event(e: ConsoleEvent): void {
    if (e.type === 'stage-end') this.stages.push({ name: e.stage, seconds: e.seconds, ok: e.ok });
    if (e.type === 'artifact' && !this.artifacts.some((a) => a.path === e.path)) this.artifacts.push({ path: e.path, bytes: e.bytes });
  }

  summary(): Summary {
    return { artifacts: this.artifacts, stages: this.stages, totalSeconds: (Date.now() - this.started) / 1000 };
  }

  /** The command failed: show the error (the caller decides the exit code). */
  abstract error(r: ErrorReport): void;
  /** The command ended (exit code `code`): stop any live output, print the summary. */
  abstract finish(code: number): void;

  protected stamp(): string {
    return `[${((Date.now() - this.started) / 1000).toFixed(1).padStart(6)}s]`;
  }
}

/** Time-stamped lines (what Kiln printed before these front ends existed), then the summary. */
export class PlainReporter extends Reporter {
  private lastProgressAt = 0;
  stage(message: string): void {
    this.out.write(`${this.stamp()} ${message}\n`);
  }
  info(message: string): void {
    this.out.write(`${message}\n`);
  }
  warn(message: string): void {
    this.out.write(`warning: ${message}\n`);
  }
  progress(message: string): void {
    const now = Date.now();
    if (now - this.lastProgressAt < 5000) return;
    this.lastProgressAt = now;
    this.out.write(`${this.stamp()} ${message}\n`);
  }
  endProgress(): void {}
  override event(e: ConsoleEvent): void {
    super.event(e);
    if (e.type === 'progress') this.progress(`${e.what} ${e.done}${e.total ? `/${e.total}` : ''}`);
  }
  error(r: ErrorReport): void {
    this.out.write(formatError(r));
  }
  finish(code: number): void {
    if (code === 0 && (this.artifacts.length || this.stages.length)) this.out.write(`\n${renderSummary(this.summary())}\n`);
  }
}

/** The live display on a terminal. */
export class LiveReporter extends Reporter {
  private readonly update;
  private readonly state: LiveState;
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private estimates: Record<string, number> = {};

  constructor(out: NodeJS.WritableStream & { columns?: number } = process.stderr) {
    super(out);
    this.update = createLogUpdate(terminalView(out));
    this.state = { started: this.started, stagesDone: 0 };
  }

  private render(): void {
    this.update(renderLive(this.state, Date.now(), this.tick++));
    if (!this.timer) {
      this.timer = setInterval(() => this.render(), 250);
      this.timer.unref();
    }
  }

  /** Print lines above the live area (they stay on the screen). */
  private above(text: string): void {
    this.update.clear();
    this.out.write(text.endsWith('\n') ? text : text + '\n');
    this.render();
  }

  stage(message: string): void {
    this.state.stage = message;
    this.state.stageStarted = Date.now();
    delete this.state.progress;
    const est = this.estimates[message];
    if (est !== undefined) this.state.stageEstimate = est;
    else delete this.state.stageEstimate;
    this.render();
  }
  info(message: string): void {
    this.above(`  ${message}`);
  }
  warn(message: string): void {
    this.above(`warning: ${message}`);
  }
  progress(message: string): void {
    this.state.progress = { what: message, done: 0, since: Date.now() };
    this.render();
  }
  endProgress(): void {
    delete this.state.progress;
    this.render();
  }
  override event(e: ConsoleEvent): void {
    super.event(e);
    switch (e.type) {
      case 'build-start':
        this.state.title = e.name;
        if (e.estimateSeconds) {
          this.estimates = e.estimateSeconds;
          const values = Object.values(e.estimateSeconds);
          this.state.estimateSeconds = values.reduce((a, b) => a + b, 0) + (Date.now() - this.started) / 1000;
          this.state.stagesExpected = this.stages.length + values.length;
        }
        break;
      case 'stage-end':
        this.state.stagesDone++;
        this.above(`${e.ok ? 'done' : 'FAILED'}  ${e.stage} (${e.seconds.toFixed(1)} s)`);
        break;
      case 'progress': {
        const p = this.state.progress;
        this.state.progress = { what: e.what, done: e.done, ...(e.total ? { total: e.total } : {}), since: p && p.what === e.what ? p.since : Date.now() };
        this.render();
        break;
      }
      case 'artifact':
        this.above(`wrote ${e.path}`);
        break;
    }
  }
  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.update.clear();
    this.update.done();
  }
  error(r: ErrorReport): void {
    this.stop();
    this.out.write(formatError(r));
  }
  finish(code: number): void {
    this.stop();
    if (code === 0 && (this.artifacts.length || this.stages.length)) this.out.write(`\n${renderSummary(this.summary())}\n`);
  }
}

/**
 * The stream with every secret masked in what is written to it: the last line of defence (core/log.ts
 * already redacts what it hands over; this covers summaries, errors and anything added later).
 */
function redacting<T extends NodeJS.WritableStream & { columns?: number; rows?: number }>(out: T): T {
  const view = {
    get isTTY() {
      return (out as { isTTY?: boolean }).isTTY;
    },
    get columns() {
      return out.columns;
    },
    get rows() {
      return out.rows;
    },
    write: (chunk: string | Uint8Array, ...rest: unknown[]) =>
      (out.write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(typeof chunk === 'string' ? redactSecrets(chunk) : chunk, ...rest),
  };
  return view as unknown as T;
}

/**
 * The terminal as log-update sees it, with a usable size: a terminal that reports 0 columns and rows
 * (a pseudo-terminal nobody sized, e.g. script(1) without a terminal of its own, some CI consoles)
 * would otherwise get an empty frame.
 */
function terminalView(out: NodeJS.WritableStream & { columns?: number; rows?: number }): NodeJS.WriteStream {
  const view = {
    isTTY: true,
    get columns() {
      return out.columns || 100;
    },
    get rows() {
      return out.rows || 24;
    },
    write: (chunk: string) => out.write(chunk),
  };
  return view as unknown as NodeJS.WriteStream;
}

/** One JSON object per line (schema/kiln-events.schema.json). */
export class JsonReporter extends Reporter {
  private emit(type: string, fields: Record<string, unknown>): void {
    const line = { v: 1, time: new Date().toISOString(), elapsed: Math.round((Date.now() - this.started) / 100) / 10, type, ...redactEvent(fields) };
    this.out.write(JSON.stringify(line) + '\n');
  }
  begin(command: string, version: string): void {
    this.emit('start', { command, version });
  }
  stage(message: string): void {
    this.emit('stage-start', { stage: message });
  }
  info(message: string): void {
    this.emit('info', { message });
  }
  warn(message: string): void {
    this.emit('warning', { message });
  }
  progress(message: string): void {
    this.emit('info', { message });
  }
  endProgress(): void {}
  override event(e: ConsoleEvent): void {
    super.event(e);
    const { type, ...fields } = e;
    this.emit(type, fields);
  }
  error(r: ErrorReport): void {
    this.emit('error', { code: r.code, exitCode: r.exitCode, message: r.message, details: r.details });
  }
  finish(code: number): void {
    if (code === 0 && (this.artifacts.length || this.stages.length)) this.emit('summary', { ...this.summary() });
    this.emit('end', { exitCode: code });
  }
}

/** The front end for a format and an output stream: "text" is live on a terminal, plain elsewhere. */
export function createReporter(format: LogFormat, out: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): Reporter {
  if (format === 'json') return new JsonReporter(out);
  const live = format === 'text' && out.isTTY === true && env.TERM !== 'dumb' && !env.CI;
  return live ? new LiveReporter(out) : new PlainReporter(out);
}

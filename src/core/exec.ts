import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CommandError } from './errors.js';
import { logToFile } from './log.js';
import { isReleasing, throwIfAborted } from './abort.js';
import { redactSecrets } from './credentials.js';

/**
 * The one way Kiln runs a program. Every call is logged with its arguments; its output goes to the
 * build log; a non-zero exit becomes a CommandError naming the command and the tail of its stderr.
 * Children run in their own process group so an interrupted build can stop whole subtrees
 * (mmdebstrap, dpkg, chroot scripts) before releasing mounts and loop devices, and with a
 * parent-death signal (`setpriv --pdeathsig KILL`): if Kiln itself is killed (SIGKILL, OOM), no
 * command it started runs on as an orphan. Sandboxed commands (bwrap --die-with-parent) take their
 * whole PID namespace with them.
 */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin (then closed). Never logged: use it for secrets. */
  input?: string | Buffer;
  /** Collect stdout and return it (default true). Turn off for chatty programs. */
  captureStdout?: boolean;
  /** Do not throw on a non-zero exit; inspect `code` instead. */
  allowFailure?: boolean;
  /** Called with each line of stdout/stderr as it arrives (progress parsing). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Replaces argument values in the log (e.g. a password passed on argv by a tool that insists). */
  redact?: string[];
  /** Extra text appended to the error when the command fails: what the user can do about it. */
  hint?: string;
  /** Show the program's output on the terminal as well (used by interactive helpers only). */
  inherit?: boolean;
  /**
   * How the command appears in the log and in errors when `cmd args` is a wrapper (the sandbox):
   * the program it runs, and where (e.g. "sandbox: image /work/root, no network").
   */
  shownAs?: { cmd: string; args: readonly string[]; where: string };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderrTail: string;
}

const TAIL_LINES = 40;

/** util-linux's setpriv: sets PR_SET_PDEATHSIG, then execs the command (same pid, same process group). */
export const SETPRIV = '/usr/bin/setpriv';
let setprivPresent: boolean | undefined;

/**
 * The argv actually spawned for `cmd args`: behind setpriv so the child dies with Kiln. Without
 * setpriv (a host that lacks util-linux's, before prerequisites are installed) the command runs as is.
 */
export function spawnArgv(cmd: string, args: readonly string[], hasSetpriv = (setprivPresent ??= existsSync(SETPRIV))): [string, string[]] {
  return hasSetpriv ? [SETPRIV, ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, [...args]];
}
const running = new Set<number>();

/** Process-group ids of children still running (for signal handling). */
export function runningChildren(): number[] {
  return [...running];
}

/** Send a signal to every running child process group. */
export function signalChildren(signal: NodeJS.Signals): void {
  for (const pid of running) {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
}

export function formatCommand(cmd: string, args: readonly string[], redact: string[] = []): string {
  const shown = [cmd, ...args].map((a) => {
    let s = redactSecrets(a);
    for (const r of redact) if (r) s = s.split(r).join('***');
    return /[\s"'$`\\]/.test(s) ? JSON.stringify(s) : s;
  });
  return shown.join(' ');
}

export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  throwIfAborted();
  const releasingNow = isReleasing();
  const capture = opts.captureStdout ?? true;
  const shown = opts.shownAs ?? { cmd, args, where: '' };
  logToFile(`$ ${formatCommand(shown.cmd, shown.args, opts.redact)}${opts.cwd ? `   (in ${opts.cwd})` : ''}${shown.where ? `   [${shown.where}]` : ''}`);
  return await new Promise<RunResult>((resolve, reject) => {
    const [file, argv] = spawnArgv(cmd, args);
    const child = spawn(file, argv, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input !== undefined ? 'pipe' : opts.inherit ? 'inherit' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // a release step (umount, losetup -d, rm of the work directory) is not stopped by a signal that
    // arrives while it runs: the signal is what it is cleaning up after (found by bench/faults.sh:
    // SIGINT during the removal of the work directory killed `rm` and left the directory behind)
    if (child.pid && !releasingNow) running.add(child.pid);
    const stdoutChunks: Buffer[] = [];
    const tail: string[] = [];
    const partial = { stdout: '', stderr: '' };

    const onData = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      if (stream === 'stdout' && capture) stdoutChunks.push(chunk);
      if (opts.inherit) (stream === 'stdout' ? process.stdout : process.stderr).write(chunk);
      const text = partial[stream] + chunk.toString('utf8');
      const lines = text.split('\n');
      partial[stream] = lines.pop() ?? '';
      for (const line of lines) handleLine(line, stream);
    };
    const handleLine = (line: string, stream: 'stdout' | 'stderr') => {
      logToFile(`  ${stream === 'stderr' ? '!' : '|'} ${line}`);
      if (stream === 'stderr') {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
      }
      opts.onLine?.(line, stream);
    };
    child.stdout!.on('data', onData('stdout'));
    child.stderr!.on('data', onData('stderr'));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {}); // the child may exit without reading; its exit code tells
      child.stdin!.end(opts.input);
    }
    child.on('error', (err) => {
      if (child.pid) running.delete(child.pid);
      logToFile(`  ! ${err.message}`);
      reject(new CommandError(shown.cmd, redactArgs(shown.args, opts.redact), null, err.message, opts.hint));
    });
    child.on('close', (code, signal) => {
      if (child.pid) running.delete(child.pid);
      for (const s of ['stdout', 'stderr'] as const) if (partial[s]) handleLine(partial[s], s);
      const exit = code ?? (signal ? 128 + signalNumber(signal) : 1);
      logToFile(`  => exit ${exit}`);
      const result: RunResult = {
        code: exit,
        stdout: Buffer.concat(stdoutChunks).toString('utf8'),
        stderrTail: tail.join('\n'),
      };
      if (exit !== 0 && !opts.allowFailure) {
        reject(new CommandError(shown.cmd, redactArgs(shown.args, opts.redact), exit, result.stderrTail, opts.hint));
      } else resolve(result);
    });
  });
}

/** Arguments as an error may show them: `redact` values and every registered secret masked. */
function redactArgs(args: readonly string[], redact: readonly string[] = []): string[] {
  return args.map((a) => {
    let s = redactSecrets(a);
    for (const r of redact) if (r) s = s.split(r).join('***');
    return s;
  });
}

/** Run and return trimmed stdout. */
export async function output(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await run(cmd, args, opts)).stdout.trim();
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGHUP: 1 } as Record<string, number>)[signal] ?? 1;
}

/** Does a program exist on PATH? */
export async function which(program: string): Promise<string | undefined> {
  const r = await run('sh', ['-c', 'command -v "$1"', 'sh', program], { allowFailure: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/**
 * A VM whose serial console Kiln reads and types into: qemu listens on a UNIX socket (and logs
 * everything to a file); `waitFor` matches text, `send` types, `login`/`exec` drive a shell.
 * Used by `kiln boot --check` and by the end-to-end tests.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type RunResult } from '../core/exec.js';
import { qemuArgs, varsTemplate, type VmOptions } from './qemu-args.js';

export interface ExecResult {
  output: string;
  code: number;
}

export class Guest {
  private buffer = '';
  /** Offset in `buffer` before which `waitFor` no longer looks (text already consumed). */
  private consumed = 0;
  private waiters = new Set<() => void>();
  private exited: RunResult | Error | undefined;
  private counter = 0;

  private constructor(
    readonly name: string,
    readonly serialLog: string,
    readonly dir: string,
    private readonly socket: Socket,
    private readonly qemu: Promise<RunResult>,
  ) {
    socket.on('data', (chunk) => {
      this.buffer += chunk.toString('utf8');
      for (const w of this.waiters) w();
    });
    qemu
      .then(
        (r) => (this.exited = r),
        (e: Error) => (this.exited = e),
      )
      .finally(() => {
        for (const w of this.waiters) w();
      });
  }

  /** Start qemu with its files in `dir`; resolves once the serial console is connected (the guest starts only then). */
  static async boot(name: string, dir: string, opts: VmOptions): Promise<Guest> {
    mkdirSync(dir, { recursive: true });
    const serialLog = join(dir, 'serial.log');
    const socketPath = join(dir, 'serial.sock');
    const vars = varsTemplate(opts);
    const files = {
      serial: { kind: 'socket' as const, socket: socketPath, log: serialLog },
      monitor: join(dir, 'monitor.sock'),
      qmp: join(dir, 'qmp.sock'),
      pidFile: join(dir, 'qemu.pid'),
      ...(vars ? { vars: join(dir, 'OVMF_VARS.fd') } : {}),
    };
    if (vars && files.vars) copyFileSync(vars, files.vars);
    for (const f of [...opts.disks.map((d) => d.path), opts.cdrom]) if (f && !existsSync(f)) throw new Error(`boot ${name}: ${f} does not exist`);
    const qemu = run('qemu-system-x86_64', qemuArgs(opts, files), { captureStdout: true, allowFailure: true });
    let socket: Socket | undefined;
    for (let i = 0; i < 400 && !socket; i++) {
      socket = await tryConnect(socketPath);
      if (!socket) await sleep(50);
    }
    if (!socket) {
      const r = await Promise.race([qemu, sleep(1000).then(() => undefined)]);
      throw new Error(`qemu did not start for ${name}${r ? `: exit ${r.code}\n${r.stderrTail}` : ''}`);
    }
    return new Guest(name, serialLog, dir, socket, qemu);
  }

  /** qemu's QMP socket (screendump and send-key for a guest booted with `display`). */
  get qmpSocket(): string {
    return join(this.dir, 'qmp.sock');
  }

  /** Everything the guest printed so far. */
  get console(): string {
    return this.buffer;
  }

  /** qemu's exit, once it has exited. */
  get exit(): RunResult | Error | undefined {
    return this.exited;
  }

  /** Wait until `pattern` appears in output not yet consumed; consumes up to the end of the match. */
  async waitFor(pattern: RegExp | string, timeoutMs = 180_000): Promise<RegExpExecArray> {
    const re = typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : pattern;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.buffer.slice(this.consumed);
      const m = re.exec(rest);
      if (m) {
        this.consumed += m.index + m[0].length;
        return m;
      }
      if (this.exited) throw new GuestError('exited', `guest ${this.name}: qemu exited while waiting for ${re}${exitText(this.exited)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new GuestError('timeout', `guest ${this.name}: timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${re}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(left, 1000));
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.waiters.add(done);
      }).finally(() => this.waiters.clear());
    }
  }

  /** Type text on the serial console (no newline added). */
  send(text: string): void {
    this.socket.write(text);
  }

  /** Wait for `login:` (10 minutes by default: a TCG boot on a busy 2-core machine takes several), log in (with `password` when the account has one) and wait for a shell prompt. */
  async login(user = 'root', password?: string, timeoutMs = 600_000): Promise<void> {
    await this.waitFor(/login: $/m, timeoutMs);
    // getty may print the prompt before it reads: a short pause avoids losing the first characters
    await sleep(500);
    this.send(`${user}\n`);
    if (password !== undefined) {
      await this.waitFor(/Password: ?$/m, 60_000);
      this.send(`${password}\n`);
    }
    await this.waitFor(/[#$] $/m, 60_000);
    // a quiet, predictable shell: no echo, no colours, no pager, kernel messages off the console
    this.send("stty -echo; export TERM=dumb PAGER=cat SYSTEMD_PAGER=cat; PS1='# '; dmesg -n 1 2>/dev/null\n");
    const marker = await this.exec('echo ready');
    if (marker.output.trim() !== 'ready') throw new Error(`guest ${this.name}: shell not usable after login: ${JSON.stringify(marker.output)}`);
  }

  /** Run a shell command in the logged-in shell; returns its output (CR removed) and exit status. */
  async exec(command: string, timeoutMs = 120_000): Promise<ExecResult> {
    const n = ++this.counter;
    // markers are assembled by printf so the typed command line itself never matches them
    this.send(`printf '%s%s\\n' KILN-BEGIN- ${n}; ${command}\nprintf '%s%s:%s\\n' KILN-END- ${n} $?\n`);
    await this.waitFor(new RegExp(`KILN-BEGIN-${n}\\r?\\n`), timeoutMs);
    const start = this.consumed;
    const end = await this.waitFor(new RegExp(`KILN-END-${n}:(\\d+)`), timeoutMs);
    const raw = this.buffer.slice(start, this.consumed - end[0].length);
    const output = raw.replace(/\r/g, '').replace(/^# /gm, '').replace(/\n?# ?$/, '');
    return { output, code: Number(end[1]) };
  }

  /** Like exec, but throws (with the output) when the command fails. Returns the trimmed output. */
  async check(command: string, timeoutMs?: number): Promise<string> {
    const r = await this.exec(command, timeoutMs);
    if (r.code !== 0) throw new Error(`guest ${this.name}: \`${command}\` exited ${r.code}:\n${r.output}`);
    return r.output.trim();
  }

  /** Stop the VM (qemu monitor `quit`, then SIGKILL if needed) and remove its sockets and variable store. */
  async stop(): Promise<void> {
    if (!this.exited) {
      await monitorCommand(join(this.dir, 'monitor.sock'), 'quit').catch(() => undefined);
      const r = await Promise.race([this.qemu.catch(() => undefined), sleep(5000).then(() => 'timeout' as const)]);
      if (r === 'timeout') {
        try {
          const pid = Number(readFileSync(join(this.dir, 'qemu.pid'), 'utf8').trim());
          if (pid > 0) process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await this.qemu.catch(() => undefined);
      }
    }
    this.socket.destroy();
    for (const f of ['serial.sock', 'monitor.sock', 'qmp.sock', 'OVMF_VARS.fd']) rmSync(join(this.dir, f), { force: true });
  }

  /** The last `lines` lines of the console, for error messages. */
  tail(lines = 60): string {
    return this.buffer.replace(/\r/g, '').split('\n').slice(-lines).join('\n');
  }
}

/** Why waiting on a guest failed: it timed out, or qemu exited first. */
export class GuestError extends Error {
  constructor(
    readonly reason: 'timeout' | 'exited',
    message: string,
  ) {
    super(message);
    this.name = 'GuestError';
  }
}

/** A connected socket to `path`, or undefined while nothing listens there yet. */
export function tryConnect(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    if (!existsSync(path)) return resolve(undefined);
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
  });
}

async function monitorCommand(path: string, command: string): Promise<void> {
  const s = await tryConnect(path);
  if (!s) throw new Error('monitor not reachable');
  s.on('error', () => undefined);
  s.write(`${command}\n`);
  await sleep(200);
  s.destroy();
}

function exitText(r: RunResult | Error): string {
  return r instanceof Error ? `: ${r.message}` : ` (exit ${r.code})${r.stderrTail ? `\n${r.stderrTail}` : ''}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

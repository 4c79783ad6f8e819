/**
 * Boot a disk image or ISO in qemu (TCG: KVM is broken on the build machines) and talk to it over
 * the serial console: wait for text, type input, log in as root, run commands and read their output
 * and exit status. qemu itself writes the serial log to a file; a failing check gets that log's path
 * and tail in its error message (see `withGuest`).
 *
 * Used by the imager, ISO and roast end-to-end tests.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type RunResult } from '../../../src/core/exec.js';
import { e2eWorkDir } from './workdir.js';

export type Firmware = 'uefi' | 'bios';

export interface BootOptions {
  /** Label for log files (e.g. "core-efi"). */
  name: string;
  firmware: Firmware;
  /** Disk image to boot from (opened with snapshot=on: the file is never modified). */
  disk?: string;
  /** qemu format of `disk`: raw, vpc (vhd), vhdx, qcow2, vmdk... Default: guessed from the extension. */
  diskFormat?: string;
  /** Disk interface: virtio (default), ide, sata, scsi. */
  diskInterface?: 'virtio' | 'ide' | 'sata' | 'scsi';
  /** Write to the disk for real instead of a snapshot (e.g. an installer's target disk). */
  writableDisk?: boolean;
  /** Extra blank or existing disks (e.g. an installer's target): attached after `disk`. */
  extraDisks?: { path: string; format?: string; interface?: 'virtio' | 'ide' | 'sata' | 'scsi' }[];
  /** An ISO attached as a CD-ROM; boots first when set. */
  cdrom?: string;
  memoryMiB?: number;
  cpus?: number;
  /** User-mode network with a virtio NIC (default true). */
  network?: boolean;
  /** A VGA display (screenshots and keys over QMP: `guest.qmpSocket`) instead of none. */
  display?: boolean;
  extraArgs?: string[];
}

const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';

function guessFormat(path: string): string {
  const ext = path.split('.').pop()?.toLowerCase();
  return ({ vhd: 'vpc', vhdx: 'vhdx', qcow2: 'qcow2', vmdk: 'vmdk', iso: 'raw' } as Record<string, string>)[ext ?? ''] ?? 'raw';
}

/** The qemu command line for `opts` (pure apart from naming the files it uses). */
export function qemuArgs(opts: BootOptions, files: { serialSocket: string; serialLog: string; monitor: string; qmp: string; pidFile: string; vars?: string }): string[] {
  const args = [
    '-machine', 'q35,accel=tcg',
    '-cpu', 'max',
    '-smp', String(opts.cpus ?? 1),
    '-m', String(opts.memoryMiB ?? 1024),
    '-nodefaults', '-display', 'none',
    ...(opts.display ? ['-device', 'VGA,xres=1024,yres=768'] : ['-vga', 'none']),
    '-qmp', `unix:${files.qmp},server=on,wait=off`,
    '-chardev', `socket,id=ser0,path=${files.serialSocket},server=on,wait=on,logfile=${files.serialLog},logappend=off`,
    '-serial', 'chardev:ser0',
    '-monitor', `unix:${files.monitor},server=on,wait=off`,
    '-pidfile', files.pidFile,
    '-no-reboot',
  ];
  if (opts.firmware === 'uefi') {
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`);
    args.push('-drive', `if=pflash,format=raw,unit=1,file=${files.vars}`);
  }
  const disks = [
    ...(opts.disk ? [{ path: opts.disk, format: opts.diskFormat, interface: opts.diskInterface, snapshot: !opts.writableDisk }] : []),
    ...(opts.extraDisks ?? []).map((d) => ({ ...d, snapshot: false })),
  ];
  disks.forEach((d, i) => {
    const format = d.format ?? guessFormat(d.path);
    const iface = d.interface ?? 'virtio';
    const snap = d.snapshot ? ',snapshot=on' : '';
    if (iface === 'virtio') {
      args.push('-drive', `file=${d.path},format=${format},if=none,id=disk${i}${snap}`);
      args.push('-device', `virtio-blk-pci,drive=disk${i}${i === 0 && !opts.cdrom ? ',bootindex=1' : ''}`);
    } else if (iface === 'sata' || iface === 'ide') {
      // q35's built-in AHCI controller serves both (there is no legacy IDE bus on q35)
      args.push('-drive', `file=${d.path},format=${format},if=none,id=disk${i}${snap}`);
      args.push('-device', `ide-hd,drive=disk${i},bus=ide.${i}${i === 0 && !opts.cdrom ? ',bootindex=1' : ''}`);
    } else {
      if (i === 0) args.push('-device', 'virtio-scsi-pci,id=scsi0');
      args.push('-drive', `file=${d.path},format=${format},if=none,id=disk${i}${snap}`);
      args.push('-device', `scsi-hd,drive=disk${i},bus=scsi0.0${i === 0 && !opts.cdrom ? ',bootindex=1' : ''}`);
    }
  });
  if (opts.cdrom) {
    args.push('-drive', `file=${opts.cdrom},format=raw,if=none,id=cd0,media=cdrom,readonly=on`);
    args.push('-device', `ide-cd,drive=cd0,bus=ide.${disks.length},bootindex=0`);
  }
  if (opts.network ?? true) args.push('-nic', 'user,model=virtio-net-pci');
  args.push(...(opts.extraArgs ?? []));
  return args;
}

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
    private readonly dir: string,
    private readonly socket: Socket,
    private readonly qemu: Promise<RunResult>,
  ) {
    socket.on('data', (chunk) => {
      this.buffer += chunk.toString('utf8');
      for (const w of this.waiters) w();
    });
    qemu.then(
      (r) => (this.exited = r),
      (e: Error) => (this.exited = e),
    ).finally(() => {
      for (const w of this.waiters) w();
    });
  }

  /** Start qemu; resolves once the serial console is connected (the guest starts only then). */
  static async boot(opts: BootOptions): Promise<Guest> {
    const dir = join(e2eWorkDir(), 'qemu', `${opts.name}-${process.pid}-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    const files = {
      serialSocket: join(dir, 'serial.sock'),
      serialLog: join(dir, 'serial.log'),
      monitor: join(dir, 'monitor.sock'),
      qmp: join(dir, 'qmp.sock'),
      pidFile: join(dir, 'qemu.pid'),
      ...(opts.firmware === 'uefi' ? { vars: join(dir, 'OVMF_VARS.fd') } : {}),
    };
    if (files.vars) copyFileSync(OVMF_VARS, files.vars);
    for (const f of [opts.disk, opts.cdrom]) if (f && !existsSync(f)) throw new Error(`boot ${opts.name}: ${f} does not exist`);
    const qemu = run('qemu-system-x86_64', qemuArgs(opts, files), { captureStdout: true, allowFailure: true });
    let socket: Socket | undefined;
    for (let i = 0; i < 200 && !socket; i++) {
      socket = await tryConnect(files.serialSocket);
      if (!socket) await sleep(50);
    }
    if (!socket) {
      const r = await Promise.race([qemu, sleep(1000).then(() => undefined)]);
      throw new Error(`qemu did not start for ${opts.name}${r ? `: exit ${r.code}\n${r.stderrTail}` : ''}`);
    }
    return new Guest(opts.name, files.serialLog, dir, socket, qemu);
  }

  /** QMP socket (screendump, send-key): see lib/qmp.ts. */
  get qmpSocket(): string {
    return join(this.dir, 'qmp.sock');
  }

  /** Everything the guest printed so far. */
  get console(): string {
    return this.buffer;
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
      if (this.exited) throw new Error(`guest ${this.name}: qemu exited while waiting for ${re}${exitText(this.exited)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`guest ${this.name}: timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${re}`);
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

  /** Wait for `login:`, log in (with `password` when the account has one) and wait for a shell prompt. */
  async login(user = 'root', password?: string, timeoutMs = 240_000): Promise<void> {
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

  /** Stop the VM (qemu monitor `quit`, then SIGKILL if needed) and remove its sockets. */
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

  /** The last `lines` lines of the serial log, for error messages. */
  tail(lines = 60): string {
    return this.buffer.replace(/\r/g, '').split('\n').slice(-lines).join('\n');
  }
}

/**
 * Boot, run `fn`, always stop the VM. Any failure is rethrown with the serial log's path and tail
 * attached, so a guest that does not boot explains itself in the test report.
 */
export async function withGuest<T>(opts: BootOptions, fn: (guest: Guest) => Promise<T>): Promise<T> {
  const guest = await Guest.boot(opts);
  try {
    return await fn(guest);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    err.message += `\n--- serial console of ${guest.name} (full log: ${guest.serialLog}) ---\n${guest.tail()}\n--- end of serial console ---`;
    throw err;
  } finally {
    await guest.stop();
  }
}

function tryConnect(path: string): Promise<Socket | undefined> {
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

/**
 * A small QMP client for graphical guests: screenshots (`screendump`, PNG), keyboard input
 * (`send-key` with QEMU key codes) and the text on screen read back with tesseract (OCR).
 */
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../../src/core/exec.js';

export class Qmp {
  private buffer = '';
  private pending: ((reply: Record<string, unknown>) => void)[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ('return' in msg || 'error' in msg) this.pending.shift()?.(msg);
      }
    });
  }

  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const socket = await new Promise<Socket | undefined>((resolve) => {
        const s = connect(path);
        s.once('connect', () => resolve(s));
        s.once('error', () => resolve(undefined));
      });
      if (socket) {
        const qmp = new Qmp(socket);
        await qmp.command('qmp_capabilities');
        return qmp;
      }
      if (Date.now() > deadline) throw new Error(`QMP socket ${path} not reachable`);
      await sleep(100);
    }
  }

  async command(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    const reply = await new Promise<Record<string, unknown>>((resolve) => {
      this.pending.push(resolve);
      this.socket.write(`${JSON.stringify({ execute, ...(args ? { arguments: args } : {}) })}\n`);
    });
    if ('error' in reply) throw new Error(`QMP ${execute}: ${JSON.stringify(reply.error)}`);
    return reply.return;
  }

  async screendump(file: string): Promise<void> {
    await this.command('screendump', { filename: file, format: 'png' });
  }

  /**
   * Put the PS/2 mouse's pointer at (x, y) of the screen: far to the top left first (the pointer
   * stops at the edge), then in small steps, which the X server's pointer acceleration leaves 1:1.
   */
  async pointerTo(x: number, y: number): Promise<void> {
    const rel = (dx: number, dy: number) => this.command('input-send-event', { events: [{ type: 'rel', data: { axis: 'x', value: dx } }, { type: 'rel', data: { axis: 'y', value: dy } }] });
    for (let i = 0; i < 60; i++) {
      await rel(-40, -40);
      await sleep(20);
    }
    for (let [dx, dy] = [x, y]; dx > 0 || dy > 0; ) {
      const [sx, sy] = [Math.min(dx, 5), Math.min(dy, 5)];
      await rel(sx, sy);
      [dx, dy] = [dx - sx, dy - sy];
      await sleep(30);
    }
    await sleep(500);
  }

  /** A left click where the pointer is. */
  async click(): Promise<void> {
    for (const down of [true, false]) {
      await this.command('input-send-event', { events: [{ type: 'btn', data: { down, button: 'left' } }] });
      await sleep(150);
    }
  }

  /** Press keys together (e.g. ['alt', 'n']), given as QEMU qcodes. */
  async keys(qcodes: string[]): Promise<void> {
    await this.command('send-key', { keys: qcodes.map((data) => ({ type: 'qcode', data })), 'hold-time': 80 });
    await sleep(150);
  }

  /** Type text: letters, digits and a few symbols (shift where the US layout needs it). */
  async type(text: string): Promise<void> {
    for (const ch of text) await this.keys(qcodesFor(ch));
  }

  close(): void {
    this.socket.destroy();
  }
}

const SYMBOLS: Record<string, string[]> = {
  '-': ['minus'], _: ['shift', 'minus'], '.': ['dot'], ' ': ['spc'], '/': ['slash'], ':': ['shift', 'semicolon'], '!': ['shift', '1'], '@': ['shift', '2'],
};

export function qcodesFor(ch: string): string[] {
  if (/^[a-z0-9]$/.test(ch)) return [ch];
  if (/^[A-Z]$/.test(ch)) return ['shift', ch.toLowerCase()];
  const s = SYMBOLS[ch];
  if (!s) throw new Error(`no key for ${JSON.stringify(ch)}`);
  return s;
}

/** The text tesseract reads in an image (one block of lines). */
export async function ocr(png: string): Promise<string> {
  return (await run('tesseract', [png, 'stdout', '--psm', '3'], { hint: 'tesseract comes with the Debian package tesseract-ocr' })).stdout;
}

/**
 * Line-based questions on the console (serial included; an expect script can drive it). On a TTY
 * the line discipline is switched to raw so passwords are read without echo; we echo everything
 * else ourselves. Off a TTY (a pipe) lines are read as they come.
 */
export class Terminal {
  private buffered = '';
  private waiting: (() => void) | undefined;
  private ended = false;
  private lastWasCR = false;
  private readonly raw: boolean;

  constructor(
    private readonly input: NodeJS.ReadStream = process.stdin,
    private readonly output: NodeJS.WriteStream = process.stdout,
  ) {
    this.raw = !!input.isTTY;
    if (this.raw) input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      this.buffered += chunk;
      this.waiting?.();
    });
    input.on('end', () => {
      this.ended = true;
      this.waiting?.();
    });
  }

  say(text = ''): void {
    this.output.write(`${text}\n`);
  }

  /** Ask and return the answer (without the line end). */
  async ask(question: string, opts: { secret?: boolean } = {}): Promise<string> {
    this.output.write(question);
    let line = '';
    for (;;) {
      const ch = await this.nextChar();
      if (ch === undefined) throw new Error('the console closed while waiting for an answer');
      if (ch === '\n' && this.lastWasCR) {
        this.lastWasCR = false;
        continue; // "\r\n" is one Enter
      }
      this.lastWasCR = ch === '\r';
      if (ch === '\r' || ch === '\n') {
        if (this.raw) this.output.write('\r\n');
        return line;
      }
      if (ch === '\x03') throw new Error('interrupted (Ctrl-C)');
      if (ch === '\x7f' || ch === '\b') {
        if (line.length) {
          line = line.slice(0, -1);
          if (this.raw && !opts.secret) this.output.write('\b \b');
        }
        continue;
      }
      if (ch < ' ') continue; // other control characters and escape sequences' lead byte
      line += ch;
      if (this.raw && !opts.secret) this.output.write(ch);
    }
  }

  close(): void {
    if (this.raw) this.input.setRawMode(false);
    this.input.pause();
  }

  private async nextChar(): Promise<string | undefined> {
    while (!this.buffered) {
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => (this.waiting = resolve));
      this.waiting = undefined;
    }
    const ch = this.buffered[0]!;
    this.buffered = this.buffered.slice(1);
    return ch;
  }
}

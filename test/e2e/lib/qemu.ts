/**
 * Boot a disk image or ISO in qemu (TCG: KVM is broken on the build machines) and talk to it over
 * the serial console. The qemu command line and the console driver are Kiln's own
 * (src/boot-vm/: the same code as `kiln boot`); this file keeps the tests' option shape and puts
 * each VM's files under the run's work directory. A failing check gets the console's tail and the
 * serial log's path in its error message (see `withGuest`).
 */
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Guest, tryConnect } from '../../../src/boot-vm/guest.js';
import type { Accel, DiskBus, Firmware } from '../../../src/boot-vm/qemu-args.js';
import { e2eWorkDir } from './workdir.js';

export { Guest } from '../../../src/boot-vm/guest.js';
export type { ExecResult } from '../../../src/boot-vm/guest.js';
export type { Firmware } from '../../../src/boot-vm/qemu-args.js';

export interface BootOptions {
  /** Label for log files (e.g. "core-efi"). */
  name: string;
  firmware: Firmware;
  /** Disk to boot from (opened with snapshot=on: the file is never modified). */
  disk?: string;
  /** qemu format of `disk`: raw, vpc (vhd), vhdx, qcow2, vmdk... Default: guessed from the extension. */
  diskFormat?: string;
  /** Disk interface: virtio (default), ide, sata, scsi. */
  diskInterface?: DiskBus;
  /** Write to the disk for real instead of a snapshot (e.g. an installer's target disk). */
  writableDisk?: boolean;
  /** Extra blank or existing disks (e.g. an installer's target): attached after `disk`. */
  extraDisks?: { path: string; format?: string; interface?: DiskBus }[];
  /** An ISO attached as a CD-ROM; boots first when set. */
  cdrom?: string;
  memoryMiB?: number;
  cpus?: number;
  /** User-mode network with a virtio NIC (default true). */
  network?: boolean;
  /** Default tcg (KVM fails on these machines). */
  accel?: Accel;
  /** Secure Boot enforced, with Microsoft's keys ("ms") or Debian's test keys ("snakeoil": SNAKEOIL_KEY/SNAKEOIL_CERT) enrolled. */
  secureBoot?: 'ms' | 'snakeoil';
  /** A VGA display (screenshots and keys over QMP: `guest.qmpSocket`) instead of none. */
  display?: boolean;
  extraArgs?: string[];
}

/** Debian's Secure Boot test key pair: enrolled as PK, KEK and db in OVMF_VARS_4M.snakeoil.fd. */
export const SNAKEOIL_KEY = '/usr/share/ovmf/PkKek-1-snakeoil.key';
export const SNAKEOIL_CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem';

/** Start the VM described by `opts` (files under this run's work directory). */
export function bootGuest(opts: BootOptions): Promise<Guest> {
  const dir = join(e2eWorkDir(), 'qemu', `${opts.name}-${process.pid}-${Date.now()}`);
  return Guest.boot(opts.name, dir, {
    firmware: opts.firmware,
    accel: opts.accel ?? 'tcg',
    ...(opts.secureBoot ? { secureBoot: opts.secureBoot } : {}),
    disks: [
      ...(opts.disk ? [{ path: opts.disk, ...(opts.diskFormat ? { format: opts.diskFormat } : {}), ...(opts.diskInterface ? { interface: opts.diskInterface } : {}), snapshot: !opts.writableDisk }] : []),
      ...(opts.extraDisks ?? []).map((d) => ({ ...d, snapshot: false })),
    ],
    ...(opts.cdrom ? { cdrom: opts.cdrom } : {}),
    ...(opts.memoryMiB ? { memoryMiB: opts.memoryMiB } : {}),
    ...(opts.cpus ? { cpus: opts.cpus } : {}),
    ...(opts.network !== undefined ? { network: opts.network } : {}),
    ...(opts.display ? { display: true } : {}),
    ...(opts.extraArgs ? { extraArgs: opts.extraArgs } : {}),
  });
}

/**
 * A second serial port (ttyS1 and up) for a guest: qemu serves it on a UNIX socket
 * (`serialPortArgs`), the test connects once qemu runs, reads what the guest writes there and types.
 */
export function serialPortArgs(id: string, socketPath: string): string[] {
  return ['-chardev', `socket,id=${id},path=${socketPath},server=on,wait=off`, '-serial', `chardev:${id}`];
}

export class SerialPort {
  private text = '';
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => (this.text += chunk.toString('utf8')));
    socket.on('error', () => undefined);
  }
  static async connect(path: string, timeoutMs = 30_000): Promise<SerialPort> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await tryConnect(path);
      if (s) return new SerialPort(s);
      if (Date.now() > deadline) throw new Error(`serial socket ${path} did not come up`);
      await sleep(100);
    }
  }
  get output(): string {
    return this.text;
  }
  async waitFor(pattern: RegExp | string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const test = (t: string) => (typeof pattern === 'string' ? t.includes(pattern) : pattern.test(t));
    while (!test(this.text)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${String(pattern)} on a second serial port; it showed:\n${this.text.slice(-2000)}`);
      await sleep(200);
    }
  }
  send(text: string): void {
    this.socket.write(text);
  }
  close(): void {
    this.socket.destroy();
  }
}

/**
 * Boot, run `fn`, always stop the VM. Any failure is rethrown with the serial log's path and tail
 * attached, so a guest that does not boot explains itself in the test report.
 */
export async function withGuest<T>(opts: BootOptions, fn: (guest: Guest) => Promise<T>): Promise<T> {
  const guest = await bootGuest(opts);
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

/**
 * Boot a disk image or ISO in qemu (TCG: KVM is broken on the build machines) and talk to it over
 * the serial console. The qemu command line and the console driver are Kiln's own
 * (src/boot-vm/: the same code as `kiln boot`); this file keeps the tests' option shape and puts
 * each VM's files under the run's work directory. A failing check gets the console's tail and the
 * serial log's path in its error message (see `withGuest`).
 */
import { join } from 'node:path';
import { Guest } from '../../../src/boot-vm/guest.js';
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
  secureBoot?: 'ms' | 'snakeoil';
  extraArgs?: string[];
}

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
    ...(opts.extraArgs ? { extraArgs: opts.extraArgs } : {}),
  });
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

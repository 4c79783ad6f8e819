/**
 * `kiln boot`: run a built image (or an installer ISO with a blank target disk) in qemu.
 *
 * The firmware follows the disk (an ESP → OVMF, BIOS boot code → SeaBIOS; Secure Boot variables
 * on request), the format comes from the file, KVM is used when a probe shows it works (TCG
 * otherwise), and the guest writes only to a throwaway qcow2 overlay whose backing file is the
 * artifact: the artifact is never modified. Interactive: the serial console is this terminal.
 * --check: headless, succeeds once a login prompt appears.
 */
import { createServer } from 'node:net';
import { copyFile, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { ExitCode, KilnError } from '../core/errors.js';
import { run } from '../core/exec.js';
import { info, logToFile } from '../core/log.js';
import { withScope } from '../core/scope.js';
import { firmwareFor, isHybrid, parseDiskHead } from './detect.js';
import { Guest, GuestError } from './guest.js';
import { createOverlay, imageInfo, readHead } from './image.js';
import { probeKvm } from './kvm.js';
import { qemuArgs, varsTemplate, type Accel, type DiskBus, type Firmware, type SecureBootKeys, type VmOptions } from './qemu-args.js';

export { qemuArgs, formatFromExtension, type VmOptions, type Firmware, type Accel, type DiskBus } from './qemu-args.js';
export { Guest, GuestError } from './guest.js';
export { parseDiskHead, firmwareFor } from './detect.js';
export { probeKvm } from './kvm.js';

export interface BootRequest {
  /** Disk image (raw, vhd, vhdx, qcow2, vmdk) or installer ISO. */
  artifact: string;
  firmware?: Firmware | 'auto';
  secureBoot?: SecureBootKeys;
  accel?: Accel | 'auto';
  bus?: DiskBus;
  memoryMiB?: number;
  cpus?: number;
  /** Forward a host port to the guest's ssh (a free port when true). */
  ssh?: number | true;
  /** User name shown in the ssh command. */
  sshUser?: string;
  /** Headless: wait for the login prompt (or `expect`), then stop. */
  check?: boolean;
  timeoutSeconds?: number;
  /** --check: the text that means success (a regular expression). Default: a login prompt. */
  expect?: string;
  /** ISO: the installer's target disk (created sparse when missing, kept); default a throwaway blank disk. */
  targetDisk?: string;
  targetSizeGiB?: number;
}

export interface BootPlan {
  artifact: string;
  kind: 'disk' | 'iso';
  format: string;
  firmware: Firmware;
  firmwareReason: string;
  accel: Accel;
  accelReason: string;
}

export const LOGIN_PROMPT = /login: ?$/m;

/** Is the file an ISO 9660 image ("CD001" at byte 32769)? */
async function isIso(path: string): Promise<boolean> {
  if (/\.iso$/i.test(path)) return true;
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(5);
    await fh.read(buf, 0, 5, 32769);
    return buf.toString('latin1') === 'CD001';
  } finally {
    await fh.close();
  }
}

/** Decide format, firmware and accelerator (reads the artifact, never writes it). */
export async function planBoot(req: BootRequest): Promise<BootPlan> {
  const artifact = resolve(req.artifact);
  if (!existsSync(artifact)) throw new KilnError(`${req.artifact} does not exist`, ExitCode.Usage, ['give a disk image or ISO that kiln build wrote (out/images/<config>/), or a config file'], 'INPUT_NOT_FOUND');
  if (!(await stat(artifact)).isFile()) throw new KilnError(`${req.artifact} is not a file`, ExitCode.Usage, [], 'ARTIFACT_UNSUPPORTED');
  const iso = await isIso(artifact);
  let format = 'raw';
  let firmware: Firmware;
  let firmwareReason: string;
  if (iso) {
    firmware = req.firmware && req.firmware !== 'auto' ? req.firmware : 'uefi';
    firmwareReason = req.firmware && req.firmware !== 'auto' ? 'as asked' : "a hybrid installer ISO boots with either; UEFI chosen (--firmware bios for SeaBIOS)";
  } else {
    const infoResult = await imageInfo(artifact).catch((e: Error) => {
      throw new KilnError(`${req.artifact}: qemu-img cannot read it`, ExitCode.Usage, [e.message], 'ARTIFACT_UNSUPPORTED');
    });
    format = infoResult.format;
    const head = parseDiskHead(await readHead(artifact, format));
    const detected = firmwareFor(head);
    if (req.firmware && req.firmware !== 'auto') {
      firmware = req.firmware;
      firmwareReason = 'as asked';
    } else if (detected) {
      firmware = detected;
      firmwareReason =
        detected === 'uefi'
          ? `EFI system partition on a ${head.table.toUpperCase()} disk${isHybrid(head) ? ' (also BIOS-bootable: --firmware bios)' : ''}`
          : `BIOS boot code in the MBR${head.biosBootPartition ? ' and a BIOS boot partition' : ''}`;
    } else {
      throw new KilnError(`${req.artifact}: no EFI system partition and no BIOS boot code: not a bootable disk`, ExitCode.Usage, [
        `partition table: ${head.table}${head.types.length ? ` (${head.types.join(', ')})` : ''}`,
        'force a firmware with --firmware uefi|bios if you know better',
      ], 'ARTIFACT_UNSUPPORTED');
    }
  }
  if (req.secureBoot && firmware !== 'uefi') throw new KilnError('Secure Boot needs UEFI firmware', ExitCode.Usage, ['drop --secure-boot or use --firmware uefi'], 'USAGE');
  let accel: Accel;
  let accelReason: string;
  if (req.accel === 'kvm' || req.accel === 'tcg') {
    accel = req.accel;
    accelReason = 'as asked';
  } else {
    const probe = await probeKvm();
    accel = probe.usable ? 'kvm' : 'tcg';
    accelReason = probe.usable ? 'KVM works here' : `${probe.reason}; TCG (slower) instead`;
  }
  return { artifact, kind: iso ? 'iso' : 'disk', format, firmware, firmwareReason, accel, accelReason };
}

async function freePort(): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export function sshCommand(port: number, user = 'root'): string {
  return `ssh -p ${port} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ${user}@127.0.0.1`;
}

export interface BootOutcome {
  plan: BootPlan;
  /** --check: the text that matched. */
  matched?: string;
  sshPort?: number;
  /** ISO boots: the target disk (when kept). */
  targetDisk?: string;
}

/** Boot the artifact; with `check`, resolve once the login prompt appears (else throw BOOT_TIMEOUT / BOOT_VM_EXITED). */
export async function bootArtifact(req: BootRequest): Promise<BootOutcome> {
  const plan = await planBoot(req);
  const sshPort = req.ssh === true ? await freePort() : req.ssh || undefined;
  return await withScope('boot', async (scope) => {
    const dir = await mkdtemp(join(process.env.KILN_BOOT_DIR ?? tmpdir(), `kiln-boot-${basename(plan.artifact).replace(/[^A-Za-z0-9._-]/g, '_')}-`));
    scope.add(`boot directory ${dir}`, () => rm(dir, { recursive: true, force: true }), { kind: 'path', path: dir });
    const vm: VmOptions = {
      firmware: plan.firmware,
      accel: plan.accel,
      ...(req.secureBoot ? { secureBoot: req.secureBoot } : {}),
      disks: [],
      memoryMiB: req.memoryMiB ?? (plan.kind === 'iso' ? 1536 : 1024),
      cpus: req.cpus ?? (plan.accel === 'kvm' ? 2 : 1),
      ...(sshPort ? { sshPort } : {}),
      // an installer reboots when done: stop there (boot the installed disk with kiln boot TARGET)
      noReboot: req.check === true || plan.kind === 'iso',
    };
    let targetDisk: string | undefined;
    if (plan.kind === 'iso') {
      vm.cdrom = plan.artifact;
      targetDisk = req.targetDisk ? resolve(req.targetDisk) : join(dir, 'target.raw');
      if (!existsSync(targetDisk)) await run('truncate', ['-s', `${req.targetSizeGiB ?? 4}G`, targetDisk]);
      vm.disks.push({ path: targetDisk, format: req.targetDisk ? (await imageInfo(targetDisk)).format : 'raw', interface: req.bus ?? 'virtio' });
    } else {
      // the throwaway overlay: qemu opens the artifact read-only as the overlay's backing file
      const overlay = join(dir, 'overlay.qcow2');
      await createOverlay(plan.artifact, plan.format, overlay);
      vm.disks.push({ path: overlay, format: 'qcow2', interface: req.bus ?? 'virtio' });
    }
    const what = `${basename(plan.artifact)} (${plan.kind === 'iso' ? 'installer ISO' : plan.format}) with ${plan.firmware === 'uefi' ? `OVMF${req.secureBoot ? ` + Secure Boot (${req.secureBoot} keys)` : ''}` : 'SeaBIOS'} [${plan.firmwareReason}], ${plan.accel.toUpperCase()} [${plan.accelReason}]`;
    logToFile(`boot ${what}`);
    const result: BootOutcome = { plan, ...(sshPort ? { sshPort } : {}), ...(req.targetDisk && targetDisk ? { targetDisk } : {}) };
    if (req.check) {
      info(`kiln boot --check: ${what}`);
      if (sshPort) info(`ssh: ${sshCommand(sshPort, req.sshUser)}`);
      const started = Date.now();
      const guest = await Guest.boot(basename(plan.artifact), join(dir, 'vm'), vm);
      scope.add('qemu', () => guest.stop());
      const expect = req.expect ? new RegExp(req.expect, 'm') : LOGIN_PROMPT;
      const timeout = (req.timeoutSeconds ?? 600) * 1000;
      try {
        const m = await guest.waitFor(expect, timeout);
        result.matched = m[0];
        info(`reached ${JSON.stringify(m[0].trim())} after ${Math.round((Date.now() - started) / 1000)} s`);
      } catch (e) {
        if (!(e instanceof GuestError)) throw e;
        const tail = guest.tail(25).split('\n').map((l) => `  | ${l}`);
        if (e.reason === 'timeout') {
          throw new KilnError(`${basename(plan.artifact)}: no ${req.expect ? `match for /${req.expect}/` : 'login prompt'} on the serial console within ${timeout / 1000} s`, ExitCode.BootCheckFailed, [...tail, 'the console above shows how far it got; a TCG boot is slow on a busy machine: --timeout SECONDS'], 'BOOT_TIMEOUT');
        }
        throw new KilnError(`${basename(plan.artifact)}: the VM stopped before ${req.expect ? `/${req.expect}/ appeared` : 'a login prompt'}`, ExitCode.BootCheckFailed, [...tail, 'the console above shows why (no bootable device, a kernel panic, an installer that rebooted)'], 'BOOT_VM_EXITED');
      }
      return result;
    }
    // interactive: the terminal is the serial console
    const vars = varsTemplate(vm);
    const files = { serial: { kind: 'stdio' as const }, ...(vars ? { vars: join(dir, 'OVMF_VARS.fd') } : {}) };
    if (vars && files.vars) await copyFile(vars, files.vars);
    process.stderr.write(`kiln boot: ${what}\n`);
    process.stderr.write(`  the artifact is not modified (${plan.kind === 'iso' ? `installer target: ${targetDisk}` : 'writes go to a throwaway overlay'}); quit with Ctrl-A x\n`);
    if (sshPort) process.stderr.write(`  ssh: ${sshCommand(sshPort, req.sshUser)}\n`);
    // Ctrl-C goes to the guest (the console is raw); SIGTERM or the terminal going away (SIGHUP)
    // stop qemu through the scope's signal handler, which then removes the overlay and its record;
    // after a SIGKILL, qemu dies with Kiln (parent-death signal) and `kiln clean` removes them
    await run('qemu-system-x86_64', qemuArgs(vm, files), { interactive: true });
    return result;
  });
}

/**
 * The one qemu command builder: `kiln boot` and the end-to-end tests both get their qemu command
 * line here. Pure apart from naming files the caller provides.
 */
export type Firmware = 'uefi' | 'bios';
export type Accel = 'kvm' | 'tcg';
export type DiskBus = 'virtio' | 'ide' | 'sata' | 'scsi';
/** Secure Boot variable stores shipped in Debian's ovmf: Microsoft's keys, or Debian's test keys. */
export type SecureBootKeys = 'ms' | 'snakeoil';

export interface DiskSpec {
  path: string;
  /** qemu format: raw, vpc (vhd), vhdx, qcow2, vmdk... Default: guessed from the extension. */
  format?: string;
  interface?: DiskBus;
  /** Open with snapshot=on: writes go to a temporary file, the image is never modified. */
  snapshot?: boolean;
}

export interface VmOptions {
  firmware: Firmware;
  /** Default tcg (callers decide, e.g. with probeKvm()). */
  accel?: Accel;
  /** UEFI with Secure Boot enforced, with this key set in the variable store. */
  secureBoot?: SecureBootKeys;
  /** Disk to boot from (first), then the others (e.g. an installer's target). */
  disks: DiskSpec[];
  /** An ISO attached as a CD-ROM; boots first when set. */
  cdrom?: string;
  memoryMiB?: number;
  cpus?: number;
  /** User-mode network with a virtio NIC (default true). */
  network?: boolean;
  /** Forward this host port (on 127.0.0.1) to the guest's port 22. */
  sshPort?: number;
  /** Stop instead of rebooting (tests, --check, installers). Default true. */
  noReboot?: boolean;
  /**
   * A VGA card (1024x768) the guest draws on, for graphical guests; qemu still opens no window:
   * the screen is read over QMP (screendump) and keys are typed there (send-key). Default: none.
   */
  display?: boolean;
  extraArgs?: string[];
}

/** Where the serial console goes: a UNIX socket qemu listens on (logged to a file), or this terminal. */
export type SerialWiring = { kind: 'socket'; socket: string; log: string } | { kind: 'stdio' };

export interface VmFiles {
  serial: SerialWiring;
  /** qemu's monitor socket (unused with stdio serial, where the monitor is multiplexed: Ctrl-A c). */
  monitor?: string;
  /** A QMP socket (machine-readable monitor: screendump, send-key). */
  qmp?: string;
  pidFile?: string;
  /** A writable copy of the UEFI variable store. */
  vars?: string;
}

export const OVMF = {
  code: '/usr/share/OVMF/OVMF_CODE.fd',
  vars: '/usr/share/OVMF/OVMF_VARS.fd',
  secureCode: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
  secureVars: { ms: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd', snakeoil: '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd' },
} as const;

/** The variable store template to copy for these options (undefined: BIOS). */
export function varsTemplate(opts: Pick<VmOptions, 'firmware' | 'secureBoot'>): string | undefined {
  if (opts.firmware !== 'uefi') return undefined;
  return opts.secureBoot ? OVMF.secureVars[opts.secureBoot] : OVMF.vars;
}

/** qemu's format name for an image file, from its extension (vhd is qemu's "vpc"). */
export function formatFromExtension(path: string): string | undefined {
  const ext = path.split('.').pop()?.toLowerCase();
  return ({ vhd: 'vpc', vhdx: 'vhdx', qcow2: 'qcow2', vmdk: 'vmdk', raw: 'raw', img: 'raw', iso: 'raw' } as Record<string, string>)[ext ?? ''];
}

/** Commas in a -drive/-chardev value are doubled (qemu's option escaping). */
function q(path: string): string {
  return path.replace(/,/g, ',,');
}

export function qemuArgs(opts: VmOptions, files: VmFiles): string[] {
  const accel = opts.accel ?? 'tcg';
  const machine = ['q35', `accel=${accel}`, ...(opts.secureBoot ? ['smm=on'] : [])].join(',');
  const args = ['-machine', machine];
  if (opts.secureBoot) args.push('-global', 'driver=cfi.pflash01,property=secure,value=on', '-global', 'ICH9-LPC.disable_s3=1');
  args.push(
    '-cpu', accel === 'kvm' ? 'host' : 'max',
    '-smp', String(opts.cpus ?? 1),
    '-m', String(opts.memoryMiB ?? 1024),
    '-nodefaults', '-display', 'none',
    ...(opts.display ? ['-device', 'VGA,xres=1024,yres=768'] : ['-vga', 'none']),
  );
  if (files.serial.kind === 'socket') {
    args.push('-chardev', `socket,id=ser0,path=${q(files.serial.socket)},server=on,wait=on,logfile=${q(files.serial.log)},logappend=off`, '-serial', 'chardev:ser0');
  } else {
    // the terminal is the serial console; Ctrl-A x quits, Ctrl-A c switches to qemu's monitor
    args.push('-chardev', 'stdio,id=ser0,mux=on,signal=off', '-serial', 'chardev:ser0', '-mon', 'chardev=ser0,mode=readline');
  }
  if (files.monitor) args.push('-monitor', `unix:${q(files.monitor)},server=on,wait=off`);
  if (files.qmp) args.push('-qmp', `unix:${q(files.qmp)},server=on,wait=off`);
  if (files.pidFile) args.push('-pidfile', files.pidFile);
  if (opts.noReboot ?? true) args.push('-no-reboot');
  if (opts.firmware === 'uefi') {
    if (!files.vars) throw new Error('UEFI needs a writable copy of the variable store (files.vars)');
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${q(opts.secureBoot ? OVMF.secureCode : OVMF.code)}`);
    args.push('-drive', `if=pflash,format=raw,unit=1,file=${q(files.vars)}`);
  }
  const bootFirst = (i: number) => (i === 0 && !opts.cdrom ? ',bootindex=1' : '');
  opts.disks.forEach((d, i) => {
    const format = d.format ?? formatFromExtension(d.path) ?? 'raw';
    const iface = d.interface ?? 'virtio';
    const drive = `file=${q(d.path)},format=${format},if=none,id=disk${i}${d.snapshot ? ',snapshot=on' : ''}`;
    args.push('-drive', drive);
    if (iface === 'virtio') {
      args.push('-device', `virtio-blk-pci,drive=disk${i}${bootFirst(i)}`);
    } else if (iface === 'sata' || iface === 'ide') {
      // q35's built-in AHCI controller serves both (there is no legacy IDE bus on q35)
      args.push('-device', `ide-hd,drive=disk${i},bus=ide.${i}${bootFirst(i)}`);
    } else {
      if (!args.includes('virtio-scsi-pci,id=scsi0')) args.push('-device', 'virtio-scsi-pci,id=scsi0');
      args.push('-device', `scsi-hd,drive=disk${i},bus=scsi0.0${bootFirst(i)}`);
    }
  });
  if (opts.cdrom) {
    args.push('-drive', `file=${q(opts.cdrom)},format=raw,if=none,id=cd0,media=cdrom,readonly=on`);
    args.push('-device', `ide-cd,drive=cd0,bus=ide.${opts.disks.length},bootindex=0`);
  }
  if (opts.network ?? true) {
    args.push('-nic', `user,model=virtio-net-pci${opts.sshPort ? `,hostfwd=tcp:127.0.0.1:${opts.sshPort}-:22` : ''}`);
  }
  args.push(...(opts.extraArgs ?? []));
  return args;
}

import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ExitCode, KilnError, UsageError } from '../../core/errors.js';

const HELP = `
Boots an image in qemu with the serial console on this terminal (quit: Ctrl-A x). The artifact is
never modified: the VM writes to a throwaway qcow2 overlay whose backing file is the artifact.

  ARTIFACT   a disk image (raw, vhd, vhdx, qcow2, vmdk) or an installer ISO
  CONFIG     an image config: boots what \`kiln build CONFIG\` wrote under --out

Firmware: OVMF (UEFI) when the disk has an EFI system partition, SeaBIOS when it has BIOS boot code
(--firmware to choose; --secure-boot enforces Secure Boot, with Microsoft's keys or Debian's test keys).
Accelerator: KVM when a probe shows it works, else TCG. An ISO boots with a blank target disk
(--target FILE keeps it; qemu stops when the installer reboots: then \`kiln boot FILE\`).

--check boots headless and exits 0 once a login prompt appears on the serial console.

Examples:
  kiln boot out/images/core-efi/core.vhdx
  kiln boot imageconfigs/core-legacy.json --ssh
  kiln boot --secure-boot out/images/core-efi/core.vhdx
  kiln boot --check --timeout 900 out/images/core-efi/core.vhdx
  kiln boot out/images/core-efi-unattended/core-efi-unattended.iso --target /var/tmp/disk.raw
  kiln boot --check /var/tmp/disk.raw

Exit codes (boot):
  0  the VM ran and stopped (--check: the login prompt appeared)
  2  usage error: no such file, not a bootable disk, a config that was not built yet
  3  qemu failed to start
  4  qemu or the firmware is not installed and cannot be installed here
  6  --check: no login prompt before --timeout (BOOT_TIMEOUT), or the VM stopped first (BOOT_VM_EXITED)`;

interface Options {
  out: string;
  artifact?: string;
  firmware: 'auto' | 'uefi' | 'bios';
  secureBoot?: boolean;
  secureBootKeys: 'ms' | 'snakeoil';
  accel: 'auto' | 'kvm' | 'tcg';
  bus: 'virtio' | 'ide' | 'sata' | 'scsi';
  memory?: string;
  cpus?: string;
  ssh?: boolean;
  sshPort?: string;
  check?: boolean;
  timeout: string;
  expect?: string;
  target?: string;
  targetSize: string;
}

const BOOTABLE = ['.vhdx', '.qcow2', '.vhd', '.vmdk', '.raw', '.img', '.iso'];

export function registerBoot(program: Command): void {
  program
    .command('boot')
    .description('run a built image (or installer ISO) in qemu with its serial console on the terminal; --check waits for the login prompt')
    .argument('<config-or-artifact>', 'image config (boots its built artifact) or a disk image / ISO')
    .option('--out <dir>', 'output directory of the build, for a config', 'out')
    .option('--artifact <name>', "for a config: which artifact file (e.g. core.qcow2); default the first disk image, or the ISO of an ISO config")
    .addOption(new Option('--firmware <kind>', 'firmware (auto: from the partition table)').choices(['auto', 'uefi', 'bios']).default('auto'))
    .option('--secure-boot', 'UEFI with Secure Boot enforced (variable store with --secure-boot-keys)')
    .addOption(new Option('--secure-boot-keys <keys>', "Secure Boot keys: ms (Microsoft's, which sign shim) or snakeoil (Debian's test keys)").choices(['ms', 'snakeoil']).default('ms'))
    .addOption(new Option('--accel <accel>', 'accelerator (auto: KVM when it works, else TCG)').choices(['auto', 'kvm', 'tcg']).default('auto'))
    .addOption(new Option('--bus <bus>', 'disk interface').choices(['virtio', 'ide', 'sata', 'scsi']).default('virtio'))
    .option('--memory <MiB>', 'guest memory in MiB (default 1024; ISO 1536)')
    .option('--cpus <n>', 'virtual CPUs (default 1 with TCG, 2 with KVM)')
    .option('--ssh', 'forward a free port on 127.0.0.1 to the guest port 22 and print the ssh command')
    .option('--ssh-port <port>', 'with --ssh: this host port instead of a free one')
    .option('--check', 'headless: exit 0 once a login prompt appears on the serial console, 6 otherwise')
    .option('--timeout <seconds>', 'with --check: how long to wait', '600')
    .option('--expect <regex>', 'with --check: the console text that means success (default: a login prompt)')
    .option('--target <file>', 'ISO: the installer target disk (created sparse when missing, kept afterwards)')
    .option('--target-size <GiB>', 'ISO: size of a new target disk', '4')
    .addHelpText('after', HELP)
    .action(async (input: string, opts: Options) => {
      const { bootArtifact } = await import('../../boot-vm/index.js');
      const { artifact, sshUser } = await resolveBootInput(input, opts);
      const int = (v: string | undefined, flag: string) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} ${v}: not a positive whole number`);
        return n;
      };
      const { ensureHostTools } = await import('../../host/index.js');
      await ensureHostTools(['qemu-system-x86_64', 'qemu-img'], opts.firmware === 'bios' ? [] : ['/usr/share/OVMF/OVMF_CODE.fd']);
      const ssh = opts.sshPort !== undefined ? int(opts.sshPort, '--ssh-port') : opts.ssh ? true : undefined;
      const memoryMiB = int(opts.memory, '--memory');
      const cpus = int(opts.cpus, '--cpus');
      const outcome = await bootArtifact({
        artifact,
        firmware: opts.firmware,
        ...(opts.secureBoot ? { secureBoot: opts.secureBootKeys } : {}),
        accel: opts.accel,
        bus: opts.bus,
        ...(memoryMiB ? { memoryMiB } : {}),
        ...(cpus ? { cpus } : {}),
        ...(ssh ? { ssh } : {}),
        ...(sshUser ? { sshUser } : {}),
        ...(opts.check ? { check: true } : {}),
        timeoutSeconds: int(opts.timeout, '--timeout')!,
        ...(opts.expect ? { expect: opts.expect } : {}),
        ...(opts.target ? { targetDisk: opts.target } : {}),
        targetSizeGiB: int(opts.targetSize, '--target-size')!,
      });
      if (opts.check) process.stdout.write(`${outcome.plan.artifact}: ${outcome.matched?.trim() ?? 'ok'}\n`);
    });
}

/** A config → the artifact its build wrote; anything else is the artifact itself. */
async function resolveBootInput(input: string, opts: Options): Promise<{ artifact: string; sshUser?: string }> {
  if (!/\.(json|ya?ml)$/i.test(input)) return { artifact: input };
  const [{ loadConfig }, { wantsIso }] = await Promise.all([import('../../config/index.js'), import('../../iso/index.js')]);
  const loaded = await loadConfig(input);
  const dir = resolve(opts.out, 'images', loaded.name);
  const user = loaded.config.SystemConfigs[0]?.Users?.[0]?.Name;
  const files = existsSync(dir) ? readdirSync(dir) : [];
  const candidates = files.filter((f) => BOOTABLE.some((e) => f.endsWith(e)) && !f.startsWith('.'));
  let pick: string | undefined;
  if (opts.artifact) pick = candidates.find((f) => f === opts.artifact);
  else {
    const order = wantsIso(loaded.config) ? ['.iso', ...BOOTABLE] : BOOTABLE;
    for (const ext of order) {
      pick = candidates.find((f) => f.endsWith(ext));
      if (pick) break;
    }
  }
  if (!pick) {
    throw new KilnError(
      `${loaded.file}: ${opts.artifact ? `no artifact ${opts.artifact}` : 'no bootable artifact'} under ${dir}`,
      ExitCode.Usage,
      [candidates.length ? `built: ${candidates.join(', ')}` : `build it first: kiln build ${input}${opts.out !== 'out' ? ` --out ${opts.out}` : ''}`],
      'ARTIFACT_NOT_BUILT',
    );
  }
  return { artifact: join(dir, pick), ...(user ? { sshUser: user } : {}) };
}

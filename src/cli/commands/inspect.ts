import type { Command } from 'commander';

const HELP = `
Reports what is inside an artifact without modifying it: the partition table, each filesystem
(type, size, UUID, label, use), how it boots (UEFI/BIOS, grub, shim, systemd-boot, UKI), the
operating system (os-release, kernels, number of installed packages from the dpkg status file, the
rpm database, or the manifest RemoveRpmDb leaves), and the file's SHA-256.

Formats: raw, vhd, vhdx, qcow2, vmdk (converted to a temporary raw copy), ova, iso (El Torito
entries, and each disk image the installer carries), root filesystem tarballs (tar, tar.gz,
tar.xz, tar.zst).

Examples:
  kiln inspect out/images/core-efi/core.vhdx
  kiln inspect --json out/images/core-efi-unattended/core-efi-unattended.iso | jq '.iso.payloads[0].report.disk.os'

Exit codes (inspect): 0 reported, 2 no such file or not an artifact Kiln reads, 3 a tool failed,
4 host tools missing (qemu-utils, mtools, util-linux, xorriso).`;

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show the partitions, filesystems, boot loader, OS, packages and checksum of an artifact (read-only)')
    .argument('<artifact>', 'disk image, OVA, ISO or rootfs tarball')
    .option('--json', 'print the report as JSON on stdout')
    .addHelpText('after', HELP)
    .action(async (artifact: string, opts: { json?: boolean }) => {
      const [{ inspectArtifact, formatReport }, { ensureHostTools }] = await Promise.all([import('../../inspect/index.js'), import('../../host/index.js')]);
      await ensureHostTools(['qemu-img', 'sfdisk', 'blkid', 'losetup', 'mount', 'umount', 'minfo', 'mdir', 'mcopy', 'tar', 'xorriso', 'osirrox']);
      const report = await inspectArtifact(artifact);
      process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report) + '\n');
    });
}

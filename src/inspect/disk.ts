/**
 * A raw disk image, looked at without writing to it: the partition table (sfdisk), each
 * filesystem's type, UUID and label (blkid in probe mode, on the file at the partition's offset),
 * ext/xfs/btrfs mounted read-only through a read-only loop device (no journal replay), FAT read
 * with mtools (the build hosts' kernels have no vfat), and the boot loader from the ESP and the MBR.
 */
import { open, readFile, statfs } from 'node:fs/promises';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { output, run } from '../core/exec.js';
import type { Scope } from '../core/scope.js';
import { GPT_TYPES, parseDiskHead } from '../boot-vm/detect.js';
import { osInfo, type OsInfo } from './osinfo.js';
import { partitionNumber, partitionTableIfAny } from '../disk/sfdisk.js';

export interface FilesystemInfo {
  type: string;
  uuid?: string;
  label?: string;
  version?: string;
  /** FAT: FAT12/16/32 as mtools reads it. */
  fatType?: string;
  /** Filesystem size and use, when it was mounted (bytes). */
  sizeBytes?: number;
  usedBytes?: number;
}

export interface PartitionInfo {
  number: number;
  startBytes: number;
  sizeBytes: number;
  /** GPT type GUID or MBR type byte. */
  type: string;
  typeName?: string;
  partuuid?: string;
  name?: string;
  bootable?: boolean;
  filesystem?: FilesystemInfo;
  /** Where the image mounts it (from its fstab), when known. */
  mountPoint?: string;
}

export interface BootInfo {
  /** Firmware that can start it. */
  firmware: ('uefi' | 'bios')[];
  /** The boot loader(s) found: grub (EFI / BIOS), shim, systemd-boot, UKI. */
  loaders: string[];
  efiFiles: string[];
}

export interface DiskReport {
  partitionTable: { type: 'gpt' | 'dos' | 'none'; id?: string; sizeBytes: number; partitions: PartitionInfo[] };
  boot: BootInfo;
  os?: OsInfo & { rootPartition: number };
}

const TYPE_NAMES: Record<string, string> = {
  [GPT_TYPES.esp]: 'EFI System',
  [GPT_TYPES.biosBoot]: 'BIOS boot',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem',
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'Linux root (x86-64)',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'Linux swap',
  'BC13C2FF-59E6-4262-A352-B275FD6F7172': 'Linux extended boot',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'Linux LVM',
  'CA7D7CCB-63ED-4C53-861C-1742536059CC': 'Linux LUKS',
  ef: 'EFI System', '83': 'Linux', '82': 'Linux swap', '0c': 'FAT32 (LBA)', '06': 'FAT16', ee: 'GPT protective',
};


const mtoolsEnv = () => ({ ...process.env, MTOOLS_SKIP_CHECK: '1' });

async function blkidProbe(raw: string, offset: number, size: number): Promise<Record<string, string>> {
  const r = await run('blkid', ['-p', '-o', 'export', '-O', String(offset), '-S', String(size), raw], { allowFailure: true });
  const out: Record<string, string> = {};
  for (const l of r.stdout.split('\n')) {
    const i = l.indexOf('=');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

/** Mount a partition of `raw` read-only (loop device read-only too); released by the scope. */
async function mountReadOnly(scope: Scope, raw: string, p: PartitionInfo, fsType: string, dir: string): Promise<boolean> {
  const loop = await scope.acquire(
    `read-only loop device for partition ${p.number} of ${raw}`,
    () => output('losetup', ['--find', '--show', '--read-only', '--offset', String(p.startBytes), '--sizelimit', String(p.sizeBytes), raw]),
    async (dev) => void (await run('losetup', ['-d', dev], { allowFailure: true })),
    (dev) => ({ kind: 'loop', device: dev, backingFile: raw }),
  );
  const opts = fsType.startsWith('ext') ? 'ro,noload' : fsType === 'xfs' ? 'ro,norecovery' : 'ro';
  const r = await run('mount', ['-t', fsType, '-o', opts, loop, dir], { allowFailure: true });
  if (r.code !== 0) return false;
  scope.add(`mount ${dir}`, async () => void (await run('umount', [dir], { allowFailure: true })), { kind: 'mount', path: dir });
  return true;
}

async function fatDetails(raw: string, p: PartitionInfo): Promise<{ fatType?: string; files: string[] }> {
  const at = `${raw}@@${p.startBytes}`;
  const info = await run('minfo', ['-i', at, '::'], { allowFailure: true, env: mtoolsEnv() });
  const fatType = /disk type="(FAT\d+)/.exec(info.stdout)?.[1];
  const dir = await run('mdir', ['-i', at, '-/', '-b', '::/'], { allowFailure: true, env: mtoolsEnv() });
  const files = dir.code === 0 ? dir.stdout.split('\n').map((l) => l.trim().replace(/^::/, '')).filter((l) => l && !l.endsWith('/')) : [];
  return { ...(fatType ? { fatType } : {}), files };
}

/** Bytes of a file on a FAT partition (mcopy to a temporary file). */
async function fatRead(raw: string, p: PartitionInfo, path: string): Promise<Buffer | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-fat-'));
  try {
    const out = join(dir, 'f');
    const r = await run('mcopy', ['-n', '-i', `${raw}@@${p.startBytes}`, `::${path}`, out], { allowFailure: true, env: mtoolsEnv() });
    return r.code === 0 ? await readFile(out) : undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function efiLoaderKind(bytes: Buffer): string | undefined {
  // shim's own banner ("UEFI SHIM"); grub also mentions shim_lock (its verifier), so that string proves nothing
  if (bytes.includes(Buffer.from('UEFI SHIM'))) return 'shim';
  if (bytes.includes(Buffer.from('.linux\0')) && bytes.includes(Buffer.from('.osrel'))) return 'uki';
  if (bytes.includes(Buffer.from('systemd-boot'))) return 'systemd-boot';
  if (bytes.includes(Buffer.from('GRUB'))) return 'grub';
  return undefined;
}

export async function inspectRawDisk(scope: Scope, raw: string, sizeBytes: number, workDir: string): Promise<DiskReport> {
  const fh = await open(raw, 'r');
  const first = Buffer.alloc(1024 * 1024);
  try {
    await fh.read(first, 0, first.length, 0);
  } finally {
    await fh.close();
  }
  const parsedHead = parseDiskHead(first);
  const t = await partitionTableIfAny(raw);
  const partitions: PartitionInfo[] = [];
  let tableType: 'gpt' | 'dos' | 'none' = 'none';
  let tableId: string | undefined;
  if (t) {
    const sector = t.sectorsize ?? 512;
    tableType = t.label;
    tableId = t.id;
    t.partitions.forEach((p, i) => {
      const type = t.label === 'gpt' ? p.type.toUpperCase() : p.type.toLowerCase().padStart(2, '0');
      partitions.push({
        number: partitionNumber(p) ?? i + 1,
        startBytes: p.start * sector,
        sizeBytes: p.size * sector,
        type,
        ...(TYPE_NAMES[type] ? { typeName: TYPE_NAMES[type] } : {}),
        ...(p.uuid ? { partuuid: p.uuid.toLowerCase() } : {}),
        ...(p.name ? { name: p.name } : {}),
        ...(p.bootable ? { bootable: true } : {}),
      });
    });
  }
  if (tableType === 'none') {
    // a bare filesystem (a partition artifact such as ext4@rootfs): one pseudo-partition, number 0, the whole file
    const whole = await blkidProbe(raw, 0, sizeBytes);
    if (whole.TYPE) partitions.push({ number: 0, startBytes: 0, sizeBytes, type: '' });
  }
  const boot: BootInfo = { firmware: [], loaders: [], efiFiles: [] };
  let os: DiskReport['os'];
  const mounted: { p: PartitionInfo; dir: string }[] = [];
  for (const p of partitions) {
    const probe = await blkidProbe(raw, p.startBytes, p.sizeBytes);
    if (!probe.TYPE) continue;
    const fs: FilesystemInfo = { type: probe.TYPE, ...(probe.UUID ? { uuid: probe.UUID } : {}), ...(probe.LABEL ? { label: probe.LABEL } : {}), ...(probe.VERSION ? { version: probe.VERSION } : {}) };
    p.filesystem = fs;
    if (fs.type === 'vfat') {
      const fat = await fatDetails(raw, p);
      if (fat.fatType) fs.fatType = fat.fatType;
      const efi = fat.files.filter((f) => /^\/EFI\//i.test(f));
      if (efi.length) {
        boot.efiFiles.push(...efi);
        for (const f of efi.filter((x) => /\.efi$/i.test(x) && /\/(EFI\/BOOT\/BOOTX64|.*shimx64|.*grubx64|EFI\/Linux\/[^/]+)\.efi$/i.test(x))) {
          const bytes = await fatRead(raw, p, f);
          const kind = bytes ? efiLoaderKind(bytes) : undefined;
          if (kind) boot.loaders.push(`${kind} (EFI ${f})`);
        }
      }
    } else if (['ext2', 'ext3', 'ext4', 'xfs', 'btrfs'].includes(fs.type)) {
      const dir = join(workDir, `p${p.number}`);
      mkdirSync(dir, { recursive: true });
      if (await mountReadOnly(scope, raw, p, fs.type, dir)) {
        const st = await statfs(dir);
        fs.sizeBytes = st.blocks * st.bsize;
        fs.usedBytes = (st.blocks - st.bfree) * st.bsize;
        mounted.push({ p, dir });
      }
    }
  }
  // the root: the mounted filesystem with an os-release; /boot: one with vmlinuz-* at its top
  for (const m of mounted) {
    const bootDir = mounted.find((x) => x !== m && readdirSync(x.dir).some((f) => f.startsWith('vmlinuz-')));
    const info = await osInfo(m.dir, bootDir?.dir);
    if (info) {
      os = { ...info, rootPartition: m.p.number };
      m.p.mountPoint = '/';
      if (bootDir) bootDir.p.mountPoint = '/boot';
      const fstab = existsSync(join(m.dir, 'etc/fstab')) ? readFileSync(join(m.dir, 'etc/fstab'), 'utf8') : '';
      for (const [source, mountPoint] of parseFstab(fstab)) {
        const [key, value] = [source.slice(0, source.indexOf('=')), source.slice(source.indexOf('=') + 1).toLowerCase()];
        const hit = partitions.find((p) => (key === 'PARTUUID' && p.partuuid === value) || (key === 'UUID' && p.filesystem?.uuid?.toLowerCase() === value) || (key === 'PARTLABEL' && p.name?.toLowerCase() === value));
        if (hit) hit.mountPoint = mountPoint;
      }
      break;
    }
  }
  if (boot.efiFiles.length && partitions.some((p) => p.type === GPT_TYPES.esp || p.type === 'ef')) boot.firmware.push('uefi');
  if (parsedHead.mbrBootCode && (parsedHead.biosBootPartition || tableType === 'dos' || parsedHead.grubInMbr)) {
    boot.firmware.push('bios');
    if (parsedHead.grubInMbr) boot.loaders.push('grub (BIOS)');
  }
  return { partitionTable: { type: tableType, ...(tableId ? { id: tableId } : {}), sizeBytes, partitions }, boot, ...(os ? { os } : {}) };
}

/** (source, mount point) of each fstab line that names its device by an identifier. */
export function parseFstab(text: string): [string, string][] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 2 && !f[0]!.startsWith('#') && /^(PARTUUID|UUID|PARTLABEL|LABEL)=/.test(f[0]!) && f[1]!.startsWith('/'))
    .map((f) => [f[0]!, f[1]!]);
}

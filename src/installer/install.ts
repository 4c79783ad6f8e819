/**
 * Applies one pre-built raw image to a real disk: write it (holes skipped), give the disk, its
 * partitions and its file systems fresh identifiers, grow the last partition and its file system
 * (ext: resize2fs; xfs: xfs_growfs once mounted), then fix up the installed root (identifiers in
 * fstab, grub.cfg and grub's EFI image, host name, the attended user). A sealed root (encrypted or
 * verity) is installed as built: its partition is never opened, checked or renamed, and the
 * file-system UUIDs its own fstab names are kept (an encrypted last partition still grows; its
 * file system grows at first boot). Both installers (terminal and graphical) call install(). Every
 * command goes through core/exec; every mount is held by a Scope so a failure leaves nothing mounted.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { output, run } from '../core/exec.js';
import { getLogFile, logToFile } from '../core/log.js';
import type { Scope } from '../core/scope.js';
import { freshFsUuid, isRenewable, parseBlkidExport, rewriteBinaryIdentifiers, setUuidCommand } from './filesystems.js';
import { freshIds, identifierMap, rewriteIdentifiers, tableIds, type TableIds } from './identifiers.js';
import { fsckExt } from '../disk/fsck.js';
import { partitionNumber, partitionTable } from '../disk/sfdisk.js';
import type { InstallSystem } from './manifest.js';

export interface InstallAnswers {
  system: InstallSystem;
  /** /dev/vda */
  target: string;
  hostname?: string;
  user?: { name: string; password: string };
}

export type Progress = (message: string) => void;

export const TARGET_ROOT = '/run/kiln-target';

export async function install(scope: Scope, mediaRoot: string, a: InstallAnswers, say: Progress): Promise<void> {
  const steps = 6;
  say(`[1/${steps}] writing ${a.system.name} to ${a.target}`);
  await writeImage(join(mediaRoot, a.system.image), a.target, a.system.dataBytes, say);

  say(`[2/${steps}] giving ${a.target} new disk and partition identifiers`);
  const ids = await renewIdentifiers(a.target);
  const map = identifierMap(ids.old, ids.fresh);

  const renew = fsUuidRenewal(a.system, [...ids.fresh.partUuids.keys()]);
  if (renew.partitions.length) {
    say(`[3/${steps}] giving its file systems new identifiers`);
    for (const [oldUuid, newUuid] of await renewFilesystemUuids(a.target, renew.partitions)) map.set(oldUuid, newUuid);
  } else say(`[3/${steps}] file-system identifiers kept as built (${renew.why ?? 'no partitions'})`);
  if (renew.partitions.length && renew.why) logToFile(renew.why);

  let growXfs: number | undefined;
  if (a.system.growLastPartition) {
    say(`[4/${steps}] growing the last partition to the end of the disk`);
    growXfs = await growLastPartition(a.target, a.system);
  } else say(`[4/${steps}] partition sizes kept as built (the last partition does not grow)`);

  say(`[5/${steps}] configuring the installed system`);
  const root = await mountTarget(scope, a.target, a.system);
  if (growXfs !== undefined) await growXfsFilesystem(scope, a.target, a.system, growXfs);
  const changed = rewriteFiles(root, map);
  logToFile(`identifiers rewritten in: ${changed.join(', ') || '(no file named them)'}`);
  if (a.system.sealedRoot) {
    // the root is encrypted (no passphrase here) or verity (one changed byte and it no longer
    // verifies): it is installed as built. Its files name the other partitions by filesystem
    // UUID and its own device by LUKS UUID or verity root hash, which the new GUIDs do not touch.
    logToFile(`root sealed (${a.system.sealedRoot}): not mounted; host name, users and this log stay as built`);
  } else {
    if (a.hostname) setHostname(root, a.hostname);
    if (a.user) await addUser(scope, root, a.user.name, a.user.password);
    keepLog(root);
  }

  say(`[6/${steps}] flushing and unmounting`);
  await run('sync', []);
}

export function partitionDevice(disk: string, n: number): string {
  // /dev/nvme0n1 → /dev/nvme0n1p1, /dev/mmcblk0 → /dev/mmcblk0p1, /dev/vda → /dev/vda1
  return /\d$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`;
}

async function writeImage(image: string, target: string, dataBytes: number, say: Progress): Promise<void> {
  await run('wipefs', ['--all', '--quiet', target]);
  // Progress from the kernel's count of sectors written to the disk: no parsing of \r-progress.
  const dev = target.replace(/^\/dev\//, '');
  const written = () => {
    try {
      return Number(readFileSync(`/sys/block/${dev}/stat`, 'utf8').trim().split(/\s+/)[6] ?? 0) * 512;
    } catch {
      return 0;
    }
  };
  const start = written();
  const started = Date.now();
  let lastShown = -1;
  const timer = setInterval(() => {
    const pct = Math.min(99, Math.floor(((written() - start) / Math.max(1, dataBytes)) * 100));
    if (pct >= lastShown + 10) {
      lastShown = pct - (pct % 10);
      say(`      ${pct}% written`);
    }
  }, 1000);
  try {
    // Only the image's allocated clusters are read and written: holes are skipped (-n: the disk
    // exists; --target-is-zero: do not write zeros where the image has none to give).
    await run('qemu-img', ['convert', '-n', '--target-is-zero', '-f', 'qcow2', '-O', 'raw', image, target]);
    await run('sync', []);
  } finally {
    clearInterval(timer);
  }
  say(`      100% written (${Math.round((Date.now() - started) / 1000)} s)`);
  await rereadPartitions(target);
}

async function rereadPartitions(target: string): Promise<void> {
  await run('blockdev', ['--rereadpt', target]);
}

async function renewIdentifiers(target: string): Promise<{ old: TableIds; fresh: TableIds }> {
  const old = tableIds(await partitionTable(target));
  if (old.tableType === 'gpt') await run('sfdisk', ['--relocate', 'gpt-bak-std', target]); // backup header to the real end
  const fresh = freshIds(old);
  await run('sfdisk', ['--no-reread', '--disk-id', target, fresh.diskId]);
  if (fresh.tableType === 'gpt') {
    for (const [n, uuid] of fresh.partUuids) await run('sfdisk', ['--no-reread', '--part-uuid', target, String(n), uuid]);
  }
  await rereadPartitions(target);
  return { old, fresh };
}

/**
 * Which partitions' file systems get a new UUID (pure). Never a sealed one (LUKS: the installer
 * has no passphrase; verity: e2fsck or tune2fs would change bytes the hash tree covers). Beside a
 * sealed root none at all: the root's own fstab names the other partitions by file-system UUID
 * (the imager chooses UUIDs there because they survive the install) and the installer cannot
 * rewrite it, so a renewed ESP or /boot would no longer be found at boot.
 */
export function fsUuidRenewal(sys: InstallSystem, partitions: readonly number[]): { partitions: number[]; why?: string } {
  if (sys.sealedRoot) return { partitions: [], why: `the root is sealed (${sys.sealedRoot}) and its fstab names the file systems by UUID` };
  const sealed = new Set(sys.mounts.filter((m) => m.sealed).map((m) => m.partition));
  const kept = partitions.filter((n) => sealed.has(n));
  return {
    partitions: partitions.filter((n) => !sealed.has(n)).sort((x, y) => x - y),
    ...(kept.length ? { why: `sealed partition(s) ${kept.join(', ')} keep their identifiers` } : {}),
  };
}

/**
 * The file systems of the given partitions get a new UUID (unmounted, before anything is grown). Returns
 * old UUID → new UUID for the files that name them. Types whose UUID cannot be changed in place
 * (LUKS, a partition with no file system) are logged and kept.
 */
async function renewFilesystemUuids(target: string, partitions: number[]): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (const n of partitions) {
    const part = partitionDevice(target, n);
    const probe = await run('blkid', ['-p', '-o', 'export', part], { allowFailure: true });
    const { TYPE: type, UUID: oldUuid } = parseBlkidExport(probe.stdout);
    if (!type || !oldUuid) {
      logToFile(`${part}: no file system identifier to renew`);
      continue;
    }
    if (!isRenewable(type)) {
      logToFile(`${part}: ${type} keeps its UUID ${oldUuid} (not renewed for this type)`);
      continue;
    }
    if (type.startsWith('ext')) await fsckExt(part, { repair: 'preen' });
    const fresh = freshFsUuid(type);
    const { cmd, args } = setUuidCommand(type, part, fresh);
    await run(cmd, args);
    const now = parseBlkidExport((await run('blkid', ['-p', '-o', 'export', part])).stdout).UUID;
    if (now?.toLowerCase() !== fresh.toLowerCase()) throw new Error(`${cmd} did not give ${part} the UUID ${fresh} (blkid shows ${now ?? 'none'})`);
    logToFile(`${part}: ${type} UUID ${oldUuid} → ${fresh}`);
    map.set(oldUuid, fresh);
  }
  return map;
}


/**
 * Grows the last partition and an ext file system on it; returns the partition number when its
 * file system is xfs (grown once mounted). An encrypted last partition grows in whole LUKS
 * sectors and is not opened: the installed system grows its file system (x-systemd.growfs).
 */
async function growLastPartition(target: string, sys: InstallSystem): Promise<number | undefined> {
  const table = tableIds(await partitionTable(target));
  const last = Math.max(...table.partUuids.keys());
  const mount = sys.mounts.find((m) => m.partition === last);
  if (mount?.sealed === 'luks') {
    // a LUKS2 data area is whole 4 KiB sectors; the installed system grows the filesystem
    // inside it at boot (x-systemd.growfs), the installer cannot open it
    const size = await grownSizeSectors(target, last, 8);
    await run('sfdisk', ['--no-reread', '-N', String(last), target], { input: `, ${size}\n` });
    await rereadPartitions(target);
    logToFile(`partition ${last} (encrypted) grown to ${size} sectors; its filesystem grows at first boot`);
    return undefined;
  }
  if (mount?.sealed) {
    // verity: the hash tree fixes the size (the manifest never asks to grow it; kept as a guard)
    logToFile(`partition ${last} (${mount.sealed}) keeps its size`);
    return undefined;
  }
  await run('sfdisk', ['--no-reread', '-N', String(last), target], { input: ', +\n' });
  await rereadPartitions(target);
  const part = partitionDevice(target, last);
  const fsType = parseBlkidExport((await run('blkid', ['-p', '-o', 'export', part], { allowFailure: true })).stdout).TYPE;
  if (fsType?.startsWith('ext')) {
    await fsckExt(part, { repair: 'preen' });
    await run('resize2fs', [part]);
  } else if (fsType === 'xfs') return last;
  else logToFile(`partition ${last} grown; its ${fsType ?? 'unformatted'} content keeps its size`);
  return undefined;
}

/** xfs grows only while mounted: at its mount point of the installed system, else mounted for the purpose. */
async function growXfsFilesystem(scope: Scope, target: string, sys: InstallSystem, partition: number): Promise<void> {
  const mounted = sys.mounts.find((m) => m.partition === partition);
  if (mounted) {
    await run('xfs_growfs', [join(TARGET_ROOT, mounted.mountPoint)]);
    return;
  }
  const where = '/run/kiln-grow';
  mkdirSync(where, { recursive: true });
  await run('mount', ['-t', 'xfs', partitionDevice(target, partition), where]);
  const release = scope.add(`mount ${where}`, () => run('umount', [where]).then(() => undefined), { kind: 'mount', path: where });
  await run('xfs_growfs', [where]);
  await release();
}

/** Sectors from partition `n`'s start to the last usable sector of a GPT disk, rounded down to a multiple of `multiple`. */
export async function grownSizeSectors(target: string, n: number, multiple: number): Promise<number> {
  const table = await partitionTable(target);
  const part = table.partitions.find((p) => partitionNumber(p) === n);
  if (!part) throw new Error(`${target} has no partition ${n}`);
  const lastLba = table.lastlba ?? Number(await output('blockdev', ['--getsz', target])) - 1;
  const size = lastLba + 1 - part.start;
  return size - (size % multiple);
}

function mountType(fsType: string): string {
  return /^(fat|vfat)/.test(fsType) ? 'vfat' : fsType;
}

async function mountTarget(scope: Scope, target: string, sys: InstallSystem): Promise<string> {
  // sealed partitions stay closed; the others are mounted where they belong, on the installer's tmpfs if "/" is sealed
  const ordered = sys.mounts.filter((m) => !m.sealed).sort((x, y) => x.mountPoint.split('/').length - y.mountPoint.split('/').length || x.mountPoint.length - y.mountPoint.length);
  for (const m of ordered) {
    const where = join(TARGET_ROOT, m.mountPoint);
    mkdirSync(where, { recursive: true });
    await scope.acquire(
      `mount ${where}`,
      () => run('mount', ['-t', mountType(m.fsType), partitionDevice(target, m.partition), where]),
      () => run('umount', [where]).then(() => undefined),
      () => ({ kind: 'mount', path: where }),
    );
  }
  return TARGET_ROOT;
}

/** Text files of the installed system that may name the disk's identifiers. */
export function candidateFiles(root: string): string[] {
  const files = ['etc/fstab', 'etc/default/grub', 'etc/kernel/cmdline', 'etc/crypttab'].map((f) => join(root, f));
  walkBoot(root, (dir, name) => name === 'grub.cfg' || (dir.endsWith('entries') && name.endsWith('.conf')), files);
  const grubD = join(root, 'etc/default/grub.d');
  if (existsSync(grubD)) for (const f of readdirSync(grubD)) files.push(join(grubD, f));
  return files.filter((f) => existsSync(f) && statSync(f).isFile());
}

/**
 * EFI binaries under /boot (the ESP): grub's EFI image made by Kiln carries its first
 * configuration inside, and that names /boot's file system by UUID.
 */
export function candidateBinaries(root: string): string[] {
  const files: string[] = [];
  walkBoot(root, (_dir, name) => /\.efi$/i.test(name), files);
  return files;
}

function walkBoot(root: string, wanted: (dir: string, name: string) => boolean, into: string[]): void {
  const walk = (dir: string, depth: number) => {
    if (depth > 4 || !existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.isFile() && wanted(dir, e.name)) into.push(p);
    }
  };
  walk(join(root, 'boot'), 0);
}

function rewriteFiles(root: string, map: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const file of candidateFiles(root)) {
    const before = readFileSync(file, 'utf8');
    const { text, replaced } = rewriteIdentifiers(before, map);
    if (replaced) {
      writeFileSync(file, text);
      changed.push(`${file.slice(root.length)} (${replaced})`);
    }
  }
  for (const file of candidateBinaries(root)) {
    const patched = rewriteBinaryIdentifiers(readFileSync(file), map);
    if (patched) {
      writeFileSync(file, patched.data);
      changed.push(`${file.slice(root.length)} (${patched.replaced}, binary)`);
    }
  }
  return changed;
}

function setHostname(root: string, hostname: string): void {
  writeFileSync(join(root, 'etc/hostname'), `${hostname}\n`);
  const hostsFile = join(root, 'etc/hosts');
  const hosts = existsSync(hostsFile) ? readFileSync(hostsFile, 'utf8') : '127.0.0.1\tlocalhost\n';
  writeFileSync(hostsFile, setHostsEntry(hosts, hostname));
}

/** /etc/hosts with exactly one 127.0.1.1 line naming `hostname` (Debian's convention). */
export function setHostsEntry(hosts: string, hostname: string): string {
  const short = hostname.split('.')[0]!;
  const entry = `127.0.1.1\t${hostname === short ? hostname : `${hostname} ${short}`}`;
  const lines = hosts.split('\n').filter((l) => !/^127\.0\.1\.1\s/.test(l));
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const at = lines.findIndex((l) => /^127\.0\.0\.1\s/.test(l));
  lines.splice(at + 1, 0, entry);
  return `${lines.join('\n')}\n`;
}

async function addUser(scope: Scope, root: string, name: string, password: string): Promise<void> {
  for (const [src, type] of [['/dev', 'bind'], ['/proc', 'proc']] as const) {
    const where = join(root, src);
    mkdirSync(where, { recursive: true });
    await scope.acquire(
      `mount ${where}`,
      () => run('mount', type === 'bind' ? ['--bind', src, where] : ['-t', 'proc', 'proc', where]),
      () => run('umount', [where]).then(() => undefined),
      () => ({ kind: 'mount', path: where }),
    );
  }
  const groups = readFileSync(join(root, 'etc/group'), 'utf8');
  const extra = ['sudo', 'adm'].filter((g) => new RegExp(`^${g}:`, 'm').test(groups));
  await run('chroot', [root, 'useradd', '--create-home', '--shell', '/bin/bash', ...(extra.length ? ['--groups', extra.join(',')] : []), name]);
  // The password travels on stdin only (never argv, never the log); chpasswd hashes it with the
  // installed system's own method (yescrypt on Debian 12).
  await run('chroot', [root, 'chpasswd'], { input: `${name}:${password}\n` });
}

function keepLog(root: string): void {
  const log = getLogFile();
  if (!log || !existsSync(log)) return;
  mkdirSync(join(root, 'var/log'), { recursive: true });
  copyFileSync(log, join(root, 'var/log/kiln-installer.log'));
}

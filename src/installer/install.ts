/**
 * Applies one pre-built raw image to a real disk: write it (holes skipped), give the disk fresh
 * identifiers, grow the last partition, then fix up the installed root (identifiers in fstab and
 * grub.cfg, host name, the attended user). Every command goes through core/exec; every mount is
 * held by a Scope so a failure leaves nothing mounted.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { output, run } from '../core/exec.js';
import { getLogFile, logToFile } from '../core/log.js';
import type { Scope } from '../core/scope.js';
import { freshIds, identifierMap, parseSfdiskJson, rewriteIdentifiers, type TableIds } from './identifiers.js';
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
  const steps = 5;
  say(`[1/${steps}] writing ${a.system.name} to ${a.target}`);
  await writeImage(join(mediaRoot, a.system.image), a.target, a.system.dataBytes, say);

  say(`[2/${steps}] giving ${a.target} new disk and partition identifiers`);
  const ids = await renewIdentifiers(a.target);

  if (a.system.growLastPartition) {
    say(`[3/${steps}] growing the last partition to the end of the disk`);
    await growLastPartition(a.target, a.system);
  } else say(`[3/${steps}] partition sizes kept as built (the last partition does not grow)`);

  say(`[4/${steps}] configuring the installed system`);
  const root = await mountTarget(scope, a.target, a.system);
  const changed = rewriteFiles(root, identifierMap(ids.old, ids.fresh));
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

  say(`[5/${steps}] flushing and unmounting`);
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
  const old = parseSfdiskJson(await output('sfdisk', ['--json', target]));
  if (old.tableType === 'gpt') await run('sfdisk', ['--relocate', 'gpt-bak-std', target]); // backup header to the real end
  const fresh = freshIds(old);
  await run('sfdisk', ['--no-reread', '--disk-id', target, fresh.diskId]);
  if (fresh.tableType === 'gpt') {
    for (const [n, uuid] of fresh.partUuids) await run('sfdisk', ['--no-reread', '--part-uuid', target, String(n), uuid]);
  }
  await rereadPartitions(target);
  return { old, fresh };
}

async function growLastPartition(target: string, sys: InstallSystem): Promise<void> {
  const table = parseSfdiskJson(await output('sfdisk', ['--json', target]));
  const last = Math.max(...table.partUuids.keys());
  const mount = sys.mounts.find((m) => m.partition === last);
  if (mount?.sealed === 'luks') {
    // a LUKS2 data area is whole 4 KiB sectors; the installed system grows the filesystem
    // inside it at boot (x-systemd.growfs), the installer cannot open it
    const size = await grownSizeSectors(target, last, 8);
    await run('sfdisk', ['--no-reread', '-N', String(last), target], { input: `, ${size}\n` });
    await rereadPartitions(target);
    logToFile(`partition ${last} (encrypted) grown to ${size} sectors; its filesystem grows at first boot`);
    return;
  }
  await run('sfdisk', ['--no-reread', '-N', String(last), target], { input: ', +\n' });
  await rereadPartitions(target);
  const fsType = mount?.fsType;
  const part = partitionDevice(target, last);
  if (fsType?.startsWith('ext')) {
    const fsck = await run('e2fsck', ['-f', '-p', part], { allowFailure: true });
    if (fsck.code > 1) throw new Error(`e2fsck found errors on ${part} it could not fix (exit ${fsck.code})`);
    await run('resize2fs', [part]);
  } else logToFile(`partition ${last} grown; its ${fsType ?? 'unmounted'} filesystem keeps its size`);
}

/** Sectors from partition `n`'s start to the last usable sector of a GPT disk, rounded down to a multiple of `multiple`. */
export async function grownSizeSectors(target: string, n: number, multiple: number): Promise<number> {
  const dump = JSON.parse(await output('sfdisk', ['--json', target])) as { partitiontable: { lastlba?: number; partitions: { node: string; start: number }[] } };
  const part = dump.partitiontable.partitions.find((p) => new RegExp(`\\D${n}$`).test(p.node));
  if (!part) throw new Error(`${target} has no partition ${n}`);
  const lastLba = dump.partitiontable.lastlba ?? Number(await output('blockdev', ['--getsz', target])) - 1;
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
  const walk = (dir: string, depth: number) => {
    if (depth > 4 || !existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.isFile() && (e.name === 'grub.cfg' || (dir.endsWith('entries') && e.name.endsWith('.conf')))) files.push(p);
    }
  };
  walk(join(root, 'boot'), 0);
  const grubD = join(root, 'etc/default/grub.d');
  if (existsSync(grubD)) for (const f of readdirSync(grubD)) files.push(join(grubD, f));
  return files.filter((f) => existsSync(f) && statSync(f).isFile());
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

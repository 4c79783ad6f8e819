/**
 * A partitioned raw disk, ready to mount: sparse file of MaxSize MiB → partition table (sfdisk,
 * with disk and partition identifiers chosen here so fstab and grub can name them) → loop device
 * and partition nodes → a filesystem on every partition (none on a BIOS boot partition: grub
 * writes its core image there).
 */
import { open } from 'node:fs/promises';
import type { PartitionSetting } from '../config/model.js';
import { run } from '../core/exec.js';
import { info } from '../core/log.js';
import type { Scope } from '../core/scope.js';
import type { BuiltDisk, BuiltPartition } from '../system/types.js';
import { openStack, type OpenStack, type StackPlan } from './layers/index.js';
import { renderSfdisk, SECTOR, type DiskLayout } from './layout.js';
import { randomIds, type IdSource } from './ids.js';
import { attachDisk, type AttachedDisk } from './loop.js';
import { makeFilesystem, setFilesystemUuid } from './mkfs.js';
import { isBiosBoot } from './types.js';

export interface PreparedDisk {
  built: BuiltDisk;
  attached: AttachedDisk;
  /** FAT width used per partition id (FAT partitions only). */
  fatBits: Map<string, 12 | 16 | 32>;
  /** Partitions with device layers, opened (sealed by the pipeline after the last unmount). */
  stacks: OpenStack[];
}

export interface DiskIds {
  diskId: string;
  partUuids: string[];
}

/** Fresh identifiers: GPT GUIDs, or an MBR disk signature whose PARTUUIDs are <sig>-<nn>. */
export function newDiskIds(layout: DiskLayout, ids: IdSource = randomIds): DiskIds {
  if (layout.table === 'gpt') return { diskId: ids.uuid('disk'), partUuids: layout.partitions.map((p) => ids.uuid(`partition:${p.id}`)) };
  let sig = ids.bytes('disk-signature', 4).toString('hex');
  if (sig === '00000000') sig = '4b494c4e';
  return { diskId: `0x${sig}`, partUuids: layout.partitions.map((p) => `${sig}-${String(p.number).padStart(2, '0')}`) };
}

/** Create the sparse file (the caller owns its lifetime) and write the partition table. */
export async function partitionFile(path: string, layout: DiskLayout, ids: DiskIds): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(layout.sizeBytes);
  } finally {
    await fh.close();
  }
  await run('sfdisk', ['--no-reread', '--no-tell-kernel', '--quiet', path], { input: renderSfdisk(layout, ids.diskId, ids.partUuids) });
}

export interface PrepareOptions {
  settings: (id: string) => PartitionSetting | undefined;
  /** Identifiers: random (default) or derived (reproducible builds). */
  ids?: IdSource;
  /**
   * Fill partitions before the loop device is attached (the tree cache copies filesystem images
   * in). Returns the ids of the partitions it filled: they get their new UUID instead of mkfs.
   * Never used for a partition with device layers (the pipeline bypasses the tree cache for them).
   */
  prefill?: (path: string) => Promise<ReadonlySet<string>>;
  /** Device layers per partition (disk/layers planStacks). */
  stacks?: StackPlan;
  /** Private directory for layer staging files (LUKS plaintext). */
  workDir: string;
  /** fstab's identifier for a partition whose setting names none (default partuuid). */
  defaultMountIdentifier?: BuiltPartition['mountIdentifier'];
}

export async function prepareDisk(scope: Scope, path: string, layout: DiskLayout, opts: PrepareOptions): Promise<PreparedDisk> {
  const idSource = opts.ids ?? randomIds;
  const ids = newDiskIds(layout, idSource);
  await partitionFile(path, layout, ids);
  const prefilled = opts.prefill ? await opts.prefill(path) : new Set<string>();
  const attached = await attachDisk(scope, path, layout.partitions.length);
  info(`disk: ${layout.table} on ${attached.device}, ${layout.partitions.length} partition(s), ${layout.sizeBytes / 1024 / 1024} MiB`);
  const partitions: BuiltPartition[] = [];
  const fatBits = new Map<string, 12 | 16 | 32>();
  const stacks: OpenStack[] = [];
  const deviceOf = (id: string) => {
    const p = layout.partitions.find((x) => x.id === id);
    if (!p) throw new Error(`no partition "${id}" on the disk`);
    return attached.partition(p.number);
  };
  for (const [i, p] of layout.partitions.entries()) {
    const device = attached.partition(p.number);
    const s = opts.settings(p.id);
    const base: BuiltPartition = {
      id: p.id,
      device,
      partuuid: ids.partUuids[i]!,
      fsType: p.partition.FsType,
      mountIdentifier: s?.MountIdentifier ?? opts.defaultMountIdentifier ?? 'partuuid',
      ...(p.name !== undefined ? { partlabel: p.name } : {}),
      ...(s?.MountPoint ? { mountPoint: s.MountPoint } : {}),
      ...(s?.MountOptions ? { mountOptions: s.MountOptions } : {}),
    };
    if (isBiosBoot(p.partition.Flags) && layout.table === 'gpt') {
      partitions.push(base); // raw space for grub's core image
      continue;
    }
    const metadataOf = opts.stacks?.metadataPartitions.get(p.id);
    if (metadataOf) {
      const { mountPoint: _m, mountOptions: _o, ...rest } = base;
      partitions.push({ ...rest, metadataOf }); // written when the stack it serves is sealed
      continue;
    }
    const specs = opts.stacks?.layers.get(p.id) ?? [];
    let fsDevice = device;
    let fsBytes = p.sizeSectors * SECTOR;
    let stack: OpenStack | undefined;
    if (specs.length) {
      stack = await openStack({ scope, workDir: opts.workDir, partitionId: p.id, device, bytes: fsBytes, specs, deviceOf });
      stacks.push(stack);
      fsDevice = stack.upper;
      fsBytes = stack.upperBytes;
      info(`partition ${p.id}: ${stack.kinds.join(' → ')} (/dev/mapper/${stack.mapperName} at boot)`);
    }
    if (stack && prefilled.has(p.id)) throw new Error(`partition ${p.id}: a cached filesystem cannot be copied under device layers`);
    const made = prefilled.has(p.id)
      ? await setFilesystemUuid(device, p.partition.FsType, p.id, idSource)
      : await makeFilesystem(fsDevice, p.partition.FsType, fsBytes, p.id, undefined, idSource, { discard: stack?.unwritten !== 'garbage' });
    if (made.fatBits) fatBits.set(p.id, made.fatBits);
    partitions.push({
      ...base,
      device: fsDevice,
      fsuuid: made.uuid,
      ...(stack ? { layers: stack.boot(made.uuid), mapperName: stack.mapperName! } : {}),
    });
  }
  return { built: { tableType: layout.table, diskId: ids.diskId, partitions }, attached, fatBits, stacks };
}

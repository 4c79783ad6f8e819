/**
 * Partition stacks: which device layers each partition has (planned from the config, pure), and
 * the stack as a whole once opened (what the pipeline uses: the device to build on, seal, boot).
 * The pipeline calls these generically; only luks.ts and verity.ts know what a layer does.
 */
import type { FsType, SystemConfig } from '../../config/model.js';
import type { Scope } from '../../core/scope.js';
import type { LayoutRoles } from '../layout.js';
import { LUKS_SECTOR, luksLayer } from './luks.js';
import type { DeviceLayer, LayerBoot, LayerKind, LayerSpec, OpenLayer } from './types.js';
import { verityLayer } from './verity.js';

export type { LayerBoot, LayerKind, LayerSpec } from './types.js';
export { LUKS_SECTOR } from './luks.js';
export { verityHashBytes } from './verity.js';

/** Device-mapper name of the root at boot: /dev/mapper/root. */
export const ROOT_MAPPER_NAME = 'root';
/** GPT type of a verity hash partition for an x86-64 root (Discoverable Partitions Specification). */
export const VERITY_HASH_TYPE_X86_64 = '2c7357ed-ebd2-46d9-aec1-23d437ec2bf5';

export interface StackPlan {
  /** Layers per partition id, bottom-up. */
  layers: Map<string, LayerSpec[]>;
  /** Partitions that hold a layer's metadata and get no filesystem (verity hash trees). */
  metadataPartitions: Map<string, 'verity'>;
}

/** The stacks a SystemConfig asks for: today the root partition's (Encryption or Verity). */
export function planStacks(sc: SystemConfig): StackPlan {
  const layers = new Map<string, LayerSpec[]>();
  const metadataPartitions = new Map<string, 'verity'>();
  const root = sc.PartitionSettings?.find((s) => s.MountPoint === '/')?.ID;
  const encrypted = sc.Encryption?.Enable === true;
  const verity = sc.Verity?.Enable === true;
  if (!root || (!encrypted && !verity)) return { layers, metadataPartitions };
  if (encrypted && verity) throw new Error('Encryption and Verity on the same root are not supported');
  if (encrypted) layers.set(root, [{ kind: 'luks', name: ROOT_MAPPER_NAME, passphrase: sc.Encryption?.Password ?? '' }]);
  if (verity) {
    const hash = sc.Verity?.HashPartition;
    if (!hash) throw new Error('Verity needs HashPartition');
    layers.set(root, [{ kind: 'verity', name: ROOT_MAPPER_NAME, hashPartition: hash, corruption: sc.Verity?.CorruptionAction ?? 'error' }]);
    metadataPartitions.set(hash, 'verity');
  }
  return { layers, metadataPartitions };
}

/** What the stacks ask of the disk layout: LUKS data areas in whole 4 KiB sectors, verity hash partition type. */
export function layoutRoles(plan: StackPlan): LayoutRoles {
  const sizeMultiple = new Map<string, number>();
  for (const [id, specs] of plan.layers) if (specs.some((s) => s.kind === 'luks')) sizeMultiple.set(id, LUKS_SECTOR);
  const defaultTypes = new Map<string, string>();
  for (const [id, kind] of plan.metadataPartitions) if (kind === 'verity') defaultTypes.set(id, VERITY_HASH_TYPE_X86_64);
  return { sizeMultiple, defaultTypes };
}

function layerFor(spec: LayerSpec): DeviceLayer {
  return spec.kind === 'luks' ? luksLayer(spec) : verityLayer(spec);
}

/** An opened stack: the device to build on, and the layers to seal (top first) and boot. */
export interface OpenStack {
  partitionId: string;
  kinds: LayerKind[];
  /** Device-mapper name of the top layer at boot, when there is a layer. */
  mapperName?: string;
  upper: string;
  upperBytes: number;
  unwritten: 'zeros' | 'garbage';
  /** `fsType`: the filesystem made on `upper`. */
  seal(fsType: FsType): Promise<void>;
  boot(fsUuid: string): LayerBoot[];
}

export async function openStack(opts: {
  scope: Scope;
  workDir: string;
  partitionId: string;
  device: string;
  bytes: number;
  specs: readonly LayerSpec[];
  deviceOf(partitionId: string): string;
}): Promise<OpenStack> {
  const opened: OpenLayer[] = [];
  let lower = opts.device;
  let lowerBytes = opts.bytes;
  for (const spec of opts.specs) {
    const layer = await layerFor(spec).open({ scope: opts.scope, workDir: opts.workDir, partitionId: opts.partitionId, lower, lowerBytes, deviceOf: opts.deviceOf });
    opened.push(layer);
    lower = layer.upper;
    lowerBytes = layer.upperBytes;
  }
  const top = opts.specs[opts.specs.length - 1];
  return {
    partitionId: opts.partitionId,
    kinds: opened.map((l) => l.kind),
    ...(top ? { mapperName: top.name } : {}),
    upper: lower,
    upperBytes: lowerBytes,
    unwritten: opened.some((l) => l.unwritten === 'garbage') ? 'garbage' : 'zeros',
    async seal(fsType) {
      for (const l of [...opened].reverse()) await l.seal(fsType);
    },
    boot: (fsUuid) => opened.map((l) => l.boot(fsUuid)),
  };
}

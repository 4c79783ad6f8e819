/**
 * dm-verity without device-mapper: the filesystem is built directly on the data partition; `seal`
 * (after the last unmount, when nothing will ever write to it again) runs `veritysetup format`
 * on the data and hash partitions — it needs no device-mapper — and keeps the root hash, which the
 * boot code puts on the kernel command line inside the (signed) UKI.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { output } from '../../core/exec.js';
import { logToFile } from '../../core/log.js';
import { shrinkToContent } from '../mkfs.js';
import type { DeviceLayer, LayerContext, LayerSpec, OpenLayer } from './types.js';

export const VERITY_BLOCK = 4096;
const HASH_BYTES = 32; // sha256

/** Bytes the hash tree of `dataBytes` needs (format 1, 4 KiB blocks, sha256), superblock included. */
export function verityHashBytes(dataBytes: number): number {
  const perBlock = VERITY_BLOCK / HASH_BYTES; // 128 hashes per hash block
  let blocks = Math.ceil(dataBytes / VERITY_BLOCK);
  let total = 0;
  do {
    blocks = Math.ceil(blocks / perBlock);
    total += blocks;
  } while (blocks > 1);
  return (total + 1) * VERITY_BLOCK;
}

/** `veritysetup format` output → root hash. */
export function parseRootHash(text: string): string {
  const m = /^Root hash:\s*([0-9a-f]{64})\s*$/m.exec(text);
  if (!m) throw new Error(`veritysetup printed no root hash:\n${text}`);
  return m[1]!;
}

/**
 * `dataBytes`: how much of the data device the hash tree covers (the filesystem's size; the rest
 * of the partition is never read). The count is in the verity superblock, so the booted system's
 * veritysetup/systemd-veritysetup needs no option for it.
 */
export function verityFormatArgs(data: string, hash: string, uuid: string, salt: string, dataBytes?: number): string[] {
  const blocks = dataBytes === undefined ? [] : ['--data-blocks', String(Math.ceil(dataBytes / VERITY_BLOCK))];
  return ['format', '--hash', 'sha256', '--data-block-size', String(VERITY_BLOCK), '--hash-block-size', String(VERITY_BLOCK), ...blocks, '--uuid', uuid, '--salt', salt, data, hash];
}

export const verityLayer = (spec: Extract<LayerSpec, { kind: 'verity' }>): DeviceLayer => ({
  kind: 'verity',
  async open(ctx: LayerContext): Promise<OpenLayer> {
    const hashDevice = ctx.deviceOf(spec.hashPartition);
    const uuid = randomUUID();
    let rootHash: string | undefined;
    return {
      kind: 'verity',
      upper: ctx.lower,
      upperBytes: ctx.lowerBytes,
      unwritten: 'zeros',
      async seal(fsType) {
        if (rootHash) return;
        // hashing the empty rest of the partition costs seconds per GiB and protects nothing
        const dataBytes = await shrinkToContent(ctx.lower, fsType);
        const text = await output('veritysetup', verityFormatArgs(ctx.lower, hashDevice, uuid, randomBytes(32).toString('hex'), dataBytes));
        rootHash = parseRootHash(text);
        const covered = dataBytes === undefined ? 'the whole partition' : `${(dataBytes / 2 ** 20).toFixed(0)} MiB of ${(ctx.lowerBytes / 2 ** 20).toFixed(0)} MiB (the filesystem, shrunk to its content)`;
        logToFile(`verity ${ctx.partitionId}: hash tree on ${spec.hashPartition} over ${covered}, root hash ${rootHash}`);
      },
      boot: (fsUuid) => ({ kind: 'verity', name: spec.name, dataUuid: fsUuid, hashUuid: uuid, ...(rootHash ? { rootHash } : {}), corruption: spec.corruption }),
    };
  },
});

/**
 * LUKS2 without device-mapper. `open` formats the partition's LUKS2 header (cryptsetup on the
 * partition device: no dm needed) with a volume key Kiln generates, and gives the build a sparse
 * plaintext file of the data area's size, attached to a loop device: mkfs, mount, install and
 * configure happen there. `seal` encrypts the file's data extents sector by sector (aes-xts-plain64,
 * xts.ts) into the data area behind the header; holes stay holes (the filesystem is made so that it
 * never relies on unwritten blocks reading as zeros: see OpenLayer.unwritten).
 *
 * Secrets: the passphrase reaches cryptsetup on stdin only; the volume key lives in memory, and for
 * the one cryptsetup call that takes it from a file, in a tmpfs file removed at once (core/secret-file.ts).
 * Neither is ever logged or written to a disk. The key buffer is zeroed once the payload is written.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { open, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KilnError } from '../../core/errors.js';
import { output, run } from '../../core/exec.js';
import { logToFile } from '../../core/log.js';
import { dataSegments } from '../../roast/sparse.js';
import { attachDisk, detach } from '../loop.js';
import { withSecretFile } from '../../core/secret-file.js';
import type { DeviceLayer, LayerContext, LayerSpec, OpenLayer } from './types.js';
import { encryptSectors } from './xts.js';

/** LUKS2 sector size: 4096 (fewer cipher calls; 4K is what disks use). Partitions are sized to a multiple of it. */
export const LUKS_SECTOR = 4096;

/**
 * Key derivation cost, fixed on purpose: cryptsetup's own benchmark would measure the build host,
 * not the machine that unlocks the disk (a small VM may have neither the memory nor the speed).
 * argon2id with 4 passes over 128 MiB in 2 lanes; re-tune on the target with `cryptsetup luksConvertKey`.
 */
export const PBKDF = { type: 'argon2id', iterations: 4, memoryKiB: 131072, parallel: 2 } as const;

export function luksFormatArgs(device: string, uuid: string, keyFile: string): string[] {
  return [
    'luksFormat', '--batch-mode', '--type', 'luks2',
    '--cipher', 'aes-xts-plain64', '--key-size', '512', '--sector-size', String(LUKS_SECTOR),
    '--pbkdf', PBKDF.type, '--pbkdf-force-iterations', String(PBKDF.iterations),
    '--pbkdf-memory', String(PBKDF.memoryKiB), '--pbkdf-parallel', String(PBKDF.parallel),
    '--uuid', uuid, '--volume-key-file', keyFile, '--key-file', '-', device,
  ];
}

export interface DataSegment {
  /** Byte offset of the data area from the start of the device. */
  offset: number;
  sectorSize: number;
}

/** The data segment of a LUKS2 header, from `cryptsetup luksDump --dump-json-metadata`. */
export function parseDataSegment(json: string): DataSegment {
  const meta = JSON.parse(json) as { segments?: Record<string, { type: string; offset: string; size: string; sector_size: number; encryption: string }> };
  const seg = meta.segments?.['0'];
  if (!seg || seg.type !== 'crypt') throw new Error('LUKS2 header has no crypt segment 0');
  if (seg.size !== 'dynamic') throw new Error(`LUKS2 segment size ${seg.size}: expected "dynamic"`);
  if (seg.encryption !== 'aes-xts-plain64') throw new Error(`LUKS2 segment cipher ${seg.encryption}: expected aes-xts-plain64`);
  return { offset: Number(seg.offset), sectorSize: seg.sector_size };
}

/** Data extents widened to whole sectors and merged (pure). */
export function sectorRanges(segments: readonly { start: number; end: number }[], sectorSize: number, limit: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const s of segments) {
    const start = Math.floor(s.start / sectorSize) * sectorSize;
    const end = Math.min(limit, Math.ceil(s.end / sectorSize) * sectorSize);
    if (end <= start) continue;
    const last = out[out.length - 1];
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else out.push({ start, end });
  }
  return out;
}

const CHUNK = 8 * 1024 * 1024;

export const luksLayer = (spec: Extract<LayerSpec, { kind: 'luks' }>): DeviceLayer => ({
  kind: 'luks',
  async open(ctx: LayerContext): Promise<OpenLayer> {
    if (!spec.passphrase) throw new KilnError(`partition "${ctx.partitionId}": the encryption passphrase is empty`);
    if (ctx.lowerBytes % LUKS_SECTOR) {
      throw new KilnError(`partition "${ctx.partitionId}": ${ctx.lowerBytes} bytes is not a multiple of the LUKS sector size ${LUKS_SECTOR}`);
    }
    const uuid = randomUUID();
    const volumeKey = randomBytes(64);
    await withSecretFile(ctx.scope, volumeKey, (keyFile) =>
      run('cryptsetup', luksFormatArgs(ctx.lower, uuid, keyFile), { input: Buffer.from(spec.passphrase, 'utf8') }),
    );
    const seg = parseDataSegment(await output('cryptsetup', ['luksDump', '--dump-json-metadata', ctx.lower]));
    if (seg.sectorSize !== LUKS_SECTOR) throw new Error(`LUKS2 header has sector size ${seg.sectorSize}, expected ${LUKS_SECTOR}`);
    const plainBytes = ctx.lowerBytes - seg.offset;
    logToFile(`luks ${ctx.partitionId}: header ${uuid} on ${ctx.lower}, data at ${seg.offset} bytes, ${plainBytes} bytes of payload`);

    // the plaintext: a sparse file in the build's private directory, attached to a loop device
    const plain = join(ctx.workDir, `luks-${ctx.partitionId}.plain`);
    await writeFile(plain, '', { mode: 0o600 });
    await truncate(plain, plainBytes);
    ctx.scope.add(`plaintext of ${ctx.partitionId}`, () => rm(plain, { force: true }), { kind: 'path', path: plain });
    const attached = await attachDisk(ctx.scope, plain, 0);
    let sealed = false;

    return {
      kind: 'luks',
      upper: attached.device,
      upperBytes: plainBytes,
      unwritten: 'garbage',
      async seal() {
        if (sealed) return;
        await detach(attached.device);
        const ranges = sectorRanges(await dataSegments(plain, 0, plainBytes), seg.sectorSize, plainBytes);
        const src = await open(plain, 'r');
        const dst = await open(ctx.lower, 'r+');
        let bytes = 0;
        try {
          const buf = Buffer.alloc(CHUNK);
          for (const r of ranges) {
            for (let pos = r.start; pos < r.end; pos += CHUNK) {
              const n = Math.min(CHUNK, r.end - pos);
              const chunk = buf.subarray(0, n);
              const { bytesRead } = await src.read(chunk, 0, n, pos);
              if (bytesRead < n) chunk.fill(0, bytesRead);
              encryptSectors(volumeKey, chunk, pos, seg.sectorSize);
              await dst.write(chunk, 0, n, seg.offset + pos);
              bytes += n;
            }
          }
          buf.fill(0);
          await dst.sync();
        } finally {
          await src.close();
          await dst.close();
        }
        volumeKey.fill(0);
        await rm(plain, { force: true });
        sealed = true;
        logToFile(`luks ${ctx.partitionId}: ${bytes} bytes encrypted in ${ranges.length} extent(s)`);
      },
      boot: () => ({ kind: 'luks', name: spec.name, uuid }),
    };
  },
});

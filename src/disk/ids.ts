/**
 * Where a disk's identifiers come from: random for an ordinary build; derived for a reproducible
 * one, from a digest of the config and a seed (`--seed`), so the same config and seed always give
 * the same disk GUID, partition GUIDs, filesystem UUIDs, ext4 directory-hash seed and FAT volume id,
 * and another seed gives others. Each identifier has a label ("partition:rootfs", "fs:rootfs", …)
 * and is HMAC-SHA256(seed, config digest + label), shaped as an RFC 4122 version-4 UUID.
 */
import { createHmac, randomBytes } from 'node:crypto';

export interface IdSource {
  /** True when identifiers are derived (a reproducible build). */
  readonly derived: boolean;
  uuid(label: string): string;
  bytes(label: string, n: number): Buffer;
}

function asUuid(b: Buffer): string {
  const x = Buffer.from(b.subarray(0, 16));
  x[6] = (x[6]! & 0x0f) | 0x40; // version 4
  x[8] = (x[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const h = x.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export const randomIds: IdSource = {
  derived: false,
  uuid: () => asUuid(randomBytes(16)),
  bytes: (_label, n) => randomBytes(n),
};

export function derivedIds(seed: string, configDigest: string): IdSource {
  const bytes = (label: string, n: number): Buffer => {
    const out: Buffer[] = [];
    for (let i = 0; out.length * 32 < n; i++) out.push(createHmac('sha256', seed).update(`${configDigest}\0${label}\0${i}`).digest());
    return Buffer.concat(out).subarray(0, n);
  };
  return { derived: true, uuid: (label) => asUuid(bytes(label, 16)), bytes };
}

/**
 * Device layers: the LUKS2 payload cipher (against OpenSSL's command line, sector by sector, and a
 * real cryptsetup header made on a small file), the LUKS metadata and extent arithmetic, the verity
 * hash-tree size (against veritysetup), stack planning and what stacks ask of the layout.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createCipheriv, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptSectors, encryptSectors } from '../../../src/disk/layers/xts.js';
import { luksFormatArgs, parseDataSegment, sectorRanges, LUKS_SECTOR } from '../../../src/disk/layers/luks.js';
import { parseRootHash, verityFormatArgs, verityHashBytes } from '../../../src/disk/layers/verity.js';
import { layoutRoles, planStacks, VERITY_HASH_TYPE_X86_64 } from '../../../src/disk/layers/index.js';
import { planLayout } from '../../../src/disk/layout.js';
import { extSizeBytes, shrinkToContent } from '../../../src/disk/mkfs.js';
import type { SystemConfig } from '../../../src/config/model.js';

const REPO = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'kiln-layers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MIB = 1024 * 1024;

/**
 * XTS from first principles: T = AES(K2, the unit's offset in 512-byte sectors as 16 little-endian
 * bytes: plain64, as dm-crypt counts for LUKS2 even with 4 KiB sectors); each 16-byte block
 * j is AES(K1, P xor T_j) xor T_j, with T_{j+1} = T_j times x in GF(2^128) (reduction 0x87).
 */
function referenceXts(key: Buffer, data: Buffer, offset: number, sectorSize: number): Buffer {
  const ecb = (k: Buffer) => {
    const c = createCipheriv('aes-256-ecb', k, null);
    c.setAutoPadding(false);
    return c;
  };
  const k1 = ecb(key.subarray(0, 32));
  const k2 = ecb(key.subarray(32));
  const out = Buffer.alloc(data.length);
  for (let off = 0; off < data.length; off += sectorSize) {
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64LE(BigInt((offset + off) / 512));
    let t = k2.update(iv);
    for (let b = 0; b < sectorSize; b += 16) {
      const x = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) x[i] = data[off + b + i]! ^ t[i]!;
      const y = k1.update(x);
      for (let i = 0; i < 16; i++) out[off + b + i] = y[i]! ^ t[i]!;
      const next = Buffer.alloc(16);
      let carry = 0;
      for (let i = 0; i < 16; i++) {
        next[i] = ((t[i]! << 1) | carry) & 0xff;
        carry = t[i]! >> 7;
      }
      if (carry) next[0] = next[0]! ^ 0x87;
      t = next;
    }
  }
  return out;
}

describe('aes-xts-plain64 payload', () => {
  const key = randomBytes(64);

  it('is IEEE 1619 XTS with plain64 tweaks in 512-byte units (checked against XTS built from AES-ECB)', () => {
    const data = randomBytes(3 * LUKS_SECTOR);
    const ours = Buffer.from(data);
    encryptSectors(key, ours, 1000 * LUKS_SECTOR, LUKS_SECTOR);
    expect(ours.equals(referenceXts(key, data, 1000 * LUKS_SECTOR, LUKS_SECTOR))).toBe(true);
    // the second 4 KiB sector's tweak is 8, not 1
    const one = Buffer.from(data.subarray(0, LUKS_SECTOR));
    encryptSectors(key, one, LUKS_SECTOR, LUKS_SECTOR);
    expect(one.equals(referenceXts(key, data.subarray(0, LUKS_SECTOR), 4096, LUKS_SECTOR))).toBe(true);
  });

  it('decrypts back; the same plaintext in two sectors gives different ciphertext', () => {
    const data = Buffer.alloc(2 * LUKS_SECTOR, 0x41);
    const enc = Buffer.from(data);
    encryptSectors(key, enc, 7 * LUKS_SECTOR, LUKS_SECTOR);
    expect(enc.subarray(0, LUKS_SECTOR).equals(enc.subarray(LUKS_SECTOR))).toBe(false);
    expect(enc.includes(Buffer.alloc(64, 0x41))).toBe(false);
    decryptSectors(key, enc, 7 * LUKS_SECTOR, LUKS_SECTOR);
    expect(enc.equals(data)).toBe(true);
  });

  it('refuses a short key and partial sectors', () => {
    expect(() => encryptSectors(randomBytes(32), Buffer.alloc(LUKS_SECTOR), 0, LUKS_SECTOR)).toThrow(/64 key bytes/);
    expect(() => encryptSectors(key, Buffer.alloc(100), 0, LUKS_SECTOR)).toThrow(/whole number/);
    expect(() => encryptSectors(key, Buffer.alloc(LUKS_SECTOR), 512, LUKS_SECTOR)).toThrow(/boundary/);
  });
});

describe('LUKS2 header (cryptsetup on a plain file: no device-mapper needed)', () => {
  it('luksFormat with Kiln\'s arguments stores the volume key Kiln chose, unlockable with the passphrase; the data segment is parsed', () => {
    const file = join(dir, 'luks.img');
    writeFileSync(file, '');
    truncateSync(file, 32 * MIB);
    const key = randomBytes(64);
    const keyFile = join(dir, 'vk');
    writeFileSync(keyFile, key, { mode: 0o600 });
    // a cheap KDF for the test: the arguments are otherwise Kiln's own
    const args = luksFormatArgs(file, '0d6f3e52-6a4b-4c41-9a59-2f2b5a8b7c11', keyFile).map((a) => (a === '131072' ? '8192' : a));
    execFileSync('cryptsetup', args, { input: 'test passphrase' });
    const seg = parseDataSegment(execFileSync('cryptsetup', ['luksDump', '--dump-json-metadata', file]).toString());
    expect(seg).toEqual({ offset: 16 * MIB, sectorSize: LUKS_SECTOR });
    const dumped = join(dir, 'vk2');
    execFileSync('cryptsetup', ['luksDump', '--dump-volume-key', '--batch-mode', '--key-file', '-', '--volume-key-file', dumped, file], { input: 'test passphrase' });
    expect(readFileSync(dumped).equals(key)).toBe(true);
    const uuid = execFileSync('cryptsetup', ['luksUUID', file]).toString().trim();
    expect(uuid).toBe('0d6f3e52-6a4b-4c41-9a59-2f2b5a8b7c11');
    expect(() => execFileSync('cryptsetup', ['luksDump', '--dump-volume-key', '--batch-mode', '--key-file', '-', '--volume-key-file', join(dir, 'vk3'), file], { input: 'wrong', stdio: 'pipe' })).toThrow();
  });

  it('rejects a header that is not what Kiln writes', () => {
    const meta = (over: object) => JSON.stringify({ segments: { '0': { type: 'crypt', offset: '16777216', size: 'dynamic', sector_size: 4096, encryption: 'aes-xts-plain64', ...over } } });
    expect(() => parseDataSegment(meta({ size: '1000' }))).toThrow(/dynamic/);
    expect(() => parseDataSegment(meta({ encryption: 'aes-cbc-essiv:sha256' }))).toThrow(/aes-xts-plain64/);
    expect(() => parseDataSegment('{}')).toThrow(/segment 0/);
  });

  it('widens data extents to whole sectors, merges them and stops at the payload end', () => {
    expect(sectorRanges([{ start: 100, end: 200 }, { start: 4000, end: 5000 }, { start: 20000, end: 30000 }], 4096, 28672)).toEqual([
      { start: 0, end: 8192 },
      { start: 16384, end: 28672 },
    ]);
    expect(sectorRanges([], 4096, 4096)).toEqual([]);
  });
});

describe('verity', () => {
  it('sizes the hash tree as veritysetup does (superblock + every level)', () => {
    const data = join(dir, 'data.img');
    const hash = join(dir, 'hash.img');
    writeFileSync(data, '');
    truncateSync(data, 256 * MIB);
    writeFileSync(hash, '');
    truncateSync(hash, 8 * MIB);
    const out = execFileSync('veritysetup', verityFormatArgs(data, hash, '7b3c3f5e-1f0a-4d8e-9f44-0a1b2c3d4e5f', '00'.repeat(32))).toString();
    expect(parseRootHash(out)).toMatch(/^[0-9a-f]{64}$/);
    const size = Number(/Hash device size:\s*(\d+)/.exec(execFileSync('veritysetup', ['dump', hash]).toString())?.[1] ?? 0);
    expect(verityHashBytes(256 * MIB)).toBe(2121728);
    if (size) expect(verityHashBytes(256 * MIB)).toBe(size);
    expect(verityHashBytes(4096 * MIB)).toBeLessThan(34 * MIB);
  });

  it('hashes only the root filesystem, shrunk to its content: the tree verifies and the superblock records the count', async () => {
    const data = join(dir, 'shrink-data.img');
    const hash = join(dir, 'shrink-hash.img');
    writeFileSync(data, '');
    truncateSync(data, 256 * MIB);
    // 4 KiB blocks as on a real root (a 256 MiB file would get 1 KiB ones); resize2fs also truncates a file
    execFileSync('mkfs.ext4', ['-F', '-q', '-b', '4096', '-d', join(REPO, 'src'), data]);
    const bytes = await shrinkToContent(data, 'ext4');
    expect(bytes).toBeGreaterThan(0);
    expect(bytes!).toBeLessThan(64 * MIB);
    execFileSync('e2fsck', ['-fn', data]); // still a clean filesystem
    writeFileSync(hash, '');
    truncateSync(hash, verityHashBytes(256 * MIB));
    const root = parseRootHash(execFileSync('veritysetup', verityFormatArgs(data, hash, '7b3c3f5e-1f0a-4d8e-9f44-0a1b2c3d4e5f', '00'.repeat(32), bytes)).toString());
    expect(execFileSync('veritysetup', ['dump', hash]).toString()).toMatch(new RegExp(`Data blocks:\\s*${Math.ceil(bytes! / 4096)}\\b`));
    execFileSync('veritysetup', ['verify', data, hash, root]);
    expect(await shrinkToContent(data, 'xfs')).toBeUndefined();
  });

  it('reads an ext filesystem\'s size from dumpe2fs -h', () => {
    expect(extSizeBytes('Block count:              25600\nBlock size:               4096\n')).toBe(25600 * 4096);
    expect(() => extSizeBytes('Block size: 4096\n')).toThrow(/Block count/);
  });

  it('finds the root hash in veritysetup\'s output', () => {
    expect(parseRootHash(`VERITY header information for x\nRoot hash:      \t${'ab'.repeat(32)}\n`)).toBe('ab'.repeat(32));
    expect(() => parseRootHash('nothing')).toThrow(/no root hash/);
  });
});

describe('stacks and what they ask of the layout', () => {
  const base: SystemConfig = { Name: 's', PartitionSettings: [{ ID: 'esp', MountPoint: '/boot/efi' }, { ID: 'root', MountPoint: '/' }] };

  it('an encrypted root is one LUKS layer named root; verity adds its hash partition', () => {
    expect(planStacks(base).layers.size).toBe(0);
    const luks = planStacks({ ...base, Encryption: { Enable: true, Password: 'p' } });
    expect(luks.layers.get('root')).toEqual([{ kind: 'luks', name: 'root', passphrase: 'p' }]);
    const v = planStacks({ ...base, Verity: { Enable: true, HashPartition: 'hash', CorruptionAction: 'panic' } });
    expect(v.layers.get('root')).toEqual([{ kind: 'verity', name: 'root', hashPartition: 'hash', corruption: 'panic' }]);
    expect(v.metadataPartitions.get('hash')).toBe('verity');
    expect(() => planStacks({ ...base, Encryption: { Enable: true, Password: 'p' }, Verity: { Enable: true, HashPartition: 'h' } })).toThrow(/not supported/);
  });

  it('a LUKS partition ending at the GPT backup table is trimmed to whole 4 KiB sectors; a verity hash partition gets its GPT type', () => {
    const disk = {
      PartitionTableType: 'gpt' as const,
      MaxSize: 1024,
      Partitions: [
        { ID: 'esp', Start: 1, End: 101, FsType: 'fat32' as const, Flags: ['esp' as const] },
        { ID: 'hash', Start: 101, End: 121, FsType: 'ext4' as const },
        { ID: 'root', Start: 121, End: 0, FsType: 'ext4' as const },
      ],
    };
    const plain = planLayout(disk);
    expect(plain.partitions[2]!.sizeSectors % 8).not.toBe(0); // 33 sectors short of a MiB
    const luks = planLayout(disk, layoutRoles(planStacks({ ...base, Encryption: { Enable: true, Password: 'p' } })));
    expect((luks.partitions[2]!.sizeSectors * 512) % LUKS_SECTOR).toBe(0);
    expect(plain.partitions[2]!.sizeSectors - luks.partitions[2]!.sizeSectors).toBeLessThan(8);
    const v = planLayout(disk, layoutRoles(planStacks({ ...base, Verity: { Enable: true, HashPartition: 'hash' } })));
    expect(v.partitions[1]!.type).toBe(VERITY_HASH_TYPE_X86_64);
    expect(v.partitions[2]!.sizeSectors).toBe(plain.partitions[2]!.sizeSectors);
  });
});

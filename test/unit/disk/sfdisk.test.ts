/** The one reader of `sfdisk --json`: against sfdisk itself on small image files. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSfdiskJson, partitionNumber, partitionTable, partitionTableIfAny } from '../../../src/disk/sfdisk.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-sfdisk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sfdisk --json', () => {
  it('reads a GPT table sfdisk wrote: label, disk GUID, partitions in sectors, numbers from the nodes', async () => {
    const img = join(dir, 'gpt.img');
    writeFileSync(img, '');
    truncateSync(img, 16 * 1024 * 1024);
    execFileSync('sfdisk', ['-q', img], { input: 'label: gpt\nlabel-id: 11111111-2222-3333-4444-555555555555\nstart=2048, size=4096, type=U, name=esp\nstart=6144, type=L\n' });
    const t = await partitionTable(img);
    expect(t.label).toBe('gpt');
    expect(t.id).toBe('11111111-2222-3333-4444-555555555555');
    expect(t.partitions.map((p) => [partitionNumber(p), p.start, p.name])).toEqual([
      [1, 2048, 'esp'],
      [2, 6144, undefined],
    ]);
    expect(t.partitions[0]!.size).toBe(4096);
    expect(t.partitions[1]!.start + t.partitions[1]!.size - 1).toBeLessThanOrEqual(t.lastlba!);
    expect(t.partitions[0]!.type).toBe('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  });

  it('a file without a table: undefined from partitionTableIfAny, an error from partitionTable', async () => {
    const img = join(dir, 'plain.img');
    writeFileSync(img, Buffer.alloc(1024 * 1024));
    expect(await partitionTableIfAny(img)).toBeUndefined();
    await expect(partitionTable(img)).rejects.toThrow();
  });

  it('an empty table has no partitions (sfdisk leaves the key out); nvme and loop nodes number right', () => {
    expect(parseSfdiskJson(JSON.stringify({ partitiontable: { label: 'dos', id: '0x1' } })).partitions).toEqual([]);
    expect(() => parseSfdiskJson('{}')).toThrow(/no partition table/);
    for (const [node, n] of [['/dev/nvme0n1p3', 3], ['/dev/loop0p12', 12], ['disk.raw2', 2]] as const) expect(partitionNumber({ node, start: 0, size: 0, type: '' })).toBe(n);
  });
});

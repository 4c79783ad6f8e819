import { describe, expect, it } from 'vitest';
import { freshIds, identifierMap, mbrPartUuid, rewriteIdentifiers, tableIds } from '../../../src/installer/identifiers.js';
import { parseSfdiskJson } from '../../../src/disk/sfdisk.js';
import { setHostsEntry } from '../../../src/installer/install.js';

const GPT_JSON = JSON.stringify({
  partitiontable: {
    label: 'gpt',
    id: 'A1B2C3D4-0000-4000-8000-000000000001',
    device: '/dev/vda',
    partitions: [
      { node: '/dev/vda1', start: 2048, size: 16384, type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', uuid: '11111111-2222-4333-8444-555555555555' },
      { node: '/dev/vda2', start: 18432, size: 100000, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', uuid: '66666666-7777-4888-9999-AAAAAAAAAAAA' },
    ],
  },
});

let n = 0;
const seq = { uuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, hex8: () => 'deadbeef' };

describe('new disk identifiers', () => {
  it('reads GPT and MBR identifiers from sfdisk --json', () => {
    const gpt = tableIds(parseSfdiskJson(GPT_JSON));
    expect(gpt.tableType).toBe('gpt');
    expect(gpt.diskId).toBe('A1B2C3D4-0000-4000-8000-000000000001');
    expect([...gpt.partUuids]).toEqual([
      [1, '11111111-2222-4333-8444-555555555555'],
      [2, '66666666-7777-4888-9999-AAAAAAAAAAAA'],
    ]);
    const mbr = tableIds(parseSfdiskJson(JSON.stringify({ partitiontable: { label: 'dos', id: '0x0012abcd', partitions: [{ node: '/dev/sda1', start: 2048, size: 10 }] } })));
    expect(mbr).toEqual({ tableType: 'mbr', diskId: '0x0012abcd', partUuids: new Map([[1, '0012abcd-01']]) });
    expect(() => tableIds(parseSfdiskJson('{}'))).toThrow(/no partition table/);
  });

  it('derives MBR PARTUUIDs like the kernel', () => {
    expect(mbrPartUuid('0xDEADBEEF', 2)).toBe('deadbeef-02');
    expect(mbrPartUuid('12ab', 11)).toBe('000012ab-11');
  });

  it('makes fresh identifiers of the same shape and maps old to new', () => {
    const old = tableIds(parseSfdiskJson(GPT_JSON));
    const fresh = freshIds(old, seq);
    expect(fresh.diskId).not.toBe(old.diskId);
    expect([...fresh.partUuids.keys()]).toEqual([1, 2]);
    const map = identifierMap(old, fresh);
    expect(map.size).toBe(3);
    expect(map.get('11111111-2222-4333-8444-555555555555')).toBe(fresh.partUuids.get(1));

    const mbrOld = tableIds(parseSfdiskJson(JSON.stringify({ partitiontable: { label: 'dos', id: '0x0012abcd', partitions: [{ node: '/dev/sda1', start: 1, size: 1 }, { node: '/dev/sda2', start: 2, size: 1 }] } })));
    const mbrNew = freshIds(mbrOld, seq);
    expect(mbrNew.diskId).toBe('0xdeadbeef');
    expect([...identifierMap(mbrOld, mbrNew)]).toEqual([
      ['0012abcd-01', 'deadbeef-01'],
      ['0012abcd-02', 'deadbeef-02'],
    ]);
  });

  it('rewrites fstab and grub.cfg, keeping case and whole tokens only', () => {
    const map = new Map([
      ['11111111-2222-4333-8444-555555555555', 'AAAAAAAA-0000-4000-8000-000000000001'],
      ['66666666-7777-4888-9999-AAAAAAAAAAAA', 'BBBBBBBB-0000-4000-8000-000000000002'],
    ]);
    const fstab = [
      'PARTUUID=66666666-7777-4888-9999-aaaaaaaaaaaa / ext4 defaults 0 1',
      'PARTUUID=11111111-2222-4333-8444-555555555555 /boot/efi vfat umask=0077 0 2',
      'UUID=66666666-7777-4888-9999-aaaaaaaaaaaa0 /data ext4 defaults 0 2',
    ].join('\n');
    const r = rewriteIdentifiers(fstab, map);
    expect(r.replaced).toBe(2);
    expect(r.text).toBe(
      [
        'PARTUUID=bbbbbbbb-0000-4000-8000-000000000002 / ext4 defaults 0 1',
        'PARTUUID=aaaaaaaa-0000-4000-8000-000000000001 /boot/efi vfat umask=0077 0 2',
        'UUID=66666666-7777-4888-9999-aaaaaaaaaaaa0 /data ext4 defaults 0 2',
      ].join('\n'),
    );
    const grub = 'linux /boot/vmlinuz root=PARTUUID=66666666-7777-4888-9999-AAAAAAAAAAAA ro console=ttyS0';
    expect(rewriteIdentifiers(grub, map).text).toBe('linux /boot/vmlinuz root=PARTUUID=BBBBBBBB-0000-4000-8000-000000000002 ro console=ttyS0');
    expect(rewriteIdentifiers('nothing here', map)).toEqual({ text: 'nothing here', replaced: 0 });
  });

  it('sets exactly one 127.0.1.1 line in /etc/hosts', () => {
    expect(setHostsEntry('127.0.0.1\tlocalhost\n127.0.1.1\told\n::1\tlocalhost\n', 'new.example.org')).toBe(
      '127.0.0.1\tlocalhost\n127.0.1.1\tnew.example.org new\n::1\tlocalhost\n',
    );
    expect(setHostsEntry('', 'box')).toBe('127.0.1.1\tbox\n');
  });
});

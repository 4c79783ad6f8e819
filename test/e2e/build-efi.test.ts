/**
 * The default image: `kiln build imageconfigs/core-efi.json` → core.vhdx that boots with OVMF to a
 * login prompt. Built once (kept raw for inspection), then checked from outside and booted.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuiltImage } from './lib/images.js';
import { fatFile, fatType, partitionTable, qemuImgInfo, sha256, withPartitionMounted } from './lib/inspect.js';
import { run } from '../../src/core/exec.js';
import { KILN } from './lib/images.js';

/** Files (not directories: dpkg keeps the directories of excluded paths) below `dir`. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name));
}

const GPT_ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

describe('core-efi.json → core.vhdx (GPT, ESP + ext4, grub EFI)', () => {
  let image: BuiltImage;
  let raw: string;
  beforeAll(async () => {
    image = await buildImage({ config: 'imageconfigs/core-efi.json', args: ['--keep-raw'] });
    raw = join(image.imageDir, 'core-efi.raw');
  });

  it('writes the vhdx, the manifest and the build log, and nothing half-written', async () => {
    const vhdx = join(image.imageDir, 'core.vhdx');
    const info = await qemuImgInfo(vhdx);
    expect(info.format).toBe('vhdx');
    expect(info['virtual-size']).toBe(4096 * 1024 * 1024);
    expect(readdirSync(image.imageDir).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(readdirSync(image.out).filter((f) => f.startsWith('.work-'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(image.manifest, 'utf8')) as { packages: { name: string; version: string }[]; kernel?: string };
    const names = manifest.packages.map((p) => p.name);
    for (const p of ['linux-image-amd64', 'systemd-sysv', 'openssh-server', 'grub-efi-amd64-bin', 'hyperv-daemons']) expect(names).toContain(p);
    expect(manifest.packages.every((p) => p.version.length > 0)).toBe(true);
    expect(manifest.kernel).toMatch(/-amd64$/);
    const log = readFileSync(image.log, 'utf8');
    // the base tree is installed by mmdebstrap, or restored from the tree cache (on by default; an
    // earlier build of the same base tree in this run or a previous one stored it: cache.test.ts
    // proves the install and the restore give the same bytes)
    const hit = /tree cache: hit ([0-9a-f]{32})/.exec(log);
    if (hit) {
      expect(log).not.toMatch(/^\$ mmdebstrap /m); // (host tool checks name it too)
    } else {
      expect(log).toMatch(/^\$ mmdebstrap /m);
      expect(log).toMatch(/Setting up linux-image-/);
      expect(log).toMatch(/tree cache: (miss [0-9a-f]{32}|stored)|tree cache not used/);
    }
  });

  it('has the partition table the config describes', async () => {
    const t = await partitionTable(raw);
    expect(t.label).toBe('gpt');
    expect(t.partitions).toHaveLength(2);
    const [esp, root] = t.partitions;
    expect(esp).toMatchObject({ start: 2048, size: 64 * 2048, type: GPT_ESP, name: 'boot' });
    expect(root!.start).toBe(65 * 2048);
    expect(root!.start + root!.size).toBe(4096 * 2048 - 33);
    // the shipped ESP is 64 MiB: a real FAT32 (an 8 MiB "fat32" would become FAT16, with a warning)
    expect(await fatType(raw, 1)).toBe('FAT32');
  });

  it('puts grub at the removable EFI path and boots the root by PARTUUID', async () => {
    const t = await partitionTable(raw);
    const rootUuid = t.partitions[1]!.uuid!.toLowerCase();
    const efi = await fatFile(raw, 1, '/EFI/BOOT/BOOTX64.EFI');
    expect(efi?.startsWith('MZ')).toBe(true);
    await withPartitionMounted(raw, 2, async (root) => {
      const cfg = readFileSync(join(root, 'boot/grub/grub.cfg'), 'utf8');
      const linux = cfg.split('\n').filter((l) => /^\s*linux\s/.test(l));
      expect(linux.length).toBeGreaterThan(0);
      for (const l of linux) {
        expect(l).toContain(`root=PARTUUID=${rootUuid}`);
        expect(l).toContain('console=ttyS0,115200');
        expect(l).not.toContain('/dev/loop');
      }
      const fstab = readFileSync(join(root, 'etc/fstab'), 'utf8');
      expect(fstab).toMatch(new RegExp(`^PARTUUID=${rootUuid}\\s+/\\s+ext4`, 'm'));
      expect(fstab).toMatch(/\s\/boot\/efi\s+vfat\s+umask=0077/);
      // DisableRpmDocs: no documentation unpacked, licences kept
      expect(existsSync(join(root, 'usr/share/doc/systemd/copyright'))).toBe(true);
      expect(filesUnder(join(root, 'usr/share/man'))).toEqual([]);
      expect(readdirSync(join(root, 'var/cache/apt/archives')).filter((f) => f.endsWith('.deb'))).toEqual([]);
    });
  });

  it('kiln boot --check: boots in qemu (OVMF chosen from the ESP, TCG after the KVM probe) to the login prompt; the vhdx is unchanged', async () => {
    const vhdx = join(image.imageDir, 'core.vhdx');
    const before = await sha256(vhdx);
    const r = await run(KILN, ['boot', '--check', '--timeout', '900', vhdx], { allowFailure: true });
    expect(r.code, r.stderrTail).toBe(0);
    expect(r.stdout).toMatch(/core\.vhdx: .*login:/);
    expect(r.stderrTail).toMatch(/with OVMF \[EFI system partition on a GPT disk\]/);
    expect(await sha256(vhdx)).toBe(before);
  });
});

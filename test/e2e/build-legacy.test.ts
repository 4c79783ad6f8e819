/** `kiln build imageconfigs/core-legacy.json` → core.vhd (BIOS, grub in the bios_grub partition) that boots with SeaBIOS. */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuiltImage } from './lib/images.js';
import { partitionTable, qemuImgInfo, sha256, withPartitionMounted } from './lib/inspect.js';
import { run } from '../../src/core/exec.js';
import { KILN } from './lib/images.js';

const BIOS_BOOT = '21686148-6449-6E6F-744E-656564454649';

describe('core-legacy.json → core.vhd (GPT + bios_grub, grub for BIOS)', () => {
  let image: BuiltImage;
  let raw: string;
  beforeAll(async () => {
    image = await buildImage({ config: 'imageconfigs/core-legacy.json', args: ['--keep-raw', '--no-cache'] }); // shared with ux.test.ts (package progress events)
    raw = join(image.imageDir, 'core-legacy.raw');
  });

  it('writes a VHD and a BIOS-bootable disk', async () => {
    // a fixed VHD (what Azure needs): the raw disk followed by a 512-byte "conectix" footer
    const file = join(image.imageDir, 'core.vhd');
    const footer = Buffer.alloc(512);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, footer, 0, 512, statSync(file).size - 512);
    } finally {
      closeSync(fd);
    }
    expect(footer.subarray(0, 8).toString('latin1')).toBe('conectix');
    expect(footer.readUInt32BE(60)).toBe(2); // disk type 2 = fixed
    expect((await qemuImgInfo(join(image.imageDir, 'core.vhd'))).format).toMatch(/^(vpc|raw)$/);
    const t = await partitionTable(raw);
    expect(t.partitions[0]).toMatchObject({ start: 2048, size: 8 * 2048, type: BIOS_BOOT });
    // grub's boot code in the protective MBR, its core image in the bios_grub partition
    const head = Buffer.alloc(512);
    const rfd = openSync(raw, 'r');
    try {
      readSync(rfd, head, 0, 512, 0);
    } finally {
      closeSync(rfd);
    }
    expect(head.includes(Buffer.from('GRUB'))).toBe(true);
    const rootUuid = t.partitions[1]!.uuid!.toLowerCase();
    await withPartitionMounted(raw, 2, async (root) => {
      const cfg = readFileSync(join(root, 'boot/grub/grub.cfg'), 'utf8');
      expect(cfg).toContain(`root=PARTUUID=${rootUuid}`);
      expect(readFileSync(join(root, 'boot/grub/i386-pc/normal.mod')).length).toBeGreaterThan(0);
    });
  });

  it('kiln boot --check: boots in qemu (SeaBIOS chosen from the BIOS boot code, TCG) to the login prompt; the vhd is unchanged', async () => {
    const vhd = join(image.imageDir, 'core.vhd');
    const before = await sha256(vhd);
    const r = await run(KILN, ['boot', '--check', '--timeout', '900', vhd], { allowFailure: true });
    expect(r.code, r.stderrTail).toBe(0);
    expect(r.stderrTail).toMatch(/\(vpc\) with SeaBIOS \[BIOS boot code in the MBR and a BIOS boot partition\]/);
    expect(await sha256(vhd)).toBe(before);
  });
});

/**
 * Roasted disks boot: core.vhdx (made by `kiln build imageconfigs/core-efi.json` through roast) and a
 * qcow2 and a fixed VHD roasted from the same image reach the login prompt in qemu (TCG, UEFI).
 * The raw disk is recovered from the vhdx with qemu-img (an independent reader), so this file
 * shares the build with any other test of core-efi in the run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { output, run } from '../../src/core/exec.js';
import { withScope } from '../../src/core/scope.js';
import { roast } from '../../src/roast/index.js';
import { buildImage } from './lib/images.js';
import { withGuest } from './lib/qemu.js';
import { e2eWorkDir } from './lib/workdir.js';

let vhdx: string;
let qcow2: string;
let vhd: string;

beforeAll(async () => {
  const built = await buildImage({ config: 'imageconfigs/core-efi.json' });
  vhdx = join(built.imageDir, 'core.vhdx');
  const dir = join(e2eWorkDir(), 'roast-boot');
  mkdirSync(dir, { recursive: true });
  const raw = join(dir, 'core-efi.raw');
  await run('qemu-img', ['convert', '-f', 'vhdx', '-O', 'raw', vhdx, raw]);
  [qcow2, vhd] = (await withScope('roast-boot', (scope) =>
    roast({ input: { kind: 'disk', path: raw }, artifacts: [{ Name: 'core', Type: 'qcow2' }, { Name: 'core', Type: 'vhd' }], outDir: dir, scope }),
  )) as [string, string];
});

describe('roasted images boot (UEFI, TCG) to the login prompt', () => {
  it('core.vhdx from kiln build is a dynamic VHDX that qemu-img checks', async () => {
    await run('qemu-img', ['check', '-q', '-f', 'vhdx', vhdx]);
    expect(JSON.parse(await output('qemu-img', ['info', '--output=json', vhdx])).format).toBe('vhdx');
  });

  // core.vhdx itself is booted by build-efi.test.ts (same build); here the other disk formats of that image
  it.each([
    ['core.qcow2', 'qcow2', () => qcow2],
    ['core.vhd (fixed, native footer)', 'vpc', () => vhd],
  ])('%s boots to login:', async (label, diskFormat, disk) => {
    await withGuest({ name: `roast-${diskFormat}`, firmware: 'uefi', disk: disk(), diskFormat }, async (guest) => {
      await guest.waitFor(/login: $/m, 300_000);
    });
  });
});

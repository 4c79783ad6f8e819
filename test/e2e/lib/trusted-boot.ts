/**
 * What the trusted-boot end-to-end files share (trusted-boot.test.ts, CI tier; trusted-boot-full.test.ts,
 * full tier): fixtures, secrets of the test configs, and checks of a booted guest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { run } from '../../../src/core/exec.js';
import { buildImage, type BuiltImage } from './images.js';
import { partitionOffset, partitionTable } from './inspect.js';
import type { Guest } from './qemu.js';

export const FIXTURES = 'test/fixtures/e2e/trusted-boot';
export const PASSPHRASE = 'kiln-LUKS-pass-7'; // luks.json, azl-luks.json
export const ROOT_PASSWORD = 'kiln-root-Pa55';
export const MARKER = readFileSync(join(import.meta.dirname, '../../fixtures/e2e/trusted-boot/files/marker.txt'), 'utf8').trim();
export const BOOT_TIMEOUT = 20 * 60_000;
const SECURE_BOOT_VAR = '/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c';
export const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

/** Secure Boot as the guest sees it: the firmware variable and the kernel's lockdown. */
export async function expectSecureBoot(g: Guest): Promise<void> {
  // the variable's value is its last byte (the first four are attributes)
  expect((await g.check(`od -An -t u1 ${SECURE_BOOT_VAR}`)).split(/\s+/).pop()).toBe('1');
  expect(await g.check('cat /sys/kernel/security/lockdown')).toMatch(/\[(integrity|confidentiality)\]/);
}

/** A sparse copy of a raw disk to modify. */
export async function copyDisk(raw: string, dir: string, name: string): Promise<string> {
  const copy = join(dir, `${name}.raw`);
  await run('cp', ['--sparse=always', raw, copy]);
  return copy;
}

export async function partUuids(disk: string): Promise<string[]> {
  return (await partitionTable(disk)).partitions.map((p) => p.uuid!.toLowerCase());
}

/** luks.json: encrypted root, the distribution's shim chain, an ISO installer (built once per run). */
export async function buildLuks(): Promise<{ image: BuiltImage; raw: string; iso: string }> {
  const image = await buildImage({ config: `${FIXTURES}/luks.json`, args: ['--keep-raw'] });
  const raw = join(image.imageDir, 'luks-1.raw');
  const iso = join(image.imageDir, 'luks.iso');
  return { image, raw, iso };
}

/** verity-uki.json: verity root, systemd-boot and a UKI signed with the snakeoil key (built once per run). */
export async function buildVerityUki(): Promise<{ image: BuiltImage; raw: string; espOffset: number }> {
  // the snakeoil key ships encrypted: its passphrase comes from the environment, never the config
  process.env.KILN_SIGNING_KEY_PASSPHRASE = 'snakeoil';
  const image = await buildImage({ config: `${FIXTURES}/verity-uki.json` });
  const raw = join(image.imageDir, 'verity.raw');
  return { image, raw, espOffset: await partitionOffset(raw, 1) };
}

import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planBuild } from '../../../src/imager/plan.js';
import { hostToolsFor } from '../../../src/imager/tools.js';
import { loadConfig } from '../../../src/config/index.js';
import { UsageError } from '../../../src/core/errors.js';

const REPO = resolve(import.meta.dirname, '../../..');

describe('build plan', () => {
  it('core-efi.json: a GPT disk booted by EFI, one vhdx artifact, outputs named after the config', async () => {
    const plan = await planBuild(await loadConfig(join(REPO, 'imageconfigs/core-efi.json')), { outDir: '/tmp/kiln-out' });
    expect(plan.boot).toBe('efi');
    expect(plan.layout?.table).toBe('gpt');
    expect(plan.layout?.partitions.map((p) => p.id)).toEqual(['boot', 'rootfs']);
    expect(plan.artifacts).toEqual([{ Name: 'core', Type: 'vhdx' }]);
    expect(plan.imageDir).toBe('/tmp/kiln-out/images/core-efi');
    expect(plan.logFile).toBe('/tmp/kiln-out/logs/core-efi.log');
    expect(plan.cacheDir).toBe('/var/cache/kiln/debian-bookworm');
    expect(plan.kernel).toBe('linux-image-amd64');
    expect(plan.packages).toEqual(expect.arrayContaining(['hyperv-daemons', 'systemd-sysv', 'openssh-server']));
    expect(plan.packages.at(-1)).toBe('initramfs-tools');
    const tools = hostToolsFor(plan);
    for (const t of ['mmdebstrap', 'losetup', 'partx', 'sfdisk', 'mkfs.vfat', 'mcopy', 'mkfs.ext4', 'qemu-img', 'bwrap', 'setpriv']) expect(tools).toContain(t);
  });

  it('core-container.json: a root filesystem tree, no boot, a tar.gz', async () => {
    const plan = await planBuild(await loadConfig(join(REPO, 'imageconfigs/core-container.json')), { outDir: '/tmp/o', cacheDir: '/tmp/c' });
    expect(plan.layout).toBeUndefined();
    expect(plan.boot).toBe('none');
    expect(plan.cacheDir).toBe('/tmp/c');
    expect(hostToolsFor(plan)).toEqual(expect.arrayContaining(['tar', 'gzip', 'mmdebstrap']));
    expect(hostToolsFor(plan)).not.toContain('losetup');
  });

  it('a reproducible build of a config with a device layer (Verity) is refused as an invalid config', async () => {
    const loaded = await loadConfig(join(REPO, 'test/fixtures/e2e/trusted-boot/verity-uki.json'));
    await expect(planBuild(loaded, { reproducible: true })).rejects.toThrow(/partition "rootfs" has a device layer \(Encryption or Verity\)/);
    expect((await planBuild(loaded, {})).stacks.layers.size).toBe(1);
  });

  it('an unknown --system-config is a usage error listing the names', async () => {
    const loaded = await loadConfig(join(REPO, 'imageconfigs/core-legacy.json'));
    await expect(planBuild(loaded, { systemConfig: 'Nope' })).rejects.toThrow(UsageError);
    await expect(planBuild(loaded, { systemConfig: 'Nope' })).rejects.toThrow(/it has: Standard/);
    expect((await planBuild(loaded, { systemConfig: 'Standard' })).boot).toBe('legacy');
  });
});

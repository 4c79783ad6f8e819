/**
 * The tree cache key covers what decides the installed tree and nothing that acts after it:
 * a config-only change (hostname, users, files, scripts) keeps the key; a package, a documentation
 * or locale filter, the repositories, the fstab shape, the root partition's size or
 * SOURCE_DATE_EPOCH change it. (The repositories' snapshot is fixed here: no network.)
 */
import { join, resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import type { SystemConfig } from '../../../src/config/model.js';
import { canonicalJson, fstabShape, treeKey } from '../../../src/cache/key.js';
import { planBuild } from '../../../src/imager/plan.js';
import { diskRegions, treeKeyRequest } from '../../../src/imager/tree-cache.js';

const REPO = resolve(import.meta.dirname, '../../..');

async function keyOf(change: (sc: SystemConfig, disk: { MaxSize?: number }) => void = () => {}, sde?: number, snapshot = 'snapshot-1'): Promise<string> {
  const loaded = await loadConfig(join(REPO, 'imageconfigs/core-efi.json'));
  change(loaded.config.SystemConfigs[0]!, loaded.config.Disks![0]!);
  const plan = await planBuild(loaded, { outDir: '/tmp/kiln-key-test' });
  vi.spyOn(plan.backend, 'repoSnapshot').mockResolvedValue(snapshot);
  const k = await treeKey(treeKeyRequest(plan, diskRegions(plan), sde));
  if ('reason' in k) throw new Error(k.reason);
  return k.key;
}

describe('tree cache key', () => {
  it('stays the same for changes that act after the install', async () => {
    const base = await keyOf();
    expect(await keyOf()).toBe(base);
    expect(await keyOf((sc) => (sc.Hostname = 'other-host'))).toBe(base);
    expect(await keyOf((sc) => (sc.Users = [{ Name: 'alice', Password: 'x' }]))).toBe(base);
    expect(await keyOf((sc) => (sc.AdditionalFiles = { [join(REPO, 'README.md')]: '/etc/motd' }))).toBe(base);
    expect(await keyOf((sc) => (sc.PostInstallScripts = [{ Path: join(REPO, 'README.md') }]))).toBe(base);
    expect(await keyOf((sc) => (sc.KernelCommandLine = { ExtraCommandLine: 'quiet' }))).toBe(base);
  });

  it('changes with what decides the installed tree', async () => {
    const base = await keyOf();
    const changed = [
      await keyOf((sc) => (sc.Packages = ['jq'])),
      await keyOf((sc) => (sc.DisableRpmDocs = false)),
      await keyOf((sc) => (sc.OverrideRpmLocales = 'en')),
      await keyOf((sc) => (sc.PackageRepos = [{ Name: 'local', BaseUrl: 'file:///srv/repo', GPGCheck: false }])),
      await keyOf((sc) => (sc.PartitionSettings![1]!.MountOptions = 'noatime')),
      await keyOf((_sc, disk) => (disk.MaxSize = 8192)),
      await keyOf(undefined, 1700000000),
      await keyOf(undefined, undefined, 'snapshot-2'),
    ];
    for (const k of changed) expect(k).not.toBe(base);
    expect(new Set(changed).size).toBe(changed.length);
  });

  it('fstab shape drops the identifiers; canonical JSON ignores key order', () => {
    expect(fstabShape('# c\nPARTUUID=1\t/\text4\tdefaults\t0\t1\nUUID=2 /boot vfat umask=0077 0 2\n')).toEqual(['/ ext4 defaults 0 1', '/boot vfat umask=0077 0 2']);
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe(canonicalJson({ a: { c: null, d: [2, 1] }, b: 1 }));
  });
});

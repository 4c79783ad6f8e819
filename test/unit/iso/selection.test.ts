import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { loadConfig } from '../../../src/config/index.js';
import { isoSelection } from '../../../src/iso/from-config.js';
import { installManifest, isoManifestPath, systemManifestName } from '../../../src/iso/layout.js';

const REPO = resolve(import.meta.dirname, '../../..');

describe('systems of an ISO', () => {
  it('--system-config narrows an ISO config to the named SystemConfig; without it every system stays', async () => {
    const loaded = await loadConfig(join(REPO, 'imageconfigs/full-attended.json'));
    expect(isoSelection(loaded).config.SystemConfigs.map((s) => s.Name)).toEqual(['Debian 12 Full', 'Debian 12 Core']);
    const core = isoSelection(loaded, 'Debian 12 Core');
    expect(core.config.SystemConfigs.map((s) => s.Name)).toEqual(['Debian 12 Core']);
    expect(core.name).toBe(loaded.name);
    expect(loaded.config.SystemConfigs).toHaveLength(2); // the loaded config is not changed
    const manifest = installManifest(core.name, core.config, [{ sc: core.config.SystemConfigs[0]!, imageBytes: 1, dataBytes: 1, withManifest: true }]);
    expect(manifest.systems.map((s) => [s.name, s.image, s.manifest])).toEqual([['Debian 12 Core', 'kiln/images/1-debian-12-core.qcow2', 'kiln/manifests/1-debian-12-core.json']]);
  });

  it('an unknown --system-config is an error naming the ones the config has', async () => {
    const loaded = await loadConfig(join(REPO, 'imageconfigs/full-attended.json'));
    expect(() => isoSelection(loaded, 'Debian 13')).toThrow(/--system-config Debian 13: .*has no SystemConfig of that name \(it has: Debian 12 Full, Debian 12 Core\)/);
  });

  it('gives each system its own package manifest name, beside the ISO and on it', async () => {
    const loaded = await loadConfig(join(REPO, 'imageconfigs/full-attended.json'));
    const [full, core] = loaded.config.SystemConfigs;
    expect(systemManifestName(full!, 0)).toBe('manifest-1-debian-12-full.json');
    expect(systemManifestName(core!, 1)).toBe('manifest-2-debian-12-core.json');
    expect(isoManifestPath(core!, 1)).toBe('kiln/manifests/2-debian-12-core.json');
    const m = installManifest(loaded.name, loaded.config, [
      { sc: full!, imageBytes: 1, dataBytes: 1, withManifest: true },
      { sc: core!, imageBytes: 1, dataBytes: 1 },
    ]);
    expect(m.systems.map((s) => s.manifest)).toEqual(['kiln/manifests/1-debian-12-full.json', undefined]);
  });
});

describe('--system-config on an ISO config, through the CLI', () => {
  it.each([['build'], ['iso']])('kiln %s: an unknown name stops before any work, naming the ones there are', async (verb) => {
    const out = mkdtempSync(join(tmpdir(), 'kiln-sysconf-'));
    let err = '';
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
    try {
      const code = await main([verb, join(REPO, 'imageconfigs/full-attended.json'), '--system-config', 'Debian 13', '--out', out]);
      expect(code).not.toBe(0);
      expect(err).toContain('--system-config Debian 13');
      expect(err).toContain('it has: Debian 12 Full, Debian 12 Core');
      expect(existsSync(join(out, 'images'))).toBe(false);
    } finally {
      e.mockRestore();
      process.exitCode = undefined;
      rmSync(out, { recursive: true, force: true });
    }
  });
});

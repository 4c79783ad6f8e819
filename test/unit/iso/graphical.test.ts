import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { grubMenu, isoInstaller } from '../../../src/iso/layout.js';
import { GUI_RESOURCES, liveFiles, liveInputsHash, livePackages } from '../../../src/iso/live-tree.js';

const REPO = resolve(import.meta.dirname, '../../..');

describe('graphical installer ISO', () => {
  it('the "iso" artifact chooses the installer: core-efi-gui is graphical, the others terminal', async () => {
    expect(isoInstaller((await loadConfig(join(REPO, 'imageconfigs/core-efi-gui.json'))).config)).toBe('graphical');
    expect(isoInstaller((await loadConfig(join(REPO, 'imageconfigs/full-attended.json'))).config)).toBe('terminal');
    expect(isoInstaller((await loadConfig(join(REPO, 'imageconfigs/core-efi-unattended.json'))).config)).toBe('terminal');
  });

  it('boots the live system by default; the terminal installer stays in the menu', () => {
    const menu = grubMenu('core-efi-gui', false, 'reboot', true);
    const entries = [...menu.matchAll(/menuentry "([^"]+)" \{\n[^\n]*\n {2}linux (\S+) ([^\n]*)/g)].map((m) => [m[1], m[3]]);
    expect(entries[0]![0]).toBe('Install core-efi-gui (graphical)');
    expect(entries[0]![1]).toMatch(/\bkiln\.live\b/);
    expect(entries[1]![0]).toBe('Install core-efi-gui (terminal)');
    expect(entries.slice(1).every(([, cmdline]) => !/kiln\.live/.test(cmdline!))).toBe(true);
    expect(menu).toMatch(/set default=0/);
    expect(grubMenu('full', false, 'reboot')).not.toContain('kiln.live');
  });

  it('the live tree is made from files that exist: packages, units, the Calamares job', () => {
    expect(livePackages()).toEqual(expect.arrayContaining(['calamares', 'systemd-sysv', 'xserver-xorg-core', 'nodejs', 'xfsprogs']));
    const dests = liveFiles().map((f) => f.destination);
    expect(dests).toEqual(
      expect.arrayContaining([
        '/etc/systemd/system/kiln-calamares.service',
        '/etc/systemd/system/kiln-terminal-installer.service',
        '/usr/lib/x86_64-linux-gnu/calamares/modules/kilninstall/main.py',
        '/usr/lib/x86_64-linux-gnu/calamares/modules/kilninstall/module.desc',
      ]),
    );
    for (const f of liveFiles().filter((x) => x.source.startsWith(GUI_RESOURCES))) expect(existsSync(f.source)).toBe(true);
  });

  it('X runs a window manager beside Calamares (Qt takes no key from a bare X server), which the unit starts', () => {
    expect(livePackages()).toContain('matchbox-window-manager');
    const session = liveFiles().find((f) => f.destination === '/usr/local/bin/kiln-calamares-session');
    expect(session?.mode).toBe(0o755);
    const script = readFileSync(session!.source, 'utf8');
    expect(script).toMatch(/^matchbox-window-manager .*&$/m);
    expect(script).toMatch(/^exec \/usr\/bin\/calamares\b/m);
    expect(readFileSync(join(GUI_RESOURCES, 'systemd/kiln-calamares.service'), 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/xinit \/usr\/local\/bin\/kiln-calamares-session -- /m);
  });

  it('the cache key is a hash of the inputs', () => {
    if (!existsSync(liveFiles()[0]!.source)) return; // the installer bundle is made by the first ISO build
    expect(liveInputsHash()).toMatch(/^[0-9a-f]{16}$/);
  });
});

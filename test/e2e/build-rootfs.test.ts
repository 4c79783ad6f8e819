/** A config without Partitions builds a directory tree: `core-container.json` → core.tar.gz. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { output } from '../../src/core/exec.js';
import { buildImage, type BuiltImage } from './lib/images.js';

describe('core-container.json → core.tar.gz (root filesystem, no disk)', () => {
  let image: BuiltImage;
  let listing: string[];
  beforeAll(async () => {
    image = await buildImage({ config: 'imageconfigs/core-container.json', args: ['--no-cache'], terminal: true }); // shared with ux.test.ts's terminal session
    listing = (await output('tar', ['-tzf', join(image.imageDir, 'core.tar.gz')])).split('\n');
  });

  it('holds a Debian 12 root with the listed packages and no kernel or bootloader', async () => {
    expect(listing).toContain('./etc/os-release'); // a symlink to ../usr/lib/os-release
    expect(listing.some((f) => f.startsWith('./boot/vmlinuz'))).toBe(false);
    expect(listing.some((f) => f.includes('grub'))).toBe(false);
    const osRelease = await output('tar', ['-xzOf', join(image.imageDir, 'core.tar.gz'), './usr/lib/os-release']);
    expect(osRelease).toMatch(/VERSION_CODENAME=bookworm/);
    const manifest = JSON.parse(readFileSync(image.manifest, 'utf8')) as { packages: { name: string }[]; kernel?: string };
    expect(manifest.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['ca-certificates', 'less', 'procps', 'dpkg']));
    expect(manifest.kernel).toBeUndefined();
  });

  it('applies the dpkg filters: no man pages, no locales', () => {
    // dpkg keeps the directories of excluded paths: no files below them
    const files = listing.filter((f) => !f.endsWith('/'));
    expect(files.filter((f) => f.startsWith('./usr/share/man/'))).toEqual([]);
    expect(files.filter((f) => /^\.\/usr\/share\/locale\/[a-z]{2}/.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('./usr/share/doc/') && !f.endsWith('/copyright'))).toEqual([]);
  });
});

/**
 * The root's device layers seen from inside the image, rendered: fstab (mapper source, verity
 * read-only and never fsck'd, a tmpfs /tmp, LUKS grown online), crypttab per initramfs generator,
 * dracut modules, the tmpfs-overlay directories, and the shipped boot-time scripts' syntax.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderFstab } from '../../../src/system/render/fstab.js';
import { ASKPASS_PATH, overlayDirs, renderCrypttab, renderDracutConf, renderOverlayUnit } from '../../../src/system/render/device-layers.js';
import { TRUSTED_BOOT_RESOURCES } from '../../../src/system/steps/device-layers.js';
import type { BuiltDisk } from '../../../src/system/types.js';

const esp = { id: 'esp', partuuid: 'p-esp', fsuuid: 'ABCD-1234', fsType: 'fat32', mountPoint: '/boot/efi', mountOptions: 'umask=0077', mountIdentifier: 'uuid' as const };
const disk = (root: BuiltDisk['partitions'][number]): BuiltDisk => ({ tableType: 'gpt', diskId: 'd', partitions: [esp, root] });

describe('fstab of a layered root', () => {
  it('LUKS: /dev/mapper/root, fsck pass 1, grown online; the ESP by filesystem UUID', () => {
    const text = renderFstab(disk({ id: 'root', partuuid: 'p-root', fsuuid: 'f-root', fsType: 'ext4', mountPoint: '/', mountIdentifier: 'uuid', mapperName: 'root', layers: [{ kind: 'luks', name: 'root', uuid: 'l' }] }));
    expect(text).toMatch(/^\/dev\/mapper\/root\t\/\text4\tdefaults,x-systemd\.growfs\t0\t1$/m);
    expect(text).toMatch(/^UUID=ABCD-1234\t\/boot\/efi\tvfat\tumask=0077\t0\t2$/m);
    expect(text).not.toMatch(/tmpfs/);
  });
  it('verity: read-only whatever the options said, never fsck\'d, and a tmpfs /tmp', () => {
    const text = renderFstab(disk({ id: 'root', fsuuid: 'f', fsType: 'ext4', mountPoint: '/', mountOptions: 'defaults,noatime', mountIdentifier: 'uuid', mapperName: 'root', layers: [{ kind: 'verity', name: 'root', dataUuid: 'f', hashUuid: 'h', corruption: 'error' }] }));
    expect(text).toMatch(/^\/dev\/mapper\/root\t\/\text4\tro,noatime\t0\t0$/m);
    expect(text).toMatch(/^tmpfs\t\/tmp\ttmpfs\tmode=1777,nosuid,nodev\t0\t0$/m);
  });
});

describe('crypttab, dracut, overlays', () => {
  const luks = [{ kind: 'luks' as const, name: 'root', uuid: '11111111-2222-3333-4444-555555555555' }];
  it('initramfs-tools: into the initramfs, asked on every console by Kiln\'s keyscript', () => {
    expect(renderCrypttab(luks, 'initramfs-tools')).toMatch(new RegExp(`^root UUID=11111111-2222-3333-4444-555555555555 none luks,discard,initramfs,keyscript=${ASKPASS_PATH}$`, 'm'));
  });
  it('dracut: a plain entry (systemd-cryptsetup asks)', () => {
    expect(renderCrypttab(luks, 'dracut')).toMatch(/^root UUID=11111111-2222-3333-4444-555555555555 none luks,discard$/m);
    expect(renderDracutConf(['crypt', 'systemd-veritysetup'])).toMatch(/^add_dracutmodules\+=" crypt systemd-veritysetup "$/m);
  });
  it('overlays /var by default, never a directory that is its own partition, never /', () => {
    expect(overlayDirs(undefined, ['/', '/boot/efi'])).toEqual(['/var']);
    expect(overlayDirs(undefined, ['/', '/var'])).toEqual([]);
    expect(overlayDirs(['/etc/', '/var/lib', '/'], ['/'])).toEqual(['/etc', '/var/lib']);
    expect(renderOverlayUnit('ExecStart=/usr/lib/kiln/tmpfs-overlays @DIRS@\n', ['/var', '/etc'])).toBe('ExecStart=/usr/lib/kiln/tmpfs-overlays /var /etc\n');
  });
});

describe('boot-time scripts shipped in resources/trusted-boot', () => {
  const scripts = ['askpass-consoles', 'tmpfs-overlays', ...readdirSync(join(TRUSTED_BOOT_RESOURCES, 'initramfs-tools')).map((f) => `initramfs-tools/${f}`)];
  for (const s of scripts) {
    it(`${s} is valid POSIX sh`, () => {
      execFileSync('sh', ['-n', join(TRUSTED_BOOT_RESOURCES, s)]);
    });
  }
});

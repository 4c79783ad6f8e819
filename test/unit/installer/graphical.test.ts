import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { calamaresFiles, GS_DISK, GS_SYSTEM, RECOMMENDED_RAM_GIB, welcomeRequirements } from '../../../src/installer/calamares.js';
import type { DiskInfo } from '../../../src/installer/disks.js';
import type { InstallManifest, InstallSystem } from '../../../src/installer/manifest.js';
import { parseScriptedInput, scriptedAnswers } from '../../../src/installer/scripted.js';
import { InstallError } from '../../../src/installer/session.js';

const GiB = 1024 ** 3;
const sys = (name: string, gib: number): InstallSystem => ({
  name,
  image: `kiln/images/${name}.qcow2`,
  imageBytes: gib * GiB,
  dataBytes: GiB,
  tableType: 'gpt',
  growLastPartition: true,
  mounts: [{ partition: 2, mountPoint: '/', fsType: 'ext4' }],
});
const two: InstallManifest = { version: 1, configName: 'full', systems: [sys('Debian "Full"', 2), sys('Core', 1)] };
const one: InstallManifest = { version: 1, configName: 'core', systems: [sys('Core', 1)] };
const disk = (device: string, gib: number): DiskInfo => ({ device, bytes: gib * GiB, model: 'QEMU HARDDISK', removable: false, readOnly: false });
const disks = [disk('/dev/sr0', 1), disk('/dev/vda', 3), disk('/dev/vdb', 1.5)];
const good = { target: '/dev/vda', hostname: 'kiln-gui', user: { name: 'tester', password: 'tester-Pa55' } };

describe('graphical installer: answers given at once', () => {
  it('checks them with the terminal installer\'s rules and returns what the engine needs', () => {
    expect(scriptedAnswers(two, disks, { ...good, system: 'Core' }, '/dev/sr0')).toEqual({ system: two.systems[1], target: '/dev/vda', hostname: 'kiln-gui', user: good.user });
    // one system: it need not be named
    expect(scriptedAnswers(one, disks, good).system.name).toBe('Core');
  });

  it.each([
    [{ ...good, system: 'Nope' }, /no system "Nope" on this medium; it has: Debian "Full", Core/],
    [{ ...good, system: 'Core', target: '/dev/sr0' }, /\/dev\/sr0 is not a disk this installer can write/],
    [{ ...good, system: 'Debian "Full"', target: '/dev/vdb' }, /\/dev\/vdb is too small/],
    [{ ...good, system: 'Core', hostname: '-bad' }, /not a valid host name label/],
    [{ ...good, system: 'Core', user: { name: 'root', password: 'tester-Pa55' } }, /system account/],
    [{ ...good, system: 'Core', user: { name: 'tester', password: 'short' } }, /at least 8 characters/],
  ])('refuses %j', (input, message) => {
    expect(() => scriptedAnswers(two, disks, input, '/dev/sr0')).toThrow(InstallError);
    expect(() => scriptedAnswers(two, disks, input, '/dev/sr0')).toThrow(message);
  });

  it('reads the JSON the install step sends, and says what is missing', () => {
    expect(parseScriptedInput(JSON.stringify({ ...good, system: '' }))).toEqual(good);
    expect(() => parseScriptedInput('{')).toThrow(/not JSON/);
    expect(() => parseScriptedInput(JSON.stringify({ ...good, user: { name: 'x' } }))).toThrow('the answers lack the password');
  });
});

describe('graphical installer: Calamares configuration', () => {
  it('two systems: welcome, system, disk, users, summary, install job, finished', () => {
    const files = calamaresFiles(two, disks, '/dev/sr0');
    const settings = parse(files['settings.conf']!);
    expect(settings.sequence).toEqual([
      { show: ['welcome', 'packagechooser@kilnsystem', 'packagechooser@kilndisk', 'users', 'summary'] },
      { exec: ['kilninstall'] },
      { show: ['finished'] },
    ]);
    const systems = parse(files['modules/packagechooser-kilnsystem.conf']!);
    expect(systems.items.map((i: { id: string }) => i.id)).toEqual(['Debian "Full"', 'Core']);
    // the medium and disks smaller than every system are not offered
    const disksConf = parse(files['modules/packagechooser-kilndisk.conf']!);
    expect(disksConf.items.map((i: { id: string }) => i.id)).toEqual(['/dev/vda', '/dev/vdb']);
    expect(disksConf.mode).toBe('required');
    expect(parse(files['modules/users.conf']!).passwordRequirements.minLength).toBe(8);
    expect(GS_SYSTEM).toBe('packagechooser_kilnsystem');
    expect(GS_DISK).toBe('packagechooser_kilndisk');
  });

  it('brands the installer with the medium\'s config name: no sample product, links or log upload; the slide names the systems', () => {
    const files = calamaresFiles(two, disks, '/dev/sr0');
    expect(parse(files['settings.conf']!).branding).toBe('kiln');
    const desc = parse(files['branding/kiln/branding.desc']!);
    expect(desc.componentName).toBe('kiln');
    expect(desc.strings.versionedName).toBe(two.configName);
    expect(JSON.stringify(desc)).not.toMatch(/Fancy|Turgid|calamares\.io|termbin/);
    expect(desc.uploadServer).toBeUndefined();
    for (const image of Object.values(desc.images)) expect(image).toMatch(/^\/usr\/share\/calamares\/branding\/default\/\w+\.png$/);
    const show = files['branding/kiln/show.qml']!;
    expect(show).toContain('import calamares.slideshow 1.0;');
    expect(show).toContain(JSON.stringify('Debian "Full", Core'));
  });

  it('one system: no system page', () => {
    const files = calamaresFiles(one, disks, '/dev/sr0');
    expect(parse(files['settings.conf']!).sequence[0].show).toEqual(['welcome', 'packagechooser@kilndisk', 'users', 'summary']);
    expect(files['modules/packagechooser-kilnsystem.conf']).toBeUndefined();
  });

  it('welcome checks what an install needs: a disk the smallest image fits on (required), memory (recommended); no internet, power or root', () => {
    const welcome = parse(calamaresFiles(two, disks, '/dev/sr0')['modules/welcome.conf']!);
    const req = welcome.requirements;
    expect(req.check).toEqual(['storage', 'ram']);
    expect(req.required).toEqual(['storage']);
    for (const unwanted of ['internet', 'power', 'root']) expect([...req.check, ...req.required]).not.toContain(unwanted);
    expect(req.internetCheckUrl).toBeUndefined();
    expect(req.requiredRam).toBe(RECOMMENDED_RAM_GIB);
    // Calamares passes a disk strictly larger than trunc(requiredStorage * 2^30) bytes: exactly the
    // disks of at least the smallest image (Core, 1 GiB), Kiln's own rule
    const threshold = Math.trunc(req.requiredStorage * GiB);
    expect(threshold + 1).toBe(GiB);
    expect(welcome.showSupportUrl).toBe(false);
  });

  it('welcome\'s numbers are ones Calamares 3.2 reads as numbers (an integer or a plain decimal, never an exponent), for any image size', () => {
    const calamaresNumber = /^[-+]?\d+$|^[-+]?\d*\.?\d+$/; // its YAML reader: LongLong, else Double, else a string
    for (const bytes of [1, 512, 1024 ** 2, 2049 * 1024 ** 2, 2 * GiB, 64 * GiB + 4096, 3 * 1024 ** 4]) {
      const r = welcomeRequirements(bytes);
      for (const v of [r.requiredStorage, r.requiredRam]) expect(JSON.stringify(v)).toMatch(calamaresNumber);
      // a disk of exactly the image's size passes, one byte less does not
      const threshold = Math.trunc(r.requiredStorage * GiB);
      expect(bytes > threshold).toBe(true);
      if (bytes >= 1024) expect(bytes - 1 > threshold).toBe(false);
    }
  });
});

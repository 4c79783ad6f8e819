/**
 * ISO installer, end to end: build each ISO config once (`kiln build`), check its El Torito
 * entries, install it in qemu (TCG) onto a blank disk — unattended on OVMF and on SeaBIOS, and
 * attended by answering the prompts over the serial console — then boot each installed disk alone
 * and check the system: login, host name, an AdditionalFiles file, fstab by the NEW disk's PARTUUID;
 * two installs share no disk, partition or file-system identifier; the attended config's xfs root
 * fills its grown partition; each system of the two-system ISO keeps its own package manifest.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/core/exec.js';
import type { InspectReport } from '../../src/inspect/index.js';
import { buildImage, buildWarnings, KILN, type BuiltImage } from './lib/images.js';
import { withGuest, type Firmware, type Guest } from './lib/qemu.js';
import { e2eWorkDir } from './lib/workdir.js';
import { sha256 } from './lib/inspect.js';
import { spdxReferencesResolve, spdxValidators, validateCycloneDx } from '../lib/schemas.js';

/** The SBOMs beside an ISO: valid, the ISO with its SHA-256, every SystemConfig's packages (its images' manifests). */
async function checkIsoSboms(built: BuiltImage, iso: string, minPackages: number): Promise<void> {
  const digest = await sha256(iso);
  const cdxText = readFileSync(join(built.imageDir, 'sbom.cdx.json'), 'utf8');
  expect(await validateCycloneDx(cdxText)).toBeNull();
  const cdx = JSON.parse(cdxText) as { components: { type: string; name: string; purl?: string; hashes?: { alg: string; content: string }[] }[] };
  // the ISO as a file component, with its SHA-256 among its hashes (SHA-1 is there too)
  expect(cdx.components.find((c) => c.type === 'file')).toMatchObject({ name: iso.split('/').pop(), hashes: expect.arrayContaining([{ alg: 'SHA-256', content: digest }]) });
  const libs = cdx.components.filter((c) => c.type === 'library');
  expect(libs.length).toBeGreaterThan(minPackages);
  for (const c of libs) expect(c.purl).toMatch(/^pkg:deb\/debian\//);
  const spdx = JSON.parse(readFileSync(join(built.imageDir, 'sbom.spdx.json'), 'utf8')) as Parameters<typeof spdxReferencesResolve>[0] & { files: { checksums: { algorithm: string; checksumValue: string }[] }[] };
  for (const v of spdxValidators()) expect(v.validate(spdx), v.name).toBeUndefined();
  expect(spdxReferencesResolve(spdx)).toEqual([]);
  expect(spdx.files[0]!.checksums).toContainEqual({ algorithm: 'SHA256', checksumValue: digest });
}

const INSTALL_TIMEOUT = 20 * 60_000;
const ROOT_PASSWORD = 'kiln-root-Pa55'; // imageconfigs/core-efi-unattended.json

async function blankDisk(name: string, gib = 3): Promise<string> {
  const path = join(e2eWorkDir(), `${name}.raw`);
  rmSync(path, { force: true });
  await run('truncate', ['-s', `${gib}G`, path]);
  return path;
}

/** Wait for the installer's verdict; a failure message fails the test at once (not at the timeout). */
async function waitForInstall(g: Guest): Promise<void> {
  const m = await g.waitFor(/KILN-INSTALL-(DONE|FAILED)[^\n]*/, INSTALL_TIMEOUT);
  if (m[1] === 'FAILED') throw new Error(`the installer failed: ${m[0]}`);
  await g.waitFor('Kiln installer: reboot', 120_000); // /init has unmounted and synced
}

/** Partition GUIDs of a raw disk image (host side, sfdisk on the file). */
async function partUuids(disk: string): Promise<string[]> {
  return (await diskIdentifiers(disk)).partUuids;
}

interface DiskIdentifiers {
  diskId: string;
  partUuids: string[];
  fsUuids: string[];
}

/** Every identifier of a raw disk image, read on the host: table (sfdisk) and file systems (blkid at each partition's offset). */
async function diskIdentifiers(disk: string): Promise<DiskIdentifiers> {
  const table = (JSON.parse((await run('sfdisk', ['--json', disk])).stdout) as { partitiontable: { id: string; partitions: { uuid: string; start: number; size: number }[] } })
    .partitiontable;
  const fsUuids: string[] = [];
  for (const p of table.partitions) {
    const probe = await run('blkid', ['-p', '-O', String(p.start * 512), '-S', String(p.size * 512), '-s', 'UUID', '-o', 'value', disk], { allowFailure: true });
    fsUuids.push(probe.stdout.trim());
  }
  return { diskId: table.id.toLowerCase(), partUuids: table.partitions.map((p) => p.uuid.toLowerCase()), fsUuids };
}

async function checkInstalledSystem(g: Guest, installed: string, expect_: { hostname: string; oldUuids: string[] }): Promise<void> {
  expect(await g.check('hostname')).toBe(expect_.hostname);
  expect(await g.check('cat /etc/kiln/installed-from-iso.txt')).toBe('This system was installed from a Kiln installer ISO.');
  const newUuids = await partUuids(installed);
  const rootUuid = (await g.check("findmnt -no SOURCE / | xargs blkid -s PARTUUID -o value")).toLowerCase();
  expect(newUuids).toContain(rootUuid);
  expect(expect_.oldUuids).not.toContain(rootUuid);
  const fstab = (await g.check('cat /etc/fstab')).toLowerCase();
  expect(fstab).toContain(`partuuid=${rootUuid}`);
  for (const old of expect_.oldUuids) expect(fstab).not.toContain(old);
  // the last partition grew to the 3 GiB disk (the image is 2 GiB)
  const rootBytes = Number(await g.check('df -B1 --output=size / | tail -n1'));
  expect(rootBytes).toBeGreaterThan(2.5 * 1024 ** 3);
  expect(await g.check('cat /var/log/kiln-installer.log | grep -c . ')).not.toBe('0');
}

describe('unattended ISO (imageconfigs/core-efi-unattended.json)', () => {
  let iso: string;
  let oldUuids: string[];
  let built: BuiltImage;
  let imageIds: DiskIdentifiers;
  const installedIds: Partial<Record<Firmware, DiskIdentifiers>> = {};

  beforeAll(async () => {
    built = await buildImage({ config: 'imageconfigs/core-efi-unattended.json' });
    iso = join(built.imageDir, 'core-efi-unattended.iso');
    if (!existsSync(iso)) throw new Error(`kiln build made no ISO at ${iso} (log: ${built.log})`);
    // the identifiers the image was built with: from the payload on the ISO
    const payload = join(e2eWorkDir(), 'payload.qcow2');
    const head = join(e2eWorkDir(), 'payload.raw');
    await run('osirrox', ['-indev', iso, '-extract', '/kiln/images/1-debian-12-core-efi.qcow2', payload]);
    await run('qemu-img', ['convert', '-O', 'raw', payload, head]);
    imageIds = await diskIdentifiers(head);
    oldUuids = imageIds.partUuids;
  });

  it('the shipped config builds without a warning; CycloneDX and SPDX SBOMs beside the ISO validate and name it with its SHA-256', async () => {
    expect(buildWarnings(built)).toEqual([]);
    await checkIsoSboms(built, iso, 100);
  });

  it('is a hybrid ISO with BIOS and EFI El Torito boot entries', async () => {
    const report = (await run('xorriso', ['-indev', iso, '-report_el_torito', 'plain'])).stdout;
    expect(report).toMatch(/El Torito boot img :\s+1\s+BIOS\s+y/);
    expect(report).toMatch(/El Torito boot img :\s+2\s+UEFI\s+y/);
    const mbr = (await run('xorriso', ['-indev', iso, '-report_system_area', 'plain'])).stdout;
    // USB on UEFI: the ESP is GPT partition 2 (EFI system partition type)
    expect(mbr).toMatch(/GPT type GUID\s*:\s*2\s+28732ac11ff8d211ba4b00a0c93ec93b/);
    expect(mbr).toMatch(/System area summary:.*grub2-mbr/);
  });

  it('kiln inspect --json: BIOS and UEFI El Torito entries, and the disk image it carries with its partitions and os-release', async () => {
    const report = JSON.parse((await run(KILN, ['inspect', '--json', iso])).stdout) as InspectReport;
    expect(report.artifact.format).toBe('iso');
    expect(report.iso!.elTorito.map((e) => e.platform)).toEqual(['BIOS', 'UEFI']);
    expect(report.iso!.files).toContain('/kiln/images/1-debian-12-core-efi.qcow2');
    const payload = report.iso!.payloads.find((p) => p.path === '/kiln/images/1-debian-12-core-efi.qcow2')!.report;
    expect(payload.disk!.partitionTable.partitions.map((p) => p.partuuid)).toEqual(oldUuids);
    expect(payload.disk!.partitionTable.partitions.map((p) => p.filesystem?.fatType ?? p.filesystem?.type)).toEqual(['FAT32', 'ext4']);
    expect(payload.disk!.boot.firmware).toEqual(['uefi']);
    expect(payload.disk!.os!.osRelease).toMatchObject({ ID: 'debian', VERSION_ID: '12' });
  });

  for (const firmware of ['uefi', 'bios'] as Firmware[]) {
    it(`installs without a question when booted with ${firmware === 'uefi' ? 'OVMF' : 'SeaBIOS'}; the installed disk boots alone`, async () => {
      const target = await blankDisk(`iso-unattended-${firmware}`);
      if (firmware === 'bios') {
        // through the CLI: kiln boot ISO with a target disk, headless, until the installer is done
        const r = await run(KILN, ['boot', iso, '--firmware', 'bios', '--target', target, '--check', '--timeout', String(INSTALL_TIMEOUT / 1000), '--expect', 'Kiln installer: reboot|KILN-INSTALL-FAILED.*'], { allowFailure: true });
        expect(r.code, r.stderrTail).toBe(0);
        expect(r.stdout).toContain('Kiln installer: reboot');
        // and the installed disk, by the CLI too: firmware from its ESP, to the login prompt
        const boot = await run(KILN, ['boot', '--check', '--timeout', '900', target], { allowFailure: true });
        expect(boot.code, boot.stderrTail).toBe(0);
        expect(boot.stderrTail).toMatch(/with OVMF \[EFI system partition on a GPT disk\]/);
      } else {
        await withGuest({ name: `iso-install-${firmware}`, firmware, cdrom: iso, extraDisks: [{ path: target, format: 'raw' }], memoryMiB: 1536 }, async (g) => {
          await g.waitFor('Kiln installer: unattended install of Debian 12 core (EFI) to /dev/vda', 10 * 60_000);
          await waitForInstall(g);
        });
      }
      // the image is an EFI system: it boots with OVMF whichever firmware ran the installer
      await withGuest({ name: `iso-installed-${firmware}`, firmware: 'uefi', disk: target, writableDisk: true, diskFormat: 'raw' }, async (g) => {
        await g.login('root', ROOT_PASSWORD);
        await checkInstalledSystem(g, target, { hostname: 'kiln-unattended', oldUuids });
        // the file systems are mounted by their new UUIDs (grub found / by it; fstab may name it)
        const ids = await diskIdentifiers(target);
        expect(await g.check('blkid -s UUID -o value /dev/vda2')).toBe(ids.fsUuids[1]);
      });
      installedIds[firmware] = await diskIdentifiers(target);
    });
  }

  it('two installs from the ISO share no disk, partition or file-system identifier with each other or the image', () => {
    const [a, b] = [installedIds.uefi, installedIds.bios];
    if (!a || !b) throw new Error('both installs must have passed first');
    expect(imageIds.fsUuids.every((u) => u.length > 0)).toBe(true); // ESP (FAT serial) and root (ext4)
    for (const ids of [a, b]) expect(ids.fsUuids.every((u) => u.length > 0)).toBe(true);
    const all = (ids: DiskIdentifiers) => [ids.diskId, ...ids.partUuids, ...ids.fsUuids.map((u) => u.toLowerCase())];
    const seen = [...all(imageIds), ...all(a), ...all(b)];
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('attended ISO (imageconfigs/full-attended.json)', () => {
  let iso: string;
  let built: BuiltImage;

  beforeAll(async () => {
    built = await buildImage({ config: 'imageconfigs/full-attended.json' });
    iso = join(built.imageDir, 'full-attended.iso');
    if (!existsSync(iso)) throw new Error(`kiln build made no ISO at ${iso} (log: ${built.log})`);
  });

  it('the shipped config builds without a warning; the SBOMs list the packages of both SystemConfigs (Full and Core)', async () => {
    expect(buildWarnings(built)).toEqual([]);
    // more packages than the smaller system (Core) has alone: the union of both systems' manifests
    const core = JSON.parse(readFileSync(join(built.imageDir, 'manifest-2-debian-12-core.json'), 'utf8')) as { packages: unknown[] };
    await checkIsoSboms(built, iso, core.packages.length);
  });

  it('asks over the serial console, installs the chosen system, and the new user logs in', async () => {
    const target = await blankDisk('iso-attended');
    await withGuest({ name: 'iso-attended', firmware: 'uefi', cdrom: iso, extraDisks: [{ path: target, format: 'raw' }], memoryMiB: 1536 }, async (g) => {
      await g.waitFor('2) Debian 12 Core', 10 * 60_000);
      const answer = async (prompt: string | RegExp, text: string) => {
        await g.waitFor(prompt, 120_000);
        g.send(`${text}\r`);
      };
      await answer('Choose system [1]: ', '3'); // out of range: explained, asked again
      await g.waitFor('type a number from 1 to 2', 60_000);
      await answer('Choose system [1]: ', '2');
      await g.waitFor('Disk: /dev/vda', 60_000); // the only disk: shown, not asked
      await answer('Host name [debian]: ', 'kiln-attended');
      await answer('User name: ', 'tester');
      await answer('Password: ', 'tester-Pa55');
      await answer('Password (again): ', 'tester-Pa55');
      await answer('Type "yes" to install', 'yes');
      await waitForInstall(g);
      expect(g.console).not.toContain('tester-Pa55'); // no echo of the password
    });
    await withGuest({ name: 'iso-attended-installed', firmware: 'uefi', disk: target, writableDisk: true, diskFormat: 'raw' }, async (g) => {
      await g.login('tester', 'tester-Pa55');
      expect(await g.check('hostname')).toBe('kiln-attended');
      expect(await g.check('id -nG')).toMatch(/\bsudo\b/);
      expect(await g.check('cat /etc/kiln/installed-from-iso.txt')).toContain('Kiln installer ISO');
      // "Debian 12 Core" was chosen, not "Debian 12 Full" (which has openssh-server)
      expect((await g.exec('test -e /usr/sbin/sshd')).code).not.toBe(0);
      // the password is stored hashed, never in clear in the installer log kept on the disk
      // (the log is root's alone, like every Kiln log: read through sudo)
      expect(await g.check('stat -c %a:%U /var/log/kiln-installer.log')).toBe('600:root');
      expect((await g.exec("echo tester-Pa55 | sudo -S -p '' grep -c tester-Pa55 /var/log/kiln-installer.log 2>/dev/null")).output.trim()).toBe('0');
      // the xfs root grew with its partition: the file system fills it (the image's was 2 GiB, the disk 3 GiB)
      expect(await g.check('findmnt -no FSTYPE /')).toBe('xfs');
      const partBytes = Number(await g.check('lsblk -bdno SIZE "$(findmnt -no SOURCE /)"'));
      const fsBytes = Number(await g.check('df -B1 --output=size / | tail -n1')); // xfs: data blocks, its internal log excluded
      expect(fsBytes).toBeGreaterThan(2.5 * 1024 ** 3);
      expect(fsBytes / partBytes).toBeGreaterThan(0.95);
    });
  });

  it('keeps one package manifest per system, beside the ISO and on it', async () => {
    const beside = ['manifest-1-debian-12-full.json', 'manifest-2-debian-12-core.json'].map((f) => join(built.imageDir, f));
    const names = beside.map((f) => (JSON.parse(readFileSync(f, 'utf8')) as { systemConfig: string }).systemConfig);
    expect(names).toEqual(['Debian 12 Full', 'Debian 12 Core']);
    expect(existsSync(built.manifest)).toBe(false); // no manifest.json that would be only the last system's
    const onIso = (await run('osirrox', ['-indev', iso, '-find', '/kiln/manifests', '-type', 'f'])).stdout;
    expect(onIso).toContain('/kiln/manifests/1-debian-12-full.json');
    expect(onIso).toContain('/kiln/manifests/2-debian-12-core.json');
    const full = JSON.parse(readFileSync(beside[0]!, 'utf8')) as { packages: { name: string }[] };
    expect(full.packages.map((p) => p.name)).toContain('openssh-server');
  });
});

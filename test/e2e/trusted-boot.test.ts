/**
 * Trusted boot, end to end, CI tier (docs/trusted-boot.md): two images, each built once and booted
 * once with Secure Boot enforced, between them every feature of issue 10. (Encryption and Verity
 * cannot share a root, so one image cannot carry all four.) trusted-boot-full.test.ts (full tier)
 * goes deeper on the same images and adds Azure Linux.
 *
 * - luks.json (Debian): an encrypted root (LUKS2) behind the distribution's Secure Boot chain (shim →
 *   signed grub → signed kernel). From outside: LUKS2 header on the root partition, no byte of a
 *   marker file the build wrote into the root anywhere on the disk, no passphrase in the log, the
 *   manifest, the disk or the ISO. Booted with Secure Boot enforced on Microsoft's keys: the
 *   passphrase prompt on both consoles, a wrong passphrase refused, the right one unlocks, the root
 *   on dm-crypt.
 * - verity-uki.json (Debian): a dm-verity root, systemd-boot and a UKI both signed with Debian's
 *   snakeoil test key (verified offline: sbverify, veritysetup verify). Booted with Secure Boot
 *   enforced on the snakeoil keys: read-only root on dm-verity, /var writable.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { output, run } from '../../src/core/exec.js';
import { extSizeBytes } from '../../src/disk/mkfs.js';
import type { BuiltImage } from './lib/images.js';
import { fatFile, fileContains, partitionOffset, partitionTable, withPartitionDevice, withPartitionMounted } from './lib/inspect.js';
import { SerialPort, serialPortArgs, SNAKEOIL_CERT, withGuest } from './lib/qemu.js';
import { BOOT_TIMEOUT, buildLuks, buildVerityUki, expectSecureBoot, MARKER, mtoolsEnv, PASSPHRASE, ROOT_PASSWORD } from './lib/trusted-boot.js';
import { e2eWorkDir } from './lib/workdir.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(e2eWorkDir(), 'trusted-boot-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('encrypted root behind the distribution\'s Secure Boot chain (luks.json)', () => {
  let image: BuiltImage;
  let raw: string;
  let iso: string;

  beforeAll(async () => {
    ({ image, raw, iso } = await buildLuks());
    for (const f of [raw, iso]) if (!existsSync(f)) throw new Error(`kiln build made no ${f} (log: ${image.log})`);
  });

  it('has a LUKS2 header on the root partition and not one byte of the root\'s plaintext on the disk', async () => {
    const t = await partitionTable(raw);
    expect(t.partitions).toHaveLength(3);
    await withPartitionDevice(raw, 3, async (dev) => {
      const dump = await output('cryptsetup', ['luksDump', dev]);
      expect(dump).toMatch(/^Version:\s+2$/m);
      expect(dump).toMatch(/cipher:\s+aes-xts-plain64/);
      expect(dump).toMatch(/sector:\s+4096 \[bytes\]/);
      expect(dump).toMatch(/PBKDF:\s+argon2id/);
      expect((t.partitions[2]!.size * 512) % 4096).toBe(0);
    });
    // the marker file was written into the root by AdditionalFiles (the booted system shows it below)
    expect(await fileContains(raw, MARKER)).toBe(false);
    // /boot and the ESP stay clear: the kernel is readable there
    await withPartitionMounted(raw, 2, async (boot) => {
      expect(readdirSync(boot).some((f) => f.startsWith('vmlinuz-'))).toBe(true);
      const cfg = readFileSync(join(boot, 'grub/grub.cfg'), 'utf8');
      const linux = cfg.split('\n').filter((l) => /^\s*linux\s/.test(l));
      expect(linux.length).toBeGreaterThan(0);
      for (const l of linux) {
        expect(l).toContain('root=/dev/mapper/root');
        expect(l).not.toContain('/dev/loop');
      }
    });
  });

  it('puts shim (signed by Microsoft), Debian\'s signed grub and MokManager on the ESP, and no fallback loader', async () => {
    const off = await partitionOffset(raw, 1);
    const listing = await output('mdir', ['-b', '-/', '-i', `${raw}@@${off}`, '::/'], { env: mtoolsEnv });
    expect(listing).toMatch(/::\/EFI\/BOOT\/BOOTX64\.EFI/i);
    expect(listing).toMatch(/::\/EFI\/BOOT\/grubx64\.efi/i);
    expect(listing).toMatch(/::\/EFI\/BOOT\/mmx64\.efi/i);
    expect(listing).not.toMatch(/fbx64/i);
    const shim = join(work, 'shim.efi');
    await run('mcopy', ['-n', '-i', `${raw}@@${off}`, '::/EFI/BOOT/BOOTX64.EFI', shim], { env: mtoolsEnv });
    expect(await output('sbverify', ['--list', shim])).toMatch(/Microsoft Corporation UEFI CA 2011|Microsoft Windows UEFI Driver Publisher/);
    expect(await fatFile(raw, 1, '/EFI/BOOT/grub.cfg')).toMatch(/^search --no-floppy --fs-uuid --set=root /m);
  });

  it('never writes the passphrase or the volume key anywhere: not in the log, the manifest, the disk or the ISO', async () => {
    // an ISO config keeps one package manifest per system (manifest-<n>-<name>.json), no manifest.json
    const manifests = readdirSync(image.imageDir).filter((f) => /^manifest(-.*)?\.json$/.test(f)).map((f) => join(image.imageDir, f));
    expect(manifests.length).toBeGreaterThan(0);
    for (const f of [image.log, ...manifests, raw, iso]) expect(await fileContains(f, PASSPHRASE), f).toBe(false);
    const log = readFileSync(image.log, 'utf8');
    const keyFile = /--volume-key-file (\S+)/.exec(log)?.[1];
    expect(keyFile).toBeDefined();
    expect(existsSync(keyFile!)).toBe(false); // the tmpfs key file was removed right after luksFormat
    expect(log).toMatch(/luks rootfs: \d+ bytes encrypted in \d+ extent/);
  });

  it('boots with Secure Boot enforced (Microsoft keys): asks on every console, refuses a wrong passphrase, unlocks the root on dm-crypt', async () => {
    // luks.json boots with console=ttyS1 as well: the prompt must reach it, and an answer typed there unlocks
    const second = join(work, 'luks-ttyS1.sock');
    await withGuest({ name: 'luks-secureboot', firmware: 'uefi', secureBoot: 'ms', disk: raw, diskFormat: 'raw', extraArgs: serialPortArgs('ser1', second) }, async (g) => {
      const ttyS1 = await SerialPort.connect(second);
      try {
        await g.waitFor('Please unlock disk root: ', BOOT_TIMEOUT);
        await ttyS1.waitFor('Please unlock disk root: ', 60_000);
        g.send('not-the-passphrase\n');
        await g.waitFor(/cryptsetup: ERROR: root: cryptsetup failed, bad password/, 5 * 60_000);
        await g.waitFor('Please unlock disk root: ', 5 * 60_000);
        await ttyS1.waitFor(/Please unlock disk root: [^]*Please unlock disk root: /, 60_000);
        ttyS1.send(`${PASSPHRASE}\n`);
        await g.waitFor('cryptsetup: root: set up successfully', 5 * 60_000);
      } finally {
        ttyS1.close();
      }
      await g.login('root', ROOT_PASSWORD, BOOT_TIMEOUT);
      expect(g.console).not.toContain(PASSPHRASE); // typed without echo
      await expectSecureBoot(g);
      expect(await g.check('findmnt -n -o SOURCE /')).toBe('/dev/mapper/root');
      expect(await g.check('lsblk -n -o TYPE /dev/mapper/root')).toBe('crypt');
      expect(await g.check('lsblk -n -d -o FSTYPE /dev/vda3')).toBe('crypto_LUKS');
      expect(await g.check('cat /etc/kiln/marker.txt')).toBe(MARKER);
      expect(await g.check('timeout 600 systemctl is-system-running --wait; systemctl --failed --no-legend', 700_000)).toMatch(/running|degraded/);
    });
  });
});

describe('verity root on systemd-boot and a UKI signed with the user\'s key (verity-uki.json)', () => {
  let raw: string;
  let espOffset: number;
  let ukiName: string;

  beforeAll(async () => {
    ({ raw, espOffset } = await buildVerityUki());
    const linux = await output('mdir', ['-b', '-i', `${raw}@@${espOffset}`, '::/EFI/Linux'], { env: mtoolsEnv });
    ukiName = linux.split('\n').map((l) => l.trim().split('/').pop()!).find((f) => /\.efi$/i.test(f))!;
    if (!ukiName) throw new Error(`no UKI in EFI/Linux on the ESP of ${raw}:\n${linux}`);
  });

  const fromEsp = async (path: string, name: string) => {
    const out = join(work, name);
    await run('mcopy', ['-n', '-i', `${raw}@@${espOffset}`, `::${path}`, out], { env: mtoolsEnv });
    return out;
  };

  it('puts systemd-boot and the UKI on the ESP, both signed with the configured key; the UKI carries the root hash', async () => {
    const sdboot = await fromEsp('/EFI/BOOT/BOOTX64.EFI', 'sd-boot.efi');
    const uki = await fromEsp(`/EFI/Linux/${ukiName}`, 'uki.efi');
    for (const f of [sdboot, uki]) await run('sbverify', ['--cert', SNAKEOIL_CERT, f]);
    const sections = await output('objdump', ['-h', uki]);
    for (const s of ['.osrel', '.cmdline', '.linux', '.initrd']) expect(sections).toContain(s);
    const cmdlineFile = join(work, 'cmdline');
    await run('objcopy', ['-O', 'binary', '--only-section=.cmdline', uki, cmdlineFile]);
    const cmdline = readFileSync(cmdlineFile, 'utf8').replace(/\0+$/, '');
    expect(cmdline).toMatch(/^root=\/dev\/mapper\/root ro console=tty0 console=ttyS0,115200 roothash=[0-9a-f]{64} systemd\.verity_root_data=UUID=\S+ systemd\.verity_root_hash=UUID=\S+/);
    expect(await fatFile(raw, 1, '/loader/loader.conf')).toMatch(/^timeout 0$/m);
    // the hash partition verifies the root offline (veritysetup verify needs no device-mapper)
    const rootHash = /roothash=([0-9a-f]{64})/.exec(cmdline)![1]!;
    const t = await partitionTable(raw);
    expect(t.partitions[1]!.type.toLowerCase()).toBe('2c7357ed-ebd2-46d9-aec1-23d437ec2bf5');
    await withPartitionDevice(raw, 3, (data) => withPartitionDevice(raw, 2, (hash) => run('veritysetup', ['verify', data, hash, rootHash])));
    writeFileSync(join(work, 'roothash'), rootHash);
    // the tree covers the root filesystem, shrunk to its content, not the whole partition
    const dump = await withPartitionDevice(raw, 2, (hash) => output('veritysetup', ['dump', hash]));
    const dataBlocks = Number(/Data blocks:\s*(\d+)/.exec(dump)![1]);
    const fsBytes = await withPartitionDevice(raw, 3, async (data) => extSizeBytes(await output('dumpe2fs', ['-h', data])));
    expect(dataBlocks * 4096).toBe(fsBytes);
    expect(dataBlocks * 4096).toBeLessThan(t.partitions[2]!.size * 512);
    writeFileSync(join(work, 'data-blocks'), String(dataBlocks));
  });

  it('boots with Secure Boot enforced on the snakeoil keys: root read-only on dm-verity, /var writable, / not', async () => {
    await withGuest({ name: 'verity-secureboot', firmware: 'uefi', secureBoot: 'snakeoil', disk: raw, diskFormat: 'raw' }, async (g) => {
      await g.login('root', ROOT_PASSWORD, BOOT_TIMEOUT);
      await expectSecureBoot(g);
      expect(await g.check('findmnt -n -o SOURCE,OPTIONS /')).toMatch(/^\/dev\/mapper\/root\s+ro[,\s]/);
      expect(await g.check('dmsetup table root')).toMatch(/ verity 1 /);
      const status = await g.check('veritysetup status root');
      expect(status).toMatch(/status:\s+verified/);
      // the booted system maps exactly the hashed blocks (the count comes from the verity superblock)
      expect(Number(/size:\s+(\d+) sectors/.exec(status)?.[1])).toBe(Number(readFileSync(join(work, 'data-blocks'), 'utf8')) * 8);
      expect((await g.exec('touch /kiln-rw-test')).code).not.toBe(0);
      await g.check('echo ok > /var/kiln-rw-test && cat /var/kiln-rw-test');
      expect(await g.check('findmnt -n -o FSTYPE /var')).toBe('overlay');
      expect(await g.check('findmnt -n -o FSTYPE /tmp')).toBe('tmpfs');
      expect(await g.check('cat /proc/cmdline')).toContain(`roothash=${readFileSync(join(work, 'roothash'), 'utf8')}`);
      expect(await g.check('timeout 600 systemctl is-system-running --wait; systemctl --failed --no-legend', 700_000)).toMatch(/running|degraded/);
      expect((await g.exec('systemctl --failed --no-legend | grep -c .')).output.trim()).toBe('0');
    });
  });
});

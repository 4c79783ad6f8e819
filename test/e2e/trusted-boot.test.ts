/**
 * Trusted boot, end to end (docs/trusted-boot.md). Two images, each built once and checked many ways:
 *
 * - luks.json (Debian): an encrypted root (LUKS2) behind the distribution's Secure Boot chain (shim →
 *   signed grub → signed kernel), with an ISO installer. From outside: LUKS2 header on the root
 *   partition, no byte of a marker file the build wrote into the root anywhere on the disk, no
 *   passphrase in the log. Booted with Secure Boot enforced on Microsoft's keys: the passphrase
 *   prompt, a wrong passphrase refused, the right one unlocks, the root on dm-crypt. Installed from
 *   its ISO onto a larger disk: new partition GUIDs, still unlocks, the root grown.
 * - verity-uki.json (Debian): a dm-verity root, systemd-boot and a UKI both signed with Debian's
 *   snakeoil test key. Booted with Secure Boot enforced on the snakeoil keys: read-only root on
 *   dm-verity, /var writable; one flipped byte of the root partition → a verity error; the firmware
 *   refuses the UKI unsigned and signed with another key, and boots the signed UKI directly.
 *
 * - azl-luks.json (Azure Linux 3.0 from the offline test repository, dracut): an encrypted root
 *   unlocked by dracut's crypt module (systemd-cryptsetup, rd.luks.name=): the same outside checks,
 *   a wrong passphrase refused, the right one unlocks.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { output, run } from '../../src/core/exec.js';
import { azlTestRepo } from './lib/azl-repo.js';
import { buildImage, type BuiltImage } from './lib/images.js';
import { fatFile, fileContains, partitionOffset, partitionTable, withPartitionDevice, withPartitionMounted } from './lib/inspect.js';
import { SerialPort, serialPortArgs, SNAKEOIL_CERT, withGuest, type Guest } from './lib/qemu.js';
import { e2eWorkDir } from './lib/workdir.js';

const FIXTURES = 'test/fixtures/e2e/trusted-boot';
const PASSPHRASE = 'kiln-LUKS-pass-7'; // luks.json
const ROOT_PASSWORD = 'kiln-root-Pa55';
const MARKER = readFileSync(join(import.meta.dirname, '../fixtures/e2e/trusted-boot/files/marker.txt'), 'utf8').trim();
const BOOT_TIMEOUT = 20 * 60_000;
const SECURE_BOOT_VAR = '/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c';
const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(e2eWorkDir(), 'trusted-boot-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Secure Boot as the guest sees it: the firmware variable and the kernel's lockdown. */
async function expectSecureBoot(g: Guest): Promise<void> {
  // the variable's value is its last byte (the first four are attributes)
  expect((await g.check(`od -An -t u1 ${SECURE_BOOT_VAR}`)).split(/\s+/).pop()).toBe('1');
  expect(await g.check('cat /sys/kernel/security/lockdown')).toMatch(/\[(integrity|confidentiality)\]/);
}

/** A sparse copy of a raw disk to modify. */
async function copyDisk(raw: string, name: string): Promise<string> {
  const copy = join(work, `${name}.raw`);
  await run('cp', ['--sparse=always', raw, copy]);
  return copy;
}

async function partUuids(disk: string): Promise<string[]> {
  return (await partitionTable(disk)).partitions.map((p) => p.uuid!.toLowerCase());
}

describe('encrypted root behind the distribution\'s Secure Boot chain (luks.json)', () => {
  let image: BuiltImage;
  let raw: string;
  let iso: string;

  beforeAll(async () => {
    image = await buildImage({ config: `${FIXTURES}/luks.json`, args: ['--keep-raw'] });
    raw = join(image.imageDir, 'luks-1.raw');
    iso = join(image.imageDir, 'luks.iso');
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
    for (const f of [image.log, image.manifest, raw, iso]) expect(await fileContains(f, PASSPHRASE), f).toBe(false);
    const log = readFileSync(image.log, 'utf8');
    const keyFile = /--volume-key-file (\S+)/.exec(log)?.[1];
    expect(keyFile).toBeDefined();
    expect(existsSync(keyFile!)).toBe(false); // the tmpfs key file was removed right after luksFormat
    expect(log).toMatch(/luks rootfs: \d+ bytes encrypted in \d+ extent/);
  });

  it('boots with Secure Boot enforced (Microsoft keys): asks on every console, refuses a wrong passphrase, unlocks the root on dm-crypt', async () => {
    // luks.json boots with console=ttyS1 as well: the prompt must reach it, and an answer typed there unlocks
    const second = join(work, 'luks-ttyS1.sock');
    await withGuest({ name: 'luks-secureboot', firmware: 'uefi', secureBoot: 'microsoft', disk: raw, diskFormat: 'raw', extraArgs: serialPortArgs('ser1', second) }, async (g) => {
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
      expect(await g.check('lsblk -n -o FSTYPE /dev/vda3')).toBe('crypto_LUKS');
      expect(await g.check('cat /etc/kiln/marker.txt')).toBe(MARKER);
      expect(await g.check('timeout 600 systemctl is-system-running --wait; systemctl --failed --no-legend', 700_000)).toMatch(/running|degraded/);
    });
  });

  it('installs from its ISO onto a larger disk: new partition GUIDs, the root still unlocks and has grown', async () => {
    const target = join(work, 'luks-installed.raw');
    await run('truncate', ['-s', '3G', target]);
    await withGuest({ name: 'luks-iso-install', firmware: 'uefi', cdrom: iso, extraDisks: [{ path: target, format: 'raw' }], memoryMiB: 1536 }, async (g) => {
      const m = await g.waitFor(/KILN-INSTALL-(DONE|FAILED)[^\n]*/, BOOT_TIMEOUT);
      if (m[1] === 'FAILED') throw new Error(`the installer failed: ${m[0]}`);
      await g.waitFor('Kiln installer: reboot', 120_000);
    });
    const oldUuids = await partUuids(raw);
    const newUuids = await partUuids(target);
    for (const u of newUuids) expect(oldUuids).not.toContain(u);
    await withGuest({ name: 'luks-installed', firmware: 'uefi', secureBoot: 'microsoft', disk: target, writableDisk: true, diskFormat: 'raw' }, async (g) => {
      await g.waitFor('Please unlock disk root: ', BOOT_TIMEOUT);
      g.send(`${PASSPHRASE}\n`);
      await g.login('root', ROOT_PASSWORD, BOOT_TIMEOUT);
      expect(await g.check('findmnt -n -o SOURCE /')).toBe('/dev/mapper/root');
      expect((await g.check('blkid -s PARTUUID -o value /dev/vda3')).toLowerCase()).toBe(newUuids[2]);
      // the partition grew to the 3 GiB disk and systemd grew the filesystem inside the LUKS volume
      await g.check('timeout 600 systemctl is-system-running --wait || true', 700_000);
      expect(Number(await g.check('df -B1 --output=size / | tail -n1'))).toBeGreaterThan(2.3 * 1024 ** 3);
    });
  });
});

describe('verity root on systemd-boot and a UKI signed with the user\'s key (verity-uki.json)', () => {
  let image: BuiltImage;
  let raw: string;
  let espOffset: number;
  let ukiName: string;

  beforeAll(async () => {
    // the snakeoil key ships encrypted: its passphrase comes from the environment, never the config
    process.env.KILN_SIGNING_KEY_PASSPHRASE = 'snakeoil';
    image = await buildImage({ config: `${FIXTURES}/verity-uki.json` });
    raw = join(image.imageDir, 'verity.raw');
    espOffset = await partitionOffset(raw, 1);
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
  });

  it('boots with Secure Boot enforced on the snakeoil keys: root read-only on dm-verity, /var writable, / not', async () => {
    await withGuest({ name: 'verity-secureboot', firmware: 'uefi', secureBoot: 'snakeoil', disk: raw, diskFormat: 'raw' }, async (g) => {
      await g.login('root', ROOT_PASSWORD, BOOT_TIMEOUT);
      await expectSecureBoot(g);
      expect(await g.check('findmnt -n -o SOURCE,OPTIONS /')).toMatch(/^\/dev\/mapper\/root\s+ro[,\s]/);
      expect(await g.check('dmsetup table root')).toMatch(/ verity 1 /);
      expect(await g.check('veritysetup status root')).toMatch(/status:\s+verified/);
      expect((await g.exec('touch /kiln-rw-test')).code).not.toBe(0);
      await g.check('echo ok > /var/kiln-rw-test && cat /var/kiln-rw-test');
      expect(await g.check('findmnt -n -o FSTYPE /var')).toBe('overlay');
      expect(await g.check('findmnt -n -o FSTYPE /tmp')).toBe('tmpfs');
      expect(await g.check('cat /proc/cmdline')).toContain(`roothash=${readFileSync(join(work, 'roothash'), 'utf8')}`);
      expect(await g.check('timeout 600 systemctl is-system-running --wait; systemctl --failed --no-legend', 700_000)).toMatch(/running|degraded/);
      expect((await g.exec('systemctl --failed --no-legend | grep -c .')).output.trim()).toBe('0');
    });
  });

  it('does not boot a root with one flipped byte: the kernel reports a verity error', async () => {
    const copy = await copyDisk(raw, 'verity-flipped');
    // a byte of the ext4 group descriptors (block 1 of the root partition): read by mount, not by blkid,
    // which still finds the filesystem by its UUID in the untouched superblock
    const at = (await partitionOffset(copy, 3)) + 4096 + 8;
    const { open } = await import('node:fs/promises');
    const fh = await open(copy, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, at);
    await fh.close();
    const rootHash = readFileSync(join(work, 'roothash'), 'utf8');
    const offline = await withPartitionDevice(copy, 3, (data) => withPartitionDevice(copy, 2, (hash) => run('veritysetup', ['verify', data, hash, rootHash], { allowFailure: true })));
    expect(offline.code).not.toBe(0);
    await withGuest({ name: 'verity-flipped', firmware: 'uefi', secureBoot: 'snakeoil', disk: copy, diskFormat: 'raw' }, async (g) => {
      await g.waitFor(/device-mapper: verity: [\d:]+: data block \d+ is corrupted/, BOOT_TIMEOUT);
      await g.waitFor(/Failed to mount \/dev\/mapper\/root|\(initramfs\)/, 5 * 60_000);
      expect(g.console).not.toMatch(/login: $/m);
    });
    rmSync(copy, { force: true });
  });

  it('the firmware refuses the UKI unsigned and signed with another key, and boots the signed UKI directly', async () => {
    const signed = await fromEsp(`/EFI/Linux/${ukiName}`, 'uki-signed.efi');
    const unsigned = join(work, 'uki-unsigned.efi');
    await run('sbattach', ['--remove', signed], { allowFailure: true }); // in place; keep the signed copy first
    copyFileSync(signed, unsigned);
    const resigned = join(work, 'uki-other-key.efi');
    const key = join(work, 'other.key');
    const cert = join(work, 'other.crt');
    await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-x509', '-days', '1', '-subj', '/CN=not in db/', '-out', cert]);
    await run('sbsign', ['--key', key, '--cert', cert, '--output', resigned, unsigned]);
    const direct = await fromEsp(`/EFI/Linux/${ukiName}`, 'uki-direct.efi');

    for (const [name, binary] of [['unsigned', unsigned], ['other-key', resigned]] as const) {
      const copy = await copyDisk(raw, `verity-${name}`);
      await run('mcopy', ['-o', '-i', `${copy}@@${espOffset}`, binary, '::/EFI/BOOT/BOOTX64.EFI'], { env: mtoolsEnv });
      await withGuest({ name: `verity-refused-${name}`, firmware: 'uefi', secureBoot: 'snakeoil', disk: copy, diskFormat: 'raw', network: false }, async (g) => {
        await g.waitFor(/BdsDxe: failed to load Boot\d+ .*: (Access Denied|Security Violation)/, BOOT_TIMEOUT);
        expect(g.console).not.toMatch(/Linux version/);
      });
      rmSync(copy, { force: true });
    }

    const copy = await copyDisk(raw, 'verity-direct');
    await run('mcopy', ['-o', '-i', `${copy}@@${espOffset}`, direct, '::/EFI/BOOT/BOOTX64.EFI'], { env: mtoolsEnv });
    await withGuest({ name: 'verity-direct-uki', firmware: 'uefi', secureBoot: 'snakeoil', disk: copy, diskFormat: 'raw' }, async (g) => {
      await g.login('root', ROOT_PASSWORD, BOOT_TIMEOUT);
      await expectSecureBoot(g);
      expect(await g.check('findmnt -n -o SOURCE /')).toBe('/dev/mapper/root');
    });
    rmSync(copy, { force: true });
  });
});

describe('encrypted root on Azure Linux 3.0, unlocked by dracut (azl-luks.json, offline test repository)', () => {
  let image: BuiltImage;
  let raw: string;

  beforeAll(async () => {
    const repo = await azlTestRepo();
    // the test repository is signed with its own key: trusted the way a re-signed mirror is
    const trust = join(work, 'trusted-keys');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(trust, 'azurelinux'), { recursive: true });
    writeFileSync(join(trust, 'azurelinux', 'RPM-GPG-KEY-kiln-test'), readFileSync(repo.keyFile));
    process.env.KILN_TRUSTED_KEYS = trust;
    image = await buildImage({ config: `${FIXTURES}/azl-luks.json`, args: ['--mirror', repo.url] });
    raw = join(image.imageDir, 'azl-luks.raw');
  });

  it('has a LUKS2 root with no plaintext on the disk; dracut has the crypt module; grub boots /dev/mapper/root', async () => {
    await withPartitionDevice(raw, 3, async (dev) => expect(await output('cryptsetup', ['luksDump', dev])).toMatch(/^Version:\s+2$/m));
    expect(await fileContains(raw, MARKER)).toBe(false);
    expect(await fileContains(raw, PASSPHRASE)).toBe(false);
    await withPartitionMounted(raw, 2, async (boot) => {
      const cfg = readFileSync(join(boot, 'grub2/grub.cfg'), 'utf8');
      expect(cfg).toMatch(/root=\/dev\/mapper\/root .*rd\.luks\.name=[0-9a-f-]{36}=root/);
      const initramfs = readdirSync(boot).find((f) => f.startsWith('initramfs-'))!;
      const listing = await output('sh', ['-c', `zstd -dc '${join(boot, initramfs)}' | cpio -t 2>/dev/null`]);
      expect(listing).toMatch(/systemd-cryptsetup/);
      expect(listing).toMatch(/dm-crypt\.ko/);
    });
  });

  it('asks for the passphrase at boot, refuses a wrong one, unlocks with the right one', async () => {
    await withGuest({ name: 'azl-luks', firmware: 'uefi', disk: raw, diskFormat: 'raw' }, async (g) => {
      await g.waitFor(/Please enter passphrase for disk/, BOOT_TIMEOUT);
      g.send('not-the-passphrase\n');
      await g.waitFor(/Passphrase incorrect|Failed to activate with specified passphrase/, 5 * 60_000);
      await g.waitFor(/Please enter passphrase for disk/, 5 * 60_000);
      g.send(`${PASSPHRASE}\n`);
      await g.login('root', ROOT_PASSWORD, BOOT_TIMEOUT);
      expect(await g.check('findmnt -n -o SOURCE /')).toBe('/dev/mapper/root');
      expect(await g.check('lsblk -n -o TYPE /dev/mapper/root')).toBe('crypt');
      expect(await g.check('cat /etc/kiln/marker.txt')).toBe(MARKER);
      expect(await g.check('. /etc/os-release; echo $ID')).toBe('azurelinux');
    });
  });
});

/**
 * Trusted boot, end to end, full tier (vitest.config.ts FULL_ONLY; trusted-boot.test.ts proves each
 * feature once in CI, on the same two Debian images, built once per run for both files):
 *
 * - luks.json: installed from its ISO onto a larger disk: new partition GUIDs, still unlocks with
 *   Secure Boot enforced, the root grown.
 * - verity-uki.json: one flipped byte of the root partition → a verity error; the firmware refuses
 *   the UKI unsigned and signed with another key, and boots the signed UKI directly (no systemd-boot).
 * - azl-luks.json (Azure Linux 3.0 from the offline test repository, dracut): an encrypted root
 *   unlocked by dracut's crypt module (systemd-cryptsetup, rd.luks.name=): the outside checks, a
 *   wrong passphrase refused, the right one unlocks.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { output, run } from '../../src/core/exec.js';
import { azlTestRepo } from './lib/azl-repo.js';
import { buildImage, type BuiltImage } from './lib/images.js';
import { fileContains, partitionOffset, withPartitionDevice, withPartitionMounted } from './lib/inspect.js';
import { withGuest } from './lib/qemu.js';
import { BOOT_TIMEOUT, buildLuks, buildVerityUki, copyDisk, expectSecureBoot, FIXTURES, MARKER, mtoolsEnv, partUuids, PASSPHRASE, ROOT_PASSWORD } from './lib/trusted-boot.js';
import { e2eWorkDir } from './lib/workdir.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(e2eWorkDir(), 'trusted-boot-full-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('encrypted root behind the distribution\'s Secure Boot chain, installed from its ISO (luks.json)', () => {
  let raw: string;
  let iso: string;

  beforeAll(async () => {
    ({ raw, iso } = await buildLuks());
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
    await withGuest({ name: 'luks-installed', firmware: 'uefi', secureBoot: 'ms', disk: target, writableDisk: true, diskFormat: 'raw' }, async (g) => {
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

describe('verity root and a signed UKI under attack (verity-uki.json)', () => {
  let raw: string;
  let espOffset: number;
  let ukiName: string;
  let rootHash: string;

  beforeAll(async () => {
    ({ raw, espOffset } = await buildVerityUki());
    const linux = await output('mdir', ['-b', '-i', `${raw}@@${espOffset}`, '::/EFI/Linux'], { env: mtoolsEnv });
    ukiName = linux.split('\n').map((l) => l.trim().split('/').pop()!).find((f) => /\.efi$/i.test(f))!;
    if (!ukiName) throw new Error(`no UKI in EFI/Linux on the ESP of ${raw}:\n${linux}`);
    // the root hash the signed UKI carries (trusted-boot.test.ts checks the command line as a whole)
    const uki = join(work, 'uki-for-roothash.efi');
    await run('mcopy', ['-n', '-i', `${raw}@@${espOffset}`, `::/EFI/Linux/${ukiName}`, uki], { env: mtoolsEnv });
    await run('objcopy', ['-O', 'binary', '--only-section=.cmdline', uki, join(work, 'cmdline')]);
    rootHash = /roothash=([0-9a-f]{64})/.exec(readFileSync(join(work, 'cmdline'), 'utf8'))![1]!;
  });

  const fromEsp = async (path: string, name: string) => {
    const out = join(work, name);
    await run('mcopy', ['-n', '-i', `${raw}@@${espOffset}`, `::${path}`, out], { env: mtoolsEnv });
    return out;
  };

  it('does not boot a root with one flipped byte: the kernel reports a verity error', async () => {
    const copy = await copyDisk(raw, work, 'verity-flipped');
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
      const copy = await copyDisk(raw, work, `verity-${name}`);
      await run('mcopy', ['-o', '-i', `${copy}@@${espOffset}`, binary, '::/EFI/BOOT/BOOTX64.EFI'], { env: mtoolsEnv });
      await withGuest({ name: `verity-refused-${name}`, firmware: 'uefi', secureBoot: 'snakeoil', disk: copy, diskFormat: 'raw', network: false }, async (g) => {
        await g.waitFor(/BdsDxe: failed to load Boot\d+ .*: (Access Denied|Security Violation)/, BOOT_TIMEOUT);
        expect(g.console).not.toMatch(/Linux version/);
      });
      rmSync(copy, { force: true });
    }

    const copy = await copyDisk(raw, work, 'verity-direct');
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
      // systemd-cryptsetup says why only in the journal (checked once logged in); the console asks again
      await g.waitFor(/Please enter passphrase for disk/, 5 * 60_000);
      g.send(`${PASSPHRASE}\n`);
      await g.login('root', ROOT_PASSWORD, BOOT_TIMEOUT);
      expect(await g.check('journalctl -b --no-pager -o cat | grep -E "Failed to activate with specified passphrase|Passphrase incorrect" | head -n1')).not.toBe('');
      expect(await g.check('findmnt -n -o SOURCE /')).toBe('/dev/mapper/root');
      expect(await g.check('lsblk -n -o TYPE /dev/mapper/root')).toBe('crypt');
      expect(await g.check('cat /etc/kiln/marker.txt')).toBe(MARKER);
      expect(await g.check('. /etc/os-release; echo $ID')).toBe('azurelinux');
    });
  });
});

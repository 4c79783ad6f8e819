/**
 * Encryption, Verity, BootLoader and SecureBoot: the combinations that cannot make a bootable,
 * trustworthy image (docs/trusted-boot.md), each at its JSON path with what to do.
 *
 * Severity follows docs/config.md: a Kiln extension (Verity, BootLoader, SecureBoot) used wrongly
 * is an error; so is an empty Encryption.Password (a deliberate difference: Kiln never prompts,
 * and a LUKS volume anyone can open protects nothing). Upstream's own Encryption key in a layout
 * Kiln cannot boot (the root of grub's /boot encrypted ...) is a warning `kiln build` refuses
 * (ctx.kiln), since upstream's validator accepts it. Upstream's Encryption rules (a root mount,
 * the "dmroot" flag) are in rules/system.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { distroFor } from '../../distro/catalog/index.js';
import { verityHashBytes } from '../../disk/layers/verity.js';
import type { Partition, SystemConfig } from '../model.js';
import type { Segment } from '../findings.js';
import { didYouMean } from '../suggest.js';
import type { RuleContext } from './context.js';

const MIB = 1024 * 1024;
/** Smallest ESP Kiln accepts for a UKI (a Debian kernel + initramfs is 40-70 MiB). */
export const UKI_MIN_ESP_MIB = 64;
const LAYERED_FS = new Set(['ext2', 'ext3', 'ext4', 'xfs']);

interface Located {
  p: Partition;
  at: Segment[];
  /** Size in MiB when it can be worked out (End 0 resolved). */
  sizeMiB?: number;
}

export function checkTrustedBoot(ctx: RuleContext): void {
  const located = locate(ctx);
  const isIso = (ctx.config.Disks ?? []).some((d) => d.TargetDisk !== undefined || (d.Artifacts ?? []).some((a) => a.Type === 'iso'));
  ctx.config.SystemConfigs.forEach((sc, si) => checkSystemConfig(ctx, sc, ['SystemConfigs', si], located, isIso));
  checkDmrootFlags(ctx, located);
}

function locate(ctx: RuleContext): Map<string, Located> {
  const out = new Map<string, Located>();
  (ctx.config.Disks ?? []).forEach((disk, di) => {
    const parts = disk.Partitions ?? [];
    parts.forEach((p, pi) => {
      const next = parts[pi + 1];
      const end = p.End !== 0 ? p.End : next ? next.Start : disk.MaxSize;
      out.set(p.ID, { p, at: ['Disks', di, 'Partitions', pi], ...(end !== undefined && end > p.Start ? { sizeMiB: end - p.Start } : {}) });
    });
  });
  return out;
}

function checkSystemConfig(ctx: RuleContext, sc: SystemConfig, at: Segment[], parts: Map<string, Located>, isIso: boolean): void {
  const settings = sc.PartitionSettings ?? [];
  const rootIndex = settings.findIndex((s) => s.MountPoint === '/');
  const root = rootIndex >= 0 ? parts.get(settings[rootIndex]!.ID) : undefined;
  const encrypted = sc.Encryption?.Enable === true;
  const verity = sc.Verity?.Enable === true;
  const loader = sc.BootLoader ?? 'grub';
  const uki = loader === 'uki' || loader === 'systemd-boot';
  const efi = sc.BootType === 'efi';
  const decl = distroFor(sc);

  if (encrypted) {
    if (!sc.Encryption?.Password?.trim()) {
      ctx.report([...at, 'Encryption', 'Password'], 'an encrypted root needs a passphrase, and Encryption.Password is empty or missing', 'set the passphrase asked for at boot (it is never written into the image or the log)');
    }
    if (loader === 'grub' && !settings.some((s) => s.MountPoint === '/boot')) {
      ctx.kiln([...at, 'Encryption', 'Enable'], 'grub cannot read an encrypted root, so /boot (kernel, initramfs, grub.cfg) must be a partition of its own', 'add an ext4 partition of 256 MiB or more mounted at "/boot" (it stays unencrypted, as the ESP does), or use "BootLoader": "uki"');
    }
  }
  if (encrypted && verity) {
    ctx.report([...at, 'Verity', 'Enable'], 'Encryption and Verity on the same root are not supported', 'choose one: an encrypted root (Encryption) or a read-only verified root (Verity)');
  }
  // upstream's rules cover an encrypted root's mount and flag (rules/system.ts); Verity is Kiln's
  if (verity && !encrypted && rootIndex < 0 && settings.length > 0) {
    ctx.report([...at, 'Verity', 'Enable'], 'Verity applies to the root, but no partition is mounted at "/"', 'add a PartitionSetting with "MountPoint": "/"');
  }
  if ((encrypted || verity) && root) {
    const what = encrypted ? 'an encrypted' : 'a verity';
    // an extension used wrongly is an error; upstream's Encryption in a layout Kiln cannot build, a refused warning
    const refuse = (where: Segment[], message: string, hint: string) => (verity ? ctx.report(where, message, hint) : ctx.kiln(where, message, hint));
    if (verity && !root.p.Flags?.includes('dmroot')) {
      ctx.report([...root.at, 'Flags'], `the root partition "${root.p.ID}" of a verity root needs the "dmroot" flag (as upstream's ReadOnlyVerityRoot did)`, 'add "dmroot" to its Flags');
    }
    if (!LAYERED_FS.has(root.p.FsType)) {
      refuse([...root.at, 'FsType'], `${what} root needs a Linux filesystem, not "${root.p.FsType}"`, 'use "FsType": "ext4"');
    }
    if (isIso) {
      settings.forEach((s, i) => {
        if (s.MountIdentifier === 'partuuid' && s.MountPoint !== '/') {
          refuse([...at, 'PartitionSettings', i, 'MountIdentifier'], `the ISO installer gives the disk new partition GUIDs but cannot rewrite /etc/fstab inside ${what} root, so a PARTUUID there would name a partition that no longer exists`, 'remove MountIdentifier (beside an encrypted or verity root the default is "uuid", which survives the installer), or use "partlabel"');
        }
      });
    }
  }

  if (verity) checkVerity(ctx, sc, at, parts, root, rootIndex, uki);

  if (sc.BootLoader !== undefined && uki) {
    if (!efi) ctx.report([...at, 'BootLoader'], `a unified kernel image is an EFI program: BootLoader "${loader}" needs "BootType": "efi"`, 'set "BootType": "efi", or remove BootLoader');
    if (!decl.systemdEfi) ctx.report([...at, 'BootLoader'], `${decl.prettyName} has no systemd EFI stub in Kiln's catalog, so BootLoader "${loader}" cannot be built`, 'use "BootLoader": "grub"');
    const esp = [...parts.values()].find((x) => x.p.Flags?.includes('esp'));
    if (esp?.sizeMiB !== undefined && esp.sizeMiB < UKI_MIN_ESP_MIB) {
      ctx.report([...esp.at, 'End'], `the ESP (${esp.sizeMiB} MiB) is too small for a unified kernel image (kernel and initramfs in one file, 40-70 MiB for Debian)`, `make the ESP at least ${UKI_MIN_ESP_MIB} MiB, better 256 MiB`);
    }
    if (sc.EnableGrubMkconfig === true) {
      ctx.report([...at, 'EnableGrubMkconfig'], `EnableGrubMkconfig has no effect with BootLoader "${loader}" (there is no grub)`, 'remove EnableGrubMkconfig', 'warning');
    }
  }

  checkSecureBoot(ctx, sc, at, loader, efi);
}

function checkVerity(ctx: RuleContext, sc: SystemConfig, at: Segment[], parts: Map<string, Located>, root: Located | undefined, rootIndex: number, uki: boolean): void {
  const v = sc.Verity!;
  const here = [...at, 'Verity'];
  if (!uki) {
    ctx.report([...at, sc.BootLoader === undefined ? 'Verity' : 'BootLoader'], 'a verity root hash protects only when the firmware verifies the command line that carries it, and grub.cfg is not verified: Verity needs "BootLoader": "uki" or "systemd-boot"', 'set "BootLoader": "uki" (the signed UKI carries the root hash)');
  }
  const rootSetting = rootIndex >= 0 ? sc.PartitionSettings![rootIndex]! : undefined;
  const options = (rootSetting?.MountOptions ?? '').split(',').map((o) => o.trim());
  if (options.includes('rw')) {
    ctx.report([...at, 'PartitionSettings', rootIndex, 'MountOptions'], 'a verity root is read-only, but its MountOptions ask for "rw"', 'remove "rw" (Kiln mounts it "ro"); give writable state its own partition (e.g. /var) or Verity.TmpfsOverlays');
  }
  if (!v.HashPartition) {
    ctx.report(here, 'Verity needs HashPartition: the ID of the partition that receives the hash tree', 'add a partition for it (about 1/120 of the root\'s size, e.g. 32 MiB for 3 GiB) and name it in "HashPartition"');
    return;
  }
  const hash = parts.get(v.HashPartition);
  if (!hash) {
    ctx.report([...here, 'HashPartition'], `no partition has ID "${v.HashPartition}"`, didYouMean(v.HashPartition, [...parts.keys()]) ?? 'define the hash partition in Disks[].Partitions');
    return;
  }
  if (root && hash.p.ID === root.p.ID) {
    ctx.report([...here, 'HashPartition'], 'the hash tree cannot live on the root partition it protects', 'name a partition of its own');
    return;
  }
  const setting = (sc.PartitionSettings ?? []).findIndex((s) => s.ID === hash.p.ID && !!s.MountPoint);
  if (setting >= 0) {
    ctx.report([...at, 'PartitionSettings', setting, 'MountPoint'], `partition "${hash.p.ID}" holds the verity hash tree: it has no filesystem and cannot be mounted`, 'use "MountPoint": "" (or no PartitionSetting) for it');
  }
  if (hash.p.Flags?.some((f) => f === 'esp' || f === 'bios_grub' || f === 'grub' || f === 'dmroot')) {
    ctx.report([...hash.at, 'Flags'], `partition "${hash.p.ID}" holds the verity hash tree: it cannot also be ${hash.p.Flags.join('/')}`, 'give the hash tree a plain partition of its own');
  }
  if (root?.sizeMiB !== undefined && hash.sizeMiB !== undefined) {
    const need = Math.ceil(verityHashBytes(root.sizeMiB * MIB) / MIB);
    if (hash.sizeMiB < need) {
      ctx.report([...hash.at, 'End'], `the hash tree of the ${root.sizeMiB} MiB root needs ${need} MiB; partition "${hash.p.ID}" has ${hash.sizeMiB} MiB`, `make "${hash.p.ID}" at least ${need} MiB`);
    }
  }
  const seen = new Set<string>();
  (v.TmpfsOverlays ?? []).forEach((d, i) => {
    if (seen.has(d)) ctx.report([...here, 'TmpfsOverlays', i], `"${d}" is listed twice`, 'list each directory once');
    seen.add(d);
  });
}

function checkSecureBoot(ctx: RuleContext, sc: SystemConfig, at: Segment[], loader: string, efi: boolean): void {
  const sb = sc.SecureBoot;
  if (!sb) return;
  const here = [...at, 'SecureBoot'];
  const hasKeys = sb.SigningKey !== undefined || sb.SigningCertificate !== undefined;
  if (sb.Enable !== true) {
    if (hasKeys) ctx.report([...here, 'Enable'], 'SigningKey/SigningCertificate are set but SecureBoot.Enable is not true: nothing would be signed', 'set "Enable": true, or remove the keys');
    return;
  }
  if (!efi) {
    ctx.report([...here, 'Enable'], `Secure Boot is a UEFI feature, and SystemConfig "${sc.Name}" has ${sc.BootType ? `"BootType": "${sc.BootType}"` : 'no BootType'}`, 'set "BootType": "efi"');
    return;
  }
  const decl = distroFor(sc);
  if (!hasKeys) {
    if (loader !== 'grub') {
      ctx.report(here, `Kiln builds the unified kernel image itself, so no distribution has signed it: BootLoader "${loader}" with Secure Boot needs your signing key`, 'set SigningKey and SigningCertificate (a key whose certificate the firmware\'s db holds), or use "BootLoader": "grub" for the distribution\'s signed shim, grub and kernel');
    } else if (!decl.efi.shim) {
      ctx.report(here, `${decl.prettyName} has no signed shim in Kiln's catalog, so its Secure Boot chain cannot be built`, 'use BootLoader "uki" with SigningKey and SigningCertificate');
    }
    return;
  }
  if (loader === 'grub') {
    ctx.report([...here, 'SigningKey'], 'with grub, Secure Boot uses the distribution\'s signed shim, grub and kernel; Kiln signs only what it builds (a UKI, systemd-boot)', 'remove SigningKey and SigningCertificate, or use "BootLoader": "uki"');
  }
  for (const [key, marker, what] of [
    ['SigningKey', /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/, 'a PEM private key'],
    ['SigningCertificate', /-----BEGIN CERTIFICATE-----/, 'a PEM certificate'],
  ] as const) {
    const path = sb[key];
    if (path === undefined) {
      ctx.report([...here, key], `${key} is missing: signing needs both the key and its certificate`, `set "${key}"`);
      continue;
    }
    const abs = ctx.resolve(path);
    if (!ctx.exists(path)) {
      ctx.report([...here, key], `"${path}" does not exist`, `give ${what} (a path relative to the config file)`);
      continue;
    }
    let text = '';
    try {
      text = existsSync(abs) ? readFileSync(abs, 'utf8') : '';
    } catch {
      // unreadable: reported below
    }
    if (!marker.test(text)) ctx.report([...here, key], `"${path}" is not ${what}`, key === 'SigningKey' ? 'sbsign reads an unencrypted PEM key (openssl req -newkey rsa:2048 -nodes -keyout db.key -x509 -out db.crt)' : 'give the certificate in PEM form (openssl x509 -inform der -in db.cer -out db.crt)');
  }
}

/** "dmroot" marks the root partition of an encrypted or verity system, nothing else. */
function checkDmrootFlags(ctx: RuleContext, parts: Map<string, Located>): void {
  for (const { p, at } of parts.values()) {
    const fi = (p.Flags ?? []).indexOf('dmroot');
    if (fi < 0) continue;
    const users = ctx.config.SystemConfigs.filter((sc) => sc.PartitionSettings?.some((s) => s.ID === p.ID && s.MountPoint === '/') && (sc.Encryption?.Enable === true || sc.Verity?.Enable === true));
    if (users.length === 0) {
      // upstream accepts the flag alone; Kiln would silently do nothing with it
      ctx.kiln([...at, 'Flags', fi], `the "dmroot" flag marks the root partition of an encrypted (Encryption) or verity (Verity) system; partition "${p.ID}" is not one, so the flag does nothing`, 'remove "dmroot", or enable Encryption or Verity on the SystemConfig whose root it is');
    }
  }
}

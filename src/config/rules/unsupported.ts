/**
 * No silent no-ops: a key the schema accepts but the build does not apply is an error until it is
 * implemented (an image that quietly lacks its encryption, its verity root or its second disk is
 * worse than a build that refuses). `kiln validate` reports these like any other finding, and
 * `kiln build` refuses the config (exit 1) before it starts.
 *
 * When a key gets implemented, delete its check here (and its row in the unit test).
 */
import type { Segment } from '../findings.js';
import type { RuleContext } from './context.js';

const NOT_YET = 'Kiln does not apply it yet';

export function checkUnsupported(ctx: RuleContext): void {
  const disks = ctx.config.Disks ?? [];
  disks.forEach((disk, di) => {
    const at: Segment[] = ['Disks', di];
    if (di > 0) {
      ctx.report(at, `only Disks[0] is built; this disk would be ignored (${NOT_YET})`, 'build one disk per config: move this disk to a config of its own');
    }
    if (disk.BlockSize !== undefined && disk.BlockSize !== 0 && disk.BlockSize !== 512) {
      ctx.report([...at, 'BlockSize'], `disks with ${disk.BlockSize}-byte logical sectors are not built (${NOT_YET}: every image uses 512-byte sectors)`, 'remove BlockSize, or set it to 512');
    }
    if ((disk.RawBinaries ?? []).length > 0) {
      ctx.report([...at, 'RawBinaries'], `RawBinaries are not written to the disk (${NOT_YET})`, 'remove RawBinaries, or write the binary with a FinalizeImageScripts step');
    }
    (disk.Partitions ?? []).forEach((p, pi) => {
      const i = (p.Flags ?? []).indexOf('dmroot');
      if (i >= 0) {
        ctx.report([...at, 'Partitions', pi, 'Flags', i], `the "dmroot" flag (a device-mapper/verity root) is not applied (${NOT_YET})`, 'remove "dmroot" from Flags');
      }
    });
  });

  ctx.config.SystemConfigs.forEach((sc, si) => {
    const at: Segment[] = ['SystemConfigs', si];
    if (sc.Encryption?.Enable === true) {
      // the message never repeats the passphrase
      ctx.report([...at, 'Encryption', 'Enable'], `disk encryption (LUKS) is not applied (${NOT_YET}): the image would be built unencrypted`, 'remove Encryption, or set "Enable": false');
    }
    if (sc.IsKickStartBoot === true) {
      ctx.report([...at, 'IsKickStartBoot'], `kickstart installations are not built (${NOT_YET})`, 'remove IsKickStartBoot, or set it to false');
    }
    if (sc.IsIsoInstall === true) {
      ctx.report([...at, 'IsIsoInstall'], `IsIsoInstall is not applied (${NOT_YET}); an ISO is made from a config with a TargetDisk or an artifact of Type "iso"`, 'remove IsIsoInstall');
    }
    if ((sc.PreInstallScripts ?? []).length > 0) {
      ctx.report([...at, 'PreInstallScripts'], `PreInstallScripts are never run (${NOT_YET}; upstream runs them only for kickstart installations)`, 'use PostInstallScripts, or remove PreInstallScripts');
    }
    for (const key of Object.keys(sc.KernelOptions ?? {})) {
      if (key === 'default' || key.startsWith('_')) continue;
      ctx.report([...at, 'KernelOptions', key], `only KernelOptions.default is installed; kernel "${key}" would be ignored (${NOT_YET})`, `remove "${key}", or rename a comment to "_${key}"`);
    }
  });
}

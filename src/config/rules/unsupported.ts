/**
 * No silent no-ops: a key the schema (and upstream) accepts but Kiln's build does not apply is
 * refused until it is implemented — an image that quietly lacks what its config asks for is worse
 * than a build that stops. Upstream accepts these configs, so they are Kiln warnings: `kiln
 * validate` reports them (exit 0, or 1 with --strict), `kiln build` refuses the config (exit 1)
 * before any work. (More disks, RawBinaries and 4096-byte sectors are refused the same way by
 * disks.ts; Encryption, Verity and the "dmroot" flag are built, and only the layouts Kiln cannot
 * boot with them are refused, by trusted-boot.ts.)
 *
 * When a key gets implemented, delete its check here (and its row in the unit test).
 */
import type { Segment } from '../findings.js';
import type { RuleContext } from './context.js';

const NOT_YET = 'Kiln does not apply it yet';

export function checkUnsupported(ctx: RuleContext): void {
  ctx.config.SystemConfigs.forEach((sc, si) => {
    const at: Segment[] = ['SystemConfigs', si];
    if (sc.IsKickStartBoot === true) {
      ctx.kiln([...at, 'IsKickStartBoot'], `kickstart installations are not built (${NOT_YET})`, 'remove IsKickStartBoot, or set it to false');
    }
    if (sc.IsIsoInstall === true) {
      ctx.kiln([...at, 'IsIsoInstall'], `IsIsoInstall is not applied (${NOT_YET}); an ISO is made from a config with a TargetDisk or an artifact of Type "iso"`, 'remove IsIsoInstall');
    }
    if ((sc.PreInstallScripts ?? []).length > 0) {
      ctx.kiln([...at, 'PreInstallScripts'], `PreInstallScripts are never run (${NOT_YET}; upstream runs them only for kickstart installations)`, 'use PostInstallScripts, or remove PreInstallScripts');
    }
    for (const key of Object.keys(sc.KernelOptions ?? {})) {
      if (key === 'default' || key.startsWith('_')) continue;
      ctx.kiln([...at, 'KernelOptions', key], `only KernelOptions.default is installed; kernel "${key}" would be ignored (${NOT_YET})`, `remove "${key}", or rename it "_${key}" to keep it as a comment`);
    }
  });
}

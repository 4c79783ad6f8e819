/**
 * System configuration: every SystemConfig key applied to an installed root; what differs between
 * distributions is asked of the catalog entry (ctx.distro). Package caches and RemoveRpmDb are the
 * backend's last step (finishPackageState of each backend), after the manifest is taken.
 *
 * How the build pipeline uses this module (the format's order, see imageconfig.md):
 *   install packages (with `dpkgExcludes(sc)` dropped into the root BEFORE installing)
 *   → every step of `systemSteps` whose applies(ctx) is true, in order
 *   → runScripts(ctx, 'PostInstallScripts')
 *   → bootloader (kernel command line from `kernelCommandLine(sc, { rootPartuuid })`)
 *   → runScripts(ctx, 'FinalizeImageScripts')
 */
import { additionalFilesStep } from './steps/additional-files.js';
import { deviceLayersStep } from './steps/device-layers.js';
import { dpkgExcludesStep } from './steps/dpkg-excludes.js';
import { fstabStep } from './steps/fstab.js';
import { groupsStep } from './steps/groups.js';
import { hostKeysStep } from './steps/host-keys.js';
import { hostnameStep } from './steps/hostname.js';
import { machineIdStep } from './steps/machine-id.js';
import { networksStep } from './steps/networks.js';
import { selinuxStep } from './steps/selinux.js';
import { usersStep } from './steps/users.js';
import { logToFile } from '../core/log.js';
import type { SystemContext, SystemStep } from './types.js';

export type { SystemContext, SystemStep } from './types.js';
export { runScripts, type ScriptPhase } from './scripts.js';
export { kernelCommandLine, kernelCommandLineSettings, type CmdlineOptions } from './render/cmdline.js';
export { dpkgExcludes, DPKG_EXCLUDES_FILE } from './render/dpkg-excludes.js';
export { renderFstab } from './render/fstab.js';

/**
 * Ordered: groups before the users that join them; files after users (they may land in homes);
 * SSH host keys made while packages installed are removed before the files (a config may ship
 * its own); machine-id last.
 */
export const systemSteps: SystemStep[] = [
  hostnameStep,
  dpkgExcludesStep,
  groupsStep,
  usersStep,
  fstabStep,
  deviceLayersStep,
  networksStep,
  hostKeysStep,
  additionalFilesStep,
  selinuxStep,
  machineIdStep,
];

/** Apply every step that applies, in order (what the build pipeline calls after installing packages). */
export async function applySystemConfig(ctx: SystemContext, steps: readonly SystemStep[] = systemSteps): Promise<void> {
  for (const step of steps) {
    if (!step.applies(ctx)) continue;
    logToFile(`system: ${step.name}`);
    await step.run(ctx);
  }
}

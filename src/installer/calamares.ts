/**
 * Calamares' configuration for Kiln's graphical installer, rendered when the live system starts
 * (the systems come from the medium's manifest, the disks from this machine). Pure: file name →
 * content. Every file is JSON, which is YAML too (Calamares reads YAML): names from a config can
 * never break the syntax.
 *
 * Pages: welcome, system (only with several systems), disk, users (host name, user, password),
 * summary, then the `kilninstall` job (resources/installer/gui/calamares/kilninstall: it runs
 * this installer's engine with the answers), then finished.
 */
import { describeDisk, formatBytes, installTargets, type DiskInfo } from './disks.js';
import type { InstallManifest } from './manifest.js';

/** The global-storage keys the kilninstall job reads (packagechooser stores "packagechooser_<instance>"). */
export const GS_SYSTEM = 'packagechooser_kilnsystem';
export const GS_DISK = 'packagechooser_kilndisk';

const yaml = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;

export function calamaresFiles(m: InstallManifest, disks: DiskInfo[], mediumDevice?: string): Record<string, string> {
  const several = m.systems.length > 1;
  const smallest = Math.min(...m.systems.map((s) => s.imageBytes));
  const targets = installTargets(disks, mediumDevice).filter((d) => d.bytes >= smallest);
  const files: Record<string, string> = {
    'settings.conf': yaml({
      'modules-search': ['local'],
      instances: [
        ...(several ? [{ id: 'kilnsystem', module: 'packagechooser', config: 'packagechooser-kilnsystem.conf' }] : []),
        { id: 'kilndisk', module: 'packagechooser', config: 'packagechooser-kilndisk.conf' },
      ],
      sequence: [
        { show: ['welcome', ...(several ? ['packagechooser@kilnsystem'] : []), 'packagechooser@kilndisk', 'users', 'summary'] },
        { exec: ['kilninstall'] },
        { show: ['finished'] },
      ],
      branding: 'default',
      'prompt-install': true,
      'dont-chroot': true,
      'oem-setup': false,
      'disable-cancel': false,
      'disable-cancel-during-exec': true,
      'hide-back-and-next-during-exec': true,
      'quit-at-end': false,
    }),
    'modules/welcome.conf': yaml({
      showSupportUrl: false,
      showKnownIssuesUrl: false,
      showReleaseNotesUrl: false,
      showDonateUrl: false,
      // the disk check is the installer's own (too-small disks are not offered)
      requirements: { requiredStorage: 0, requiredRam: 0, check: [], required: [] },
    }),
    'modules/packagechooser-kilndisk.conf': yaml({
      mode: 'required',
      method: 'legacy',
      labels: { step: 'Disk' },
      // preselected: with one disk the page only confirms it
      ...(targets[0] ? { default: targets[0].device } : {}),
      items: targets.map((d) => ({
        id: d.device,
        name: describeDisk(d),
        description: `Everything on ${d.device} (${formatBytes(d.bytes)}) will be erased.`,
        screenshot: '',
      })),
    }),
    'modules/users.conf': yaml({
      defaultGroups: ['sudo', 'adm'],
      doAutologin: false,
      setRootPassword: false,
      doReusePassword: false,
      sudoersGroup: 'sudo',
      userShell: '/bin/bash',
      // the terminal installer's rules (src/installer/answers.ts) are checked again by the install step
      passwordRequirements: { minLength: 8, maxLength: -1 },
      allowWeakPasswords: false,
      presets: { fullName: { editable: true } },
    }),
    'modules/finished.conf': yaml({ restartNowMode: 'user-checked', restartNowCommand: 'systemctl -i reboot', notifyOnFinished: false }),
    'modules/kilninstall.conf': yaml({ log: '/run/kiln-install.log' }),
  };
  if (several) {
    files['modules/packagechooser-kilnsystem.conf'] = yaml({
      mode: 'required',
      method: 'legacy',
      labels: { step: 'System' },
      default: m.systems[0]!.name,
      items: m.systems.map((s) => ({ id: s.name, name: s.name, description: `Needs a disk of at least ${formatBytes(s.imageBytes)}.`, screenshot: '' })),
    });
  }
  return files;
}

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

const GiB = 1024 ** 3;
/**
 * Memory the welcome page recommends (a warning below it, never a stop): the live desktop,
 * Calamares and the engine. Not measured; the end-to-end test runs the graphical ISO in 2 GiB.
 */
export const RECOMMENDED_RAM_GIB = 1;

/**
 * The `requirements` map of Calamares 3.2's welcome module (its GeneralRequirements).
 *
 * Something must be checked. Calamares 3.2.61 rewrites the page's verdict each time a module reports
 * its check done, from the requirements model as it is then (a module with results adds them
 * first). With `check: []` nothing is ever added, the verdict is written from the empty model's
 * initial "not satisfied", and the final recount sends no new text: the page said "This computer
 * does not satisfy the minimum requirements" on every machine.
 *
 * - storage, required: a disk an image fits on, else there is nothing to install to. Calamares
 *   counts a writable disk (no CD-ROM, zram or read-only device) strictly larger than
 *   `requiredStorage`; one byte under the smallest system's image gives Kiln's own rule (a disk at
 *   least as large as the image: checkDiskFits in src/installer/disks.ts), and the page shows it
 *   rounded ("2 GiB").
 * - ram, recommended: below it the page warns and Next stays enabled (a machine that shows the page
 *   runs the live system; the install streams the image and needs little memory).
 * - not checked: internet (the images are on the medium), power (the install is minutes of disk
 *   writes, no firmware update), root (the service starts Calamares as root; the engine fails
 *   with its own message otherwise), screen. `internetCheckUrl` is left out: only the internet
 *   check reads it (Calamares logs that it falls back to its default).
 *
 * Values are written so Calamares reads the types it accepts: a decimal without exponent is a
 * Double, an integer a LongLong (its YAML reader knows no exponent form).
 */
export function welcomeRequirements(smallestImageBytes: number): {
  requiredStorage: number;
  requiredRam: number;
  check: string[];
  required: string[];
} {
  // (bytes - 1) / 2^30 is exact in a double, and so is Calamares' multiplication back to bytes;
  // under 1 KiB JSON would write an exponent, so such a (never built) image requires any disk
  const gib = Number.isFinite(smallestImageBytes) ? (smallestImageBytes - 1) / GiB : 0;
  return { requiredStorage: gib < 1e-6 ? 0 : gib, requiredRam: RECOMMENDED_RAM_GIB, check: ['storage', 'ram'], required: ['storage'] };
}

/** Calamares' own sample branding (Debian's calamares package): its images are reused, nothing else. */
const SAMPLE_BRANDING = '/usr/share/calamares/branding/default';
export const BRANDING = 'kiln';

/**
 * Kiln's branding: the medium's config name where Calamares' sample branding says "Fancy GNU/Linux
 * 2020.2 LTS", no links to Calamares' project pages, no log upload (the sample sends the install
 * log to termbin.com on request), a full-screen window, a one-slide show naming what is installed.
 */
function branding(m: InstallManifest): Record<string, string> {
  const name = m.configName;
  const systems = m.systems.map((s) => s.name).join(', ');
  const desc = {
    componentName: BRANDING,
    welcomeStyleCalamares: false,
    welcomeExpandingLogo: true,
    windowExpanding: 'fullscreen',
    windowSize: '1024px,768px',
    windowPlacement: 'center',
    sidebar: 'widget',
    navigation: 'widget',
    strings: {
      productName: name,
      shortProductName: name,
      version: '',
      shortVersion: '',
      versionedName: name,
      shortVersionedName: name,
      bootloaderEntryName: name,
      productUrl: '',
      supportUrl: '',
      knownIssuesUrl: '',
      releaseNotesUrl: '',
      donateUrl: '',
    },
    images: { productIcon: `${SAMPLE_BRANDING}/squid.png`, productLogo: `${SAMPLE_BRANDING}/squid.png`, productWelcome: `${SAMPLE_BRANDING}/languages.png` },
    style: { sidebarBackground: '#292F34', sidebarText: '#FFFFFF', sidebarTextSelect: '#292F34', sidebarTextHighlight: '#D35400' },
    slideshow: 'show.qml',
    slideshowAPI: 2,
  };
  // JSON string literals are QML (JavaScript) string literals: a name cannot break out of them
  const show = [
    'import QtQuick 2.0;',
    'import calamares.slideshow 1.0;',
    'Presentation {',
    '    id: presentation',
    '    Slide {',
    `        Text { anchors.centerIn: parent; horizontalAlignment: Text.AlignHCenter; font.pointSize: 18; text: ${JSON.stringify(`Installing ${name}`)} + "\\n" + ${JSON.stringify(systems)} }`,
    '    }',
    '    function onActivate() { }',
    '    function onLeave() { }',
    '}',
    '',
  ].join('\n');
  return { [`branding/${BRANDING}/branding.desc`]: yaml(desc), [`branding/${BRANDING}/show.qml`]: show };
}

export function calamaresFiles(m: InstallManifest, disks: DiskInfo[], mediumDevice?: string): Record<string, string> {
  const several = m.systems.length > 1;
  const smallest = Math.min(...m.systems.map((s) => s.imageBytes));
  const targets = installTargets(disks, mediumDevice).filter((d) => d.bytes >= smallest);
  const files: Record<string, string> = {
    ...branding(m),
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
      branding: BRANDING,
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
      requirements: welcomeRequirements(smallest),
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

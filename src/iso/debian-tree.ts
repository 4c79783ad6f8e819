/**
 * A Debian 12 directory tree made with mmdebstrap: the installer's root and the boot tools' root.
 *
 * Interim: Kiln's imager (build/) will build the installer root from resources/installer/
 * iso-initrd.json as a rootfs config; until its rootfs path is available this small function runs
 * mmdebstrap directly with the same inputs (packages, kernel, files, post-install scripts). It is
 * the only place to change when that lands.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { installDebianRoot } from '../distro/debian/install-root.js';
import { APT_SOURCES, SUITE } from './debian-suite.js';

export interface TreeFile {
  source: string;
  destination: string;
  mode?: number;
}

export interface TreeSpec {
  packages: string[];
  files?: TreeFile[];
  /** In order, after the files are in place: shell scripts run inside the tree (chroot), and
   *  copies of a directory of the tree out to the host. */
  steps?: ({ script: string } | { copyOut: { from: string; to: string } })[];
  /** dpkg path-exclude patterns: never unpacked (documentation, drivers nobody loads). */
  exclude?: string[];
}

export async function debianTree(dest: string, spec: TreeSpec): Promise<void> {
  const hooks: string[] = [];
  const readable = new Set<string>();
  const writable = new Set<string>();
  for (const f of spec.files ?? []) {
    const dir = f.destination.replace(/\/[^/]*$/, '') || '/';
    hooks.push(`--customize-hook=mkdir -p "$1${dir}"`);
    hooks.push(`--customize-hook=upload ${f.source} ${f.destination}`);
    readable.add(f.source);
    if (f.mode !== undefined) hooks.push(`--customize-hook=chmod ${f.mode.toString(8)} "$1${f.destination}"`);
  }
  (spec.steps ?? []).forEach((step, i) => {
    if ('copyOut' in step) {
      hooks.push(`--customize-hook=copy-out ${step.copyOut.from} ${step.copyOut.to}`);
      writable.add(step.copyOut.to);
      return;
    }
    hooks.push(`--customize-hook=upload ${step.script} /tmp/kiln-script-${i}.sh`);
    readable.add(step.script);
    hooks.push(`--customize-hook=chroot "$1" sh /tmp/kiln-script-${i}.sh && rm -f "$1/tmp/kiln-script-${i}.sh"`);
  });
  // Two sandboxed phases (distro/debian/install-root.ts): apt downloads with the network, then
  // mmdebstrap installs without it; whatever it mounts or starts dies with the sandbox, even when
  // Kiln is killed, so removing a half-made tree can never reach the host's /dev.
  const scratch = `${dest}.apt`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  for (const d of ['archives', 'lists']) mkdirSync(`${scratch}/${d}`, { recursive: true });
  try {
    await installDebianRoot({
      root: dest,
      release: SUITE,
      packages: spec.packages,
      sources: APT_SOURCES,
      archives: `${scratch}/archives`,
      lists: `${scratch}/lists`,
      scratch,
      eatmydata: false,
      ...(spec.exclude ? { exclude: spec.exclude } : {}),
      extra: hooks,
      hookReadable: [...readable],
      hookWritable: [...writable],
      // INITRD=No: the kernel package must not build an initramfs for a tree that becomes one
      env: { ...process.env, INITRD: 'No', DEBIAN_FRONTEND: 'noninteractive' },
      hint: 'the Debian mirror must be reachable (apt works on this host)',
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

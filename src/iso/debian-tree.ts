/**
 * A Debian 12 directory tree made with mmdebstrap: the installer's root and the boot tools' root.
 *
 * Interim: Kiln's imager (build/) will build the installer root from resources/installer/
 * iso-initrd.json as a rootfs config; until its rootfs path is available this small function runs
 * mmdebstrap directly with the same inputs (packages, kernel, files, post-install scripts). It is
 * the only place to change when that lands.
 */
import { run } from '../core/exec.js';
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
  for (const f of spec.files ?? []) {
    const dir = f.destination.replace(/\/[^/]*$/, '') || '/';
    hooks.push(`--customize-hook=mkdir -p "$1${dir}"`);
    hooks.push(`--customize-hook=upload ${f.source} ${f.destination}`);
    if (f.mode !== undefined) hooks.push(`--customize-hook=chmod ${f.mode.toString(8)} "$1${f.destination}"`);
  }
  (spec.steps ?? []).forEach((step, i) => {
    if ('copyOut' in step) {
      hooks.push(`--customize-hook=copy-out ${step.copyOut.from} ${step.copyOut.to}`);
      return;
    }
    hooks.push(`--customize-hook=upload ${step.script} /tmp/kiln-script-${i}.sh`);
    hooks.push(`--customize-hook=chroot "$1" sh /tmp/kiln-script-${i}.sh && rm -f "$1/tmp/kiln-script-${i}.sh"`);
  });
  // In a private mount namespace: whatever mmdebstrap mounts in the tree (/proc, /dev ...) dies
  // with it, even when it is killed, so removing a half-made tree can never reach the host's /dev.
  await run(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'mmdebstrap',
      '--variant=minbase',
      '--mode=root',
      `--include=${spec.packages.join(',')}`,
      ...(spec.exclude ?? []).map((p) => `--dpkgopt=path-exclude=${p}`),
      ...hooks,
      SUITE,
      dest,
      ...APT_SOURCES,
    ],
    // INITRD=No: the kernel package must not build an initramfs for a tree that becomes one
    { env: { ...process.env, INITRD: 'No', DEBIAN_FRONTEND: 'noninteractive' }, captureStdout: false, hint: 'the Debian mirror must be reachable (apt works on this host)' },
  );
}

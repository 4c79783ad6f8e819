/** The manifest written next to the artifacts: what was built from what, and every package with its version. */
import type { InstalledPackage } from '../distro/backend.js';
import type { BuildPlan } from './plan.js';

export interface Manifest {
  config: string;
  systemConfig: string;
  distro: { name: string; release: string };
  kernel?: string;
  artifacts: string[];
  packages: InstalledPackage[];
}

export function renderManifest(plan: BuildPlan, packages: InstalledPackage[], kernels: string[], artifacts: string[]): string {
  const m: Manifest = {
    config: plan.loaded.file,
    systemConfig: plan.sc.Name,
    distro: { name: plan.backend.name, release: plan.backend.release },
    ...(kernels[0] ? { kernel: kernels[0] } : {}),
    artifacts,
    packages,
  };
  return JSON.stringify(m, null, 2) + '\n';
}

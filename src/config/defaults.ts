/**
 * Documented defaults, applied where a value is read rather than written into the config, so
 * "absent" and "false" stay distinguishable for the validator (see model.ts).
 */
import { distroFor, findDistro, findRelease, type DistroFamily } from '../distro/catalog/index.js';
import type { PackageRepo, PartitionSetting, SystemConfig, MountIdentifier, BootType } from './model.js';

export function bootType(sc: SystemConfig): BootType {
  return sc.BootType ?? '';
}
export function mountIdentifier(ps: PartitionSetting): MountIdentifier {
  return ps.MountIdentifier ?? 'partuuid';
}
export function enableGrubMkconfig(sc: SystemConfig): boolean {
  return sc.EnableGrubMkconfig ?? true;
}
/** SELinux policy package name; undefined when SELinux is off. */
export function selinuxPolicy(sc: SystemConfig): string | undefined {
  const kcl = sc.KernelCommandLine;
  if (!kcl?.SELinux) return undefined;
  return kcl.SELinuxPolicy || findDistro(sc.Distro?.Name)?.rules.defaultSelinuxPolicy;
}
export function repoComponents(repo: PackageRepo): string[] {
  return repo.Components ?? ['main'];
}
export function repoGpgCheck(repo: PackageRepo): boolean {
  return repo.GPGCheck ?? true;
}

export interface ResolvedDistro {
  name: string;
  release: string;
  family: DistroFamily;
}
/** The distribution a SystemConfig builds: its `Distro`, or Azure Linux 3.0 as upstream. */
export function distroOf(sc: SystemConfig): ResolvedDistro {
  const info = distroFor(sc);
  return { name: info.name, release: findRelease(info, sc.Distro?.Release) ?? sc.Distro!.Release!, family: info.family };
}

/**
 * Package rules, written once and parameterised by the distribution family's names
 * (distro/catalog): entries in upstream's syntax, no kernel in package lists, SELinux needs its
 * policy package, FIPS needs the FIPS initramfs support (or is unsupported), users and groups need
 * the user-management package. For RPM configs these are upstream's validator rules (errors),
 * except that upstream only knows the kernel package "kernel": its other flavours are Kiln's rule.
 * For Debian (Kiln's extension) they are Kiln's rules and errors.
 */
import type { SystemConfig } from '../model.js';
import type { Segment } from '../findings.js';
import { packageEntryProblem } from '../packagelists.js';
import type { RuleContext } from './context.js';
import { distroFor } from '../../distro/catalog/index.js';

export function checkPackages(ctx: RuleContext): void {
  ctx.config.SystemConfigs.forEach((sc, i) => checkSc(ctx, sc, i, ['SystemConfigs', i]));
}

function checkSc(ctx: RuleContext, sc: SystemConfig, index: number, at: Segment[]): void {
  const rules = ctx.rules(sc);
  const pkgs = ctx.packages(index);
  const has = (name: string) => pkgs.names.has(name) || rules.implicitPackages.includes(name);
  (sc.Packages ?? []).forEach((p, k) => {
    const problem = packageEntryProblem(p);
    if (problem) ctx.report([...at, 'Packages', k], problem, 'one package per entry; a version constraint is one of =, <, <=, >, >= and a version');
  });
  for (const e of pkgs.entries) {
    if (rules.isKernelPackage(e.name)) {
      const upstreamRule = rules.family === 'debian' || e.name === 'kernel';
      (upstreamRule ? ctx.report : ctx.kiln)(
        [...at, ...whereSegments(e.where)],
        `kernel package "${e.name}" must not be in a package list${e.where.startsWith('PackageLists') ? ` (${e.where})` : ''}`,
        `remove it and set "KernelOptions": {"default": "${e.name}"} instead`,
      );
    }
  }
  const kcl = sc.KernelCommandLine ?? {};
  if (kcl.SELinux) {
    const policy = kcl.SELinuxPolicy || rules.defaultSelinuxPolicy;
    if (!has(policy)) {
      ctx.report([...at, 'KernelCommandLine', 'SELinux'], `SELinux is "${kcl.SELinux}" but the policy package "${policy}" is not in the package lists`, `add "${policy}" to Packages or a package list${kcl.SELinuxPolicy ? '' : ', or name your policy in KernelCommandLine.SELinuxPolicy'}`);
    }
  }
  // upstream looks for the text "fips=1" anywhere on the command line
  const fipsOnCmdline = rules.family === 'rpm' ? (kcl.ExtraCommandLine ?? '').includes('fips=1') : /(^|\s)fips=1(\s|$)/.test(kcl.ExtraCommandLine ?? '');
  if (kcl.EnableFIPS || fipsOnCmdline) {
    const where = kcl.EnableFIPS ? 'EnableFIPS' : 'ExtraCommandLine';
    const unsupported = distroFor(sc).unsupportedKeys['KernelCommandLine.EnableFIPS'];
    if (unsupported) {
      ctx.report([...at, 'KernelCommandLine', where], unsupported, 'remove EnableFIPS / fips=1, or build a distribution that supports FIPS (Azure Linux: omit "Distro")');
    } else if (rules.fipsPackage && !has(rules.fipsPackage)) {
      ctx.report([...at, 'KernelCommandLine', where], `FIPS mode is requested but "${rules.fipsPackage}" is not in the package lists`, `add "${rules.fipsPackage}" to Packages or a package list`);
    }
  }
  if (((sc.Users ?? []).length > 0 || (sc.Groups ?? []).length > 0) && !has(rules.userManagementPackage)) {
    const where = (sc.Users ?? []).length > 0 ? 'Users' : 'Groups';
    ctx.report([...at, where], `Users and Groups need "${rules.userManagementPackage}" (useradd/groupadd), which is not in the package lists`, `add "${rules.userManagementPackage}" to Packages or a package list`);
  }
}

/** "PackageLists[2]" / "Packages[0]" → path segments. */
function whereSegments(where: string): Segment[] {
  const m = /^(\w+)\[(\d+)\]$/.exec(where);
  return m ? [m[1]!, Number(m[2])] : [where];
}

/** What every backend does the same way, driven by its catalog declaration. */
import { listInRoot } from '../system/paths.js';
import type { DistroDecl } from './catalog/index.js';
import type { InstallRequest } from './backend.js';
import { bootChain, usesUki } from '../boot/chain.js';

/** Initramfs generators a config may choose itself (then the distribution's default is not added). */
const INITRAMFS_GENERATORS = ['dracut', 'initramfs-tools', 'tiny-initramfs'];

export function implicitPackages(decl: DistroDecl, req: Pick<InstallRequest, 'sc' | 'boot' | 'kernel' | 'packages'>): string[] {
  const out: string[] = [];
  const kernel = kernelPackage(decl, req.kernel);
  if (kernel) out.push(kernel);
  if (req.boot !== 'none') {
    const chain = bootChain(req.sc, decl, req.packages);
    if (req.boot === 'efi' && usesUki(chain.loader) && decl.systemdEfi) out.push(decl.systemdEfi.package);
    else out.push(...decl.bootPackages(req.boot));
    const shim = decl.efi.shim;
    if (req.boot === 'efi' && shim && chain.shim) out.push(shim.package, ...shim.extraPackages);
    if (!req.packages.some((p) => INITRAMFS_GENERATORS.includes(p))) out.push(...decl.initramfs.packages);
    if (req.sc.Encryption?.Enable) out.push(...decl.layers.luks.packages);
    if (req.sc.Verity?.Enable) out.push(...decl.layers.verity.packages);
  }
  if (req.sc.KernelCommandLine?.EnableFIPS && decl.rules.fipsPackage) out.push(decl.rules.fipsPackage);
  return [...new Set(out)].filter((p) => !req.packages.includes(p));
}

/** KernelOptions.default in this distribution's names ("kernel" is upstream's, accepted everywhere). */
export function kernelPackage(decl: DistroDecl, kernel: string | undefined): string | undefined {
  return kernel ? (decl.kernelAliases[kernel] ?? kernel) : undefined;
}

/** Kernel versions in the root, from /boot/vmlinuz-*, newest first (listed inside the root: a /boot link never lists a host directory). */
export async function installedKernels(root: string): Promise<string[]> {
  return (await listInRoot(root, '/boot'))
    .map((e) => e.name)
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
}

export function dedupe(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/** What every backend shares: its declaration, release and grub names, implicit packages, kernels. */
export abstract class BackendBase {
  readonly name: string;
  readonly grub: DistroDecl['grub'];

  constructor(
    readonly decl: DistroDecl,
    readonly release: string,
  ) {
    this.name = decl.name;
    this.grub = decl.grub;
  }

  implicitPackages(req: Pick<InstallRequest, 'sc' | 'boot' | 'kernel' | 'packages'>): string[] {
    return implicitPackages(this.decl, req);
  }

  /** The config's packages and the implicit ones, once each. */
  protected packageSet(req: Pick<InstallRequest, 'sc' | 'boot' | 'kernel' | 'packages'>): string[] {
    return dedupe([...req.packages, ...this.implicitPackages(req)]);
  }

  async kernels(root: string): Promise<string[]> {
    return await installedKernels(root);
  }
}

/**
 * Package URLs (https://github.com/package-url/purl-spec) of installed packages. The type comes
 * from the distribution's package family and the namespace is its catalog name:
 * pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64, pkg:rpm/azurelinux/bash@5.2.15-1.azl3?arch=x86_64.
 */
import { PackageURL } from 'packageurl-js';
import type { DistroDecl } from '../distro/catalog/index.js';
import type { InstalledPackage } from '../distro/backend.js';

export function purlType(decl: Pick<DistroDecl, 'family'>): 'deb' | 'rpm' {
  return decl.family === 'debian' ? 'deb' : 'rpm';
}

export function packageUrl(decl: Pick<DistroDecl, 'family' | 'name'>, p: InstalledPackage): string {
  return new PackageURL(purlType(decl), decl.name, p.name, p.version, { arch: p.arch }, undefined).toString();
}

/**
 * The installer (src/installer, TypeScript) as one JavaScript file for the initrd's Node.js
 * (Debian 12 ships Node 18), made by esbuild: no node_modules in the initrd. In a checkout it is
 * rebuilt from the sources; an installed package (npm pack) ships the bundle its `prepare` made.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, KilnError } from '../core/errors.js';
import { run } from '../core/exec.js';
import { PACKAGE_ROOT } from '../core/version.js';

export const REPO_ROOT = PACKAGE_ROOT;
export const INSTALLER_BUNDLE = join(REPO_ROOT, 'dist/installer/kiln-installer.js');

/** esbuild's arguments for the bundle (scripts/bundle-installer.mjs, package.json's prepare, passes the same). */
export function bundleArgs(root = REPO_ROOT): string[] {
  return [join(root, 'src/installer/main.ts'), '--bundle', '--platform=node', '--target=node18', '--format=cjs', '--log-level=warning', `--outfile=${join(root, 'dist/installer/kiln-installer.js')}`];
}

export async function bundleInstaller(): Promise<string> {
  const source = join(REPO_ROOT, 'src/installer/main.ts');
  const esbuild = join(REPO_ROOT, 'node_modules/.bin/esbuild');
  if (existsSync(source) && existsSync(esbuild)) {
    await run(esbuild, bundleArgs());
    return INSTALLER_BUNDLE;
  }
  if (!existsSync(INSTALLER_BUNDLE)) {
    throw new KilnError(`the installer bundle ${INSTALLER_BUNDLE} is missing`, ExitCode.BuildFailed, ['reinstall Kiln from a package made by npm pack (its prepare script bundles the installer)'], 'BUILD_FAILED');
  }
  return INSTALLER_BUNDLE;
}

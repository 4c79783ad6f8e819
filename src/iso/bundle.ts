/**
 * The installer (src/installer, TypeScript) as one JavaScript file for the initrd's Node.js
 * (Debian 12 ships Node 18), made by esbuild: no node_modules in the initrd.
 */
import { join, resolve } from 'node:path';
import { run } from '../core/exec.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const INSTALLER_BUNDLE = join(REPO_ROOT, 'dist/installer/kiln-installer.js');

export async function bundleInstaller(): Promise<string> {
  await run(join(REPO_ROOT, 'node_modules/.bin/esbuild'), [
    join(REPO_ROOT, 'src/installer/main.ts'),
    '--bundle',
    '--platform=node',
    '--target=node18',
    '--format=cjs',
    '--log-level=warning',
    `--outfile=${INSTALLER_BUNDLE}`,
  ]);
  return INSTALLER_BUNDLE;
}

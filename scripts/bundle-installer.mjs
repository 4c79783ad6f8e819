// package.json's prepare: bundle the ISO installer into dist/installer/kiln-installer.js, so an
// installed package (npm pack; npm install -g) can make ISOs without its sources or esbuild.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
execFileSync(join(root, 'node_modules/.bin/esbuild'), [
  join(root, 'src/installer/main.ts'), '--bundle', '--platform=node', '--target=node18', '--format=cjs', '--log-level=warning',
  `--outfile=${join(root, 'dist/installer/kiln-installer.js')}`,
], { stdio: 'inherit' });

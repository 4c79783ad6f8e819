/**
 * The graphical installer's two calls into this program (the live system's systemd unit and
 * Calamares' kilninstall job; resources/installer/gui):
 * - `--calamares-config DIR`: write Calamares' configuration for this medium and machine;
 * - `--answers-stdin`: install with answers given as JSON on stdin, through the same engine
 *   (install.ts) and the same checks as the terminal installer; progress on stdout, one line each.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { withScope } from '../core/scope.js';
import { calamaresFiles } from './calamares.js';
import { listDisks } from './disks.js';
import { install } from './install.js';
import type { InstallManifest } from './manifest.js';
import { parseScriptedInput, scriptedAnswers } from './scripted.js';

export function writeCalamaresConfig(dir: string, m: InstallManifest, mediumDevice?: string): void {
  for (const [name, text] of Object.entries(calamaresFiles(m, listDisks(), mediumDevice))) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

export async function installFromStdin(mediaRoot: string, m: InstallManifest, say: (line: string) => void, mediumDevice?: string): Promise<void> {
  const input = parseScriptedInput(readFileSync(0, 'utf8'));
  const answers = scriptedAnswers(m, listDisks(), input, mediumDevice);
  say(`Kiln installer: installing ${answers.system.name} to ${answers.target}`);
  await withScope('installer', (scope) => install(scope, mediaRoot, answers, say));
}

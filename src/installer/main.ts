/**
 * Entry point of the installer inside the ISO's initrd (bundled into one file for Debian 12's
 * Node 18). /init mounts the install medium and runs: node kiln-installer.js <medium root> [<medium device>].
 * Exit 0: installed (/init then reboots or powers off); otherwise /init offers a shell.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withScope } from '../core/scope.js';
import { setLogFile, setQuiet } from '../core/log.js';
import { listDisks } from './disks.js';
import { install } from './install.js';
import { isUnattended, MANIFEST_PATH, type InstallManifest } from './manifest.js';
import { attendedAnswers, InstallError, unattendedAnswers } from './session.js';
import { Terminal } from './terminal.js';
import { installFromStdin, writeCalamaresConfig } from './graphical.js';

export const INSTALL_LOG = '/run/kiln-install.log';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const flags = args.filter((a) => a.startsWith('--'));
  const [mediaRoot = '/run/kiln-media', mediumDevice] = args.filter((a) => !a.startsWith('--'));
  setLogFile(INSTALL_LOG);
  setQuiet(true);
  const cmdline = readCmdline();
  const manifest = JSON.parse(readFileSync(join(mediaRoot, MANIFEST_PATH), 'utf8')) as InstallManifest;
  const calamaresDir = flags.find((f) => f.startsWith('--calamares-config='))?.slice('--calamares-config='.length);
  if (calamaresDir) {
    writeCalamaresConfig(calamaresDir, manifest, mediumDevice);
    return 0;
  }
  if (flags.includes('--answers-stdin')) return graphicalInstall(mediaRoot, manifest, mediumDevice);
  const unattended = isUnattended(manifest) && !cmdline.has('kiln.attended');
  const t = new Terminal();
  const say = (m: string) => t.say(m);
  for (;;) {
    try {
      const answers = unattended ? unattendedAnswers(manifest, listDisks()) : await attendedAnswers(t, manifest, listDisks(), mediumDevice);
      if (unattended) say(`Kiln installer: unattended install of ${answers.system.name} to ${answers.target}`);
      await withScope('installer', (scope) => install(scope, mediaRoot, answers, say));
      say('KILN-INSTALL-DONE: the system is installed; remove the install medium.');
      t.close();
      return 0;
    } catch (e) {
      const message = e instanceof InstallError ? e.message : `install error: ${(e as Error).message}`;
      say('');
      say(`KILN-INSTALL-FAILED: ${message}`);
      for (const line of (e as { details?: string[] }).details ?? []) say(line);
      say(`The full log is ${INSTALL_LOG} (in the shell: less ${INSTALL_LOG}).`);
      if (unattended) {
        t.close();
        return 1;
      }
      const next = (await t.ask('Press Enter to start again, or type "shell" for a shell: ')).trim();
      if (next === 'shell') {
        t.close();
        return 1;
      }
    }
  }
}

/** The graphical installer's install step: answers on stdin, progress and the verdict on stdout. */
async function graphicalInstall(mediaRoot: string, manifest: InstallManifest, mediumDevice?: string): Promise<number> {
  const say = (m: string) => process.stdout.write(`${m}\n`);
  try {
    await installFromStdin(mediaRoot, manifest, say, mediumDevice);
    say('KILN-INSTALL-DONE: the system is installed; remove the install medium.');
    return 0;
  } catch (e) {
    say(`KILN-INSTALL-FAILED: ${e instanceof InstallError ? e.message : `install error: ${(e as Error).message}`}`);
    for (const line of (e as { details?: string[] }).details ?? []) say(line);
    say(`The full log is ${INSTALL_LOG}.`);
    return 1;
  }
}

function readCmdline(): Set<string> {
  try {
    return new Set(readFileSync('/proc/cmdline', 'utf8').trim().split(/\s+/));
  } catch {
    return new Set();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stdout.write(`KILN-INSTALL-FAILED: ${(e as Error).stack ?? String(e)}\nThe full log is ${INSTALL_LOG}.\n`);
    process.exit(1);
  },
);

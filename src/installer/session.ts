/**
 * The conversation: unattended (everything from the manifest) or attended (questions on the
 * console). Returns the answers; never touches a disk.
 */
import { checkHostname, checkPassword, checkUserName, parseChoice } from './answers.js';
import { checkDiskFits, describeDisk, formatBytes, installTargets, type DiskInfo } from './disks.js';
import type { InstallAnswers } from './install.js';
import { isUnattended, type InstallManifest } from './manifest.js';
import type { Terminal } from './terminal.js';

export class InstallError extends Error {}

export function unattendedAnswers(m: InstallManifest, disks: DiskInfo[]): InstallAnswers {
  const system = m.systems[0]!;
  const target = m.targetDisk!;
  const disk = disks.find((d) => d.device === target);
  if (!disk)
    throw new InstallError(
      `the target disk ${target} (Disks[0].TargetDisk.Value) does not exist on this machine; disks found: ${disks.map((d) => d.device).join(', ') || 'none'}`,
    );
  const tooSmall = checkDiskFits(disk, system.imageBytes);
  if (tooSmall) throw new InstallError(tooSmall);
  return { system, target, ...(system.hostname ? { hostname: system.hostname } : {}) };
}

async function choose<T>(t: Terminal, title: string, items: T[], show: (x: T) => string): Promise<T> {
  if (items.length === 1) {
    t.say(`${title}: ${show(items[0]!)}`);
    return items[0]!;
  }
  t.say(`${title}:`);
  items.forEach((x, i) => t.say(`  ${i + 1}) ${show(x)}`));
  for (;;) {
    const c = parseChoice(await t.ask(`Choose ${title.toLowerCase()} [1]: `), items.length);
    if (typeof c === 'number') return items[c]!;
    t.say(c);
  }
}

async function askValid(t: Terminal, question: string, check: (s: string) => string | undefined, fallback = ''): Promise<string> {
  for (;;) {
    const answer = (await t.ask(question)).trim() || fallback;
    const problem = check(answer);
    if (!problem) return answer;
    t.say(problem);
  }
}

export async function attendedAnswers(t: Terminal, m: InstallManifest, disks: DiskInfo[], mediumDevice?: string): Promise<InstallAnswers> {
  t.say(`Kiln installer: ${m.configName}`);
  const system = await choose(t, 'System', m.systems, (s) => `${s.name} (needs ${formatBytes(s.imageBytes)})`);
  const targets = installTargets(disks, mediumDevice);
  if (!targets.length) throw new InstallError('no disk to install to was found (only the install medium, or no disk at all); attach a disk and start again');
  const fitting = targets.filter((d) => !checkDiskFits(d, system.imageBytes));
  if (!fitting.length)
    throw new InstallError(`every disk is too small for ${system.name}: it needs ${formatBytes(system.imageBytes)}; ${targets.map(describeDisk).join('; ')}`);
  const disk = await choose(t, 'Disk', fitting, describeDisk);
  if (system.sealedRoot) {
    t.say(`The root of ${system.name} is ${system.sealedRoot === 'luks' ? 'encrypted' : 'read-only and verified (dm-verity)'}: it is installed as built, with its host name and users.`);
    await confirmErase(t, disk);
    return { system, target: disk.device };
  }
  const hostname = await askValid(t, `Host name [${system.hostname ?? 'debian'}]: `, checkHostname, system.hostname ?? 'debian');
  const name = await askValid(t, 'User name: ', checkUserName);
  let password: string;
  for (;;) {
    const first = await t.ask('Password: ', { secret: true });
    const again = await t.ask('Password (again): ', { secret: true });
    const problem = checkPassword(first, again);
    if (!problem) {
      password = first;
      break;
    }
    t.say(problem);
  }
  await confirmErase(t, disk);
  return { system, target: disk.device, hostname, user: { name, password } };
}

async function confirmErase(t: Terminal, disk: DiskInfo): Promise<void> {
  for (;;) {
    const ok = (await t.ask(`ALL DATA ON ${describeDisk(disk)} WILL BE ERASED. Type "yes" to install, "no" to stop: `)).trim().toLowerCase();
    if (ok === 'yes') return;
    if (ok === 'no') throw new InstallError('stopped before writing anything: the disk was not touched');
  }
}

export { isUnattended };

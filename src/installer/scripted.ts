/**
 * Answers given all at once (the graphical installer's install step hands them over as JSON on
 * stdin), checked by the same rules as the terminal installer's questions: a GUI cannot install
 * what the terminal installer would refuse. Pure; never touches a disk.
 */
import { checkHostname, checkPassword, checkUserName } from './answers.js';
import { checkDiskFits, installTargets, type DiskInfo } from './disks.js';
import type { InstallAnswers } from './install.js';
import type { InstallManifest } from './manifest.js';
import { InstallError } from './session.js';

export interface ScriptedInput {
  /** Name of the system (InstallSystem.name); may be absent when the ISO carries one system. */
  system?: string;
  /** /dev/vda */
  target: string;
  hostname: string;
  user: { name: string; password: string };
}

export function scriptedAnswers(m: InstallManifest, disks: DiskInfo[], input: ScriptedInput, mediumDevice?: string): InstallAnswers {
  const system = input.system === undefined && m.systems.length === 1 ? m.systems[0] : m.systems.find((s) => s.name === input.system);
  if (!system) throw new InstallError(`no system "${input.system ?? ''}" on this medium; it has: ${m.systems.map((s) => s.name).join(', ')}`);
  const targets = installTargets(disks, mediumDevice);
  const disk = targets.find((d) => d.device === input.target);
  if (!disk) throw new InstallError(`${input.target} is not a disk this installer can write (disks: ${targets.map((d) => d.device).join(', ') || 'none'})`);
  const problems = [
    checkDiskFits(disk, system.imageBytes),
    checkHostname(input.hostname),
    checkUserName(input.user.name),
    checkPassword(input.user.password, input.user.password),
  ].filter((p): p is string => !!p);
  if (problems.length) throw new InstallError(problems.join('; '));
  return { system, target: disk.device, hostname: input.hostname, user: { name: input.user.name, password: input.user.password } };
}

/** The JSON document on stdin → ScriptedInput, or an InstallError saying what is missing. */
export function parseScriptedInput(text: string): ScriptedInput {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InstallError(`the answers are not JSON: ${(e as Error).message}`);
  }
  const o = (doc ?? {}) as Record<string, unknown>;
  const user = (o.user ?? {}) as Record<string, unknown>;
  const str = (v: unknown, what: string) => {
    if (typeof v !== 'string') throw new InstallError(`the answers lack ${what}`);
    return v;
  };
  return {
    ...(o.system !== undefined && o.system !== '' ? { system: str(o.system, 'the system') } : {}),
    target: str(o.target, 'the target disk'),
    hostname: str(o.hostname, 'the host name'),
    user: { name: str(user.name, 'the user name'), password: str(user.password, 'the password') },
  };
}

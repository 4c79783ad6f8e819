#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { redactSecrets } from '../core/credentials.js';
import { ExitCode, KilnError } from '../core/errors.js';
import { getLogFile } from '../core/log.js';
import { registerCommands } from './commands/index.js';

const EXIT_CODES_HELP = `
Exit codes:
  0    success (for validate: the config is valid)
  1    invalid configuration (every finding is printed, with file and JSON path)
  2    usage error (unknown verb or option, missing argument)
  3    build failed (a command failed: its name and stderr tail are printed; full log under out/)
  4    host prerequisites missing and not installable here (the packages to install are listed)
  5    another build of the same config name holds its output directory (out/images/<config-name>)
  130  interrupted (SIGINT/SIGTERM/SIGHUP); everything acquired was released`;

const SYSTEM_ERROR_HINTS: Record<string, string> = {
  ENOSPC: 'the filesystem of the output directory (--out) or of the package cache is full: free space there, or build into another --out; `kiln clean` releases what a killed build left',
  EDQUOT: 'a disk quota is exhausted: free space, or build into another --out',
  EIO: 'the host reported an I/O error: check the disk holding --out',
};

export function buildProgram(): Command {
  const program = new Command('kiln')
    .description('Build bootable operating-system images from JSON image configurations.')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError()
    .addHelpText('after', EXIT_CODES_HELP);
  registerCommands(program);
  for (const cmd of program.commands) cmd.addHelpText('after', EXIT_CODES_HELP);
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? ExitCode.Ok : Number(process.exitCode);
  } catch (e) {
    return reportError(e);
  }
}

function reportError(e: unknown): number {
  if (e instanceof CommanderError) {
    // help and version "errors" are successes; everything else is a usage error
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return ExitCode.Ok;
    return ExitCode.Usage;
  }
  if (e instanceof KilnError) {
    process.stderr.write(`error: ${redactSecrets(e.message)}\n`);
    for (const line of e.details) process.stderr.write(`${redactSecrets(line)}\n`);
    const log = getLogFile();
    if (log && e.exitCode === ExitCode.BuildFailed) process.stderr.write(`full log: ${log}\n`);
    return e.exitCode;
  }
  const sys = e as NodeJS.ErrnoException;
  if (typeof sys?.code === 'string' && typeof sys.syscall === 'string') {
    // the host said no (no space left, I/O error, permission...): a failed build, not a bug
    process.stderr.write(`error: ${redactSecrets(sys.message)}\n`);
    const hint = SYSTEM_ERROR_HINTS[sys.code];
    if (hint) process.stderr.write(`${hint}\n`);
    const log = getLogFile();
    if (log) process.stderr.write(`full log: ${log}\n`);
    return ExitCode.BuildFailed;
  }
  process.stderr.write(`internal error (a bug in kiln; please report it):\n${redactSecrets((e as Error)?.stack ?? String(e))}\n`);
  return 70;
}

/** Entry point shared by `kiln` and the upstream-named aliases (which prepend their verb). */
export function runCli(prefix: string[] = []): void {
  // a closed terminal or a parent that died leaves stdout/stderr as broken pipes: losing the output
  // is fine, crashing on EPIPE in the middle of releasing mounts and loop devices is not
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  main([...prefix, ...process.argv.slice(2)]).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(String(e?.stack ?? e) + '\n');
      process.exit(70);
    },
  );
}

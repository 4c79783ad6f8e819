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
  130  interrupted (SIGINT/SIGTERM); everything acquired was released`;

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
  process.stderr.write(`internal error (a bug in kiln; please report it):\n${redactSecrets((e as Error)?.stack ?? String(e))}\n`);
  return 70;
}

/** Entry point shared by `kiln` and the upstream-named aliases (which prepend their verb). */
export function runCli(prefix: string[] = []): void {
  main([...prefix, ...process.argv.slice(2)]).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(String(e?.stack ?? e) + '\n');
      process.exit(70);
    },
  );
}

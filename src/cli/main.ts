#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, KilnError } from '../core/errors.js';
import { getLogFile, setConsoleSink } from '../core/log.js';
import { kilnVersion } from '../core/version.js';
import { createReporter, errorReport, JsonReporter, type LogFormat, type Reporter } from '../progress/reporters.js';
import { registerCommands } from './commands/index.js';

const EXIT_CODES_HELP = `
Exit codes:
  0    success (for validate: the config is valid)
  1    invalid configuration (every finding is printed, with file and JSON path)
  2    usage error (unknown verb or option, missing argument, an input that does not exist)
  3    build failed (a command failed: its name and stderr tail are printed; full log under out/)
  4    host prerequisites missing and not installable here (the packages to install are listed)
  5    another build of the same config name holds its output directory (out/images/<config-name>)
  6    kiln boot --check: no login prompt (timed out, or the VM stopped first)
  130  interrupted (SIGINT/SIGTERM/SIGHUP); everything acquired was released
Every error names a stable code (e.g. [COMMAND_FAILED]); docs/errors.md says what each means and what to do.`;

export function buildProgram(): Command {
  const program = new Command('kiln')
    .description('Build bootable operating-system images from JSON image configurations.')
    .version(kilnVersion())
    .addOption(
      new Option('--log-format <format>', 'console output: text (a live display on a terminal, plain lines elsewhere), plain, or json (one event per line on stderr, schema/kiln-events.schema.json)')
        .choices(['text', 'plain', 'json'])
        .default('text'),
    )
    .showHelpAfterError()
    .addHelpText('after', EXIT_CODES_HELP);
  registerCommands(program);
  for (const cmd of program.commands) cmd.addHelpText('after', EXIT_CODES_HELP);
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** --log-format from argv, before commander parses (a usage error is reported in that format too). */
export function logFormatOf(argv: readonly string[]): LogFormat {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    const v = a === '--log-format' ? argv[i + 1] : a.startsWith('--log-format=') ? a.slice('--log-format='.length) : undefined;
    if (v === 'json' || v === 'plain' || v === 'text') return v;
  }
  return 'text';
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const reporter = createReporter(logFormatOf(argv));
  setConsoleSink(reporter);
  if (reporter instanceof JsonReporter) reporter.begin(argv.find((a, i) => !a.startsWith('-') && argv[i - 1] !== '--log-format') ?? '', kilnVersion());
  let code: number;
  try {
    await program.parseAsync(argv, { from: 'user' });
    code = process.exitCode === undefined ? ExitCode.Ok : Number(process.exitCode);
  } catch (e) {
    code = reportError(e, reporter);
  }
  reporter.finish(code);
  setConsoleSink(undefined);
  return code;
}

function reportError(e: unknown, reporter: Reporter): number {
  if (e instanceof CommanderError) {
    // help and version "errors" are successes; everything else is a usage error (commander printed it)
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return ExitCode.Ok;
    if (reporter instanceof JsonReporter) reporter.error({ code: 'USAGE', exitCode: ExitCode.Usage, message: e.message.replace(/^error: /, ''), details: [] });
    return ExitCode.Usage;
  }
  const r = errorReport(e);
  if (e instanceof KilnError) {
    const log = getLogFile();
    if (log && e.exitCode === ExitCode.BuildFailed) r.details = [...r.details, `full log: ${log}`];
  }
  reporter.error(r);
  return r.exitCode;
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

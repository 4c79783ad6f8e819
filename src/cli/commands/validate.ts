import { Option, type Command } from 'commander';
import type { ValidationResult } from '../../config/index.js';
import { ExitCode, KilnError, UsageError } from '../../core/errors.js';

const HELP = `
Checks the whole image-config format (Azure Linux imageconfig JSON, or YAML, plus Kiln's Distro
and Debian PackageRepos extensions): JSON syntax (with line and column), field names and types,
and the semantic rules (partition layout, mount points, boot type, kernel, packages, users,
referenced files). Every problem is reported at once, each with file, JSON path
(e.g. SystemConfigs[0].Users[1].UID), line:column and a hint.

The verdict is upstream's: a config upstream's imageconfigvalidator accepts is valid (field names
match case-insensitively, null means "not set", unknown fields are ignored). What Kiln knows more
about (an unknown field, a layout that will not boot, an artifact Kiln does not make) is a
warning; \`kiln build\` refuses a config with such a warning. --strict makes every warning an error.

Relative paths in the config (package lists, scripts, additional files, SSH keys) are resolved
against the config file's directory, or against --base-dir. Every file the config refers to must
lie in that directory or below it (symbolic links count where they lead), unless
--allow-outside-config-dir is given: a config may come from someone else (docs/security.md).

Examples:
  kiln validate imageconfigs/core-efi.json
  kiln validate --json imageconfigs/*.json
  imageconfigvalidator --base-dir test/fixtures/upstream/imageconfigs /tmp/my-core-efi.json
  imageconfigvalidator --input core-efi.json --dir .     (upstream's flag names also work)

Exit codes (validate):
  0  every config is valid (warnings may be printed; with --strict there are none)
  1  at least one config is invalid (with --strict: or has a warning)
  2  usage error: no config given, unknown option, or a config file that does not exist / cannot be read`;

interface Options {
  json?: boolean;
  baseDir?: string;
  strict?: boolean;
  allowOutsideConfigDir?: boolean;
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check image config files and report every problem (alias: imageconfigvalidator)')
    .argument('[config...]', 'image config files (.json, .yaml, .yml)')
    .option('--json', 'print findings as JSON on stdout: [{file, valid, findings: [{file, path, line, column, severity, message, hint}]}]')
    .option('--base-dir <dir>', "resolve relative paths against DIR instead of each config file's directory")
    .option('--strict', 'treat warnings as errors (exit 1): also reject what upstream accepts but Kiln warns about')
    .option('--allow-outside-config-dir', "let configs refer to files outside their directory (or --base-dir); only for configs you trust")
    .addOption(new Option('--input <file>', "upstream imageconfigvalidator's spelling of a config argument").hideHelp())
    .addOption(new Option('--dir <dir>', "upstream imageconfigvalidator's spelling of --base-dir").hideHelp())
    .addHelpText('after', HELP)
    .action(async (configs: string[], opts: Options & { input?: string; dir?: string }) => {
      const files = [...configs, ...(opts.input ? [opts.input] : [])];
      if (files.length === 0) throw new UsageError('no config file given: kiln validate <config...> (see kiln validate --help)');
      const baseDir = opts.baseDir ?? opts.dir;
      process.exitCode = await runValidate(files, { ...opts, ...(baseDir !== undefined ? { baseDir } : {}) });
    });
}

/** Validate each file; the worst outcome decides the exit code (usage > invalid > ok). */
export async function runValidate(configs: string[], opts: Options): Promise<number> {
  // the config layer is loaded by the verbs that use it, not at CLI startup
  const { displayPath, formatFinding, validateConfigFile } = await import('../../config/index.js');
  const results: ValidationResult[] = [];
  const unreadable: { file: string; message: string }[] = [];
  for (const file of configs) {
    try {
      results.push(
        validateConfigFile(file, {
          ...(opts.baseDir !== undefined ? { baseDir: opts.baseDir } : {}),
          ...(opts.strict ? { strict: true } : {}),
          ...(opts.allowOutsideConfigDir ? { allowOutsideConfigDir: true } : {}),
        }),
      );
    } catch (e) {
      if (!(e instanceof KilnError)) throw e;
      unreadable.push({ file, message: e.message });
    }
  }
  if (opts.json) {
    const out = [
      ...results.map((r) => ({ file: r.file, valid: r.valid, findings: r.findings })),
      ...unreadable.map((u) => ({ file: u.file, valid: false, error: u.message })),
    ];
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    for (const r of results) {
      for (const f of r.findings) process.stderr.write(formatFinding(f) + '\n');
      const errors = r.findings.filter((f) => f.severity === 'error').length;
      const warnings = r.findings.length - errors;
      const refused = r.blocking.length;
      const extra = warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'}${refused ? `; kiln build refuses ${refused === warnings ? 'them' : `${refused} of them`}` : ''})` : '';
      if (r.valid) process.stdout.write(`${displayPath(r.file)}: valid${extra}\n`);
      else process.stderr.write(`${displayPath(r.file)}: invalid, ${errors} error${errors === 1 ? '' : 's'}${extra}\n`);
    }
    for (const u of unreadable) process.stderr.write(`error: ${u.message}\n`);
  }
  if (unreadable.length > 0) return ExitCode.Usage;
  return results.every((r) => r.valid) ? ExitCode.Ok : ExitCode.InvalidConfig;
}

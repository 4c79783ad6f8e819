import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { writeAtomically } from '../../core/atomic.js';
import { withScope } from '../../core/scope.js';

const HELP = `
Prints the JSON Schema of the image-config format, including Kiln's extensions (Distro, Debian
PackageRepos fields), for editors' completion and checking. Point an editor at it, e.g. in VS Code
settings: "json.schemas": [{"fileMatch": ["imageconfigs/*.json"], "url": "./schema/kiln-imageconfig.schema.json"}].
The schema checks shape only; \`kiln validate\` also applies the semantic rules.

Exit codes (schema): 0 written, 2 usage error, 3 the output file could not be written.`;

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of the image-config format')
    .option('-o, --output <file>', 'write the schema to FILE (atomically) instead of stdout')
    .addHelpText('after', HELP)
    .action(async (opts: { output?: string }) => {
      const { schemaDocument } = await import('../../config/index.js');
      const text = JSON.stringify(schemaDocument(), null, 2) + '\n';
      if (!opts.output) {
        process.stdout.write(text);
        return;
      }
      const target = resolve(opts.output);
      await withScope('schema', (scope) => writeAtomically(scope, target, (tmp) => writeFile(tmp, text)));
    });
}

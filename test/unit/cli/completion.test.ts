/** Shell completion generated from the CLI definition: bash completes verbs, options and choices; zsh parses. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli/main.js';
import { bashCompletion, zshCompletion } from '../../../src/cli/completion.js';

function hasShell(shell: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`]);
    return true;
  } catch {
    return false;
  }
}

describe('kiln completion', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-completion-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bash = join(dir, 'kiln.bash');
  writeFileSync(bash, bashCompletion(buildProgram()));
  const complete = (...words: string[]) =>
    execFileSync('bash', ['-c', `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _kiln; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', bash, ...words], { encoding: 'utf8' }).trim().split('\n');

  it('bash: verbs, options of the verb, option choices', () => {
    expect(complete('kiln', 'b')).toEqual(['build', 'boot']);
    expect(complete('kiln', 'in')).toEqual(['inspect']);
    expect(complete('kiln', 'boot', '--fi')).toEqual(['--firmware']);
    expect(complete('kiln', 'boot', '--firmware', '')).toEqual(['auto', 'uefi', 'bios']);
    expect(complete('kiln', '--log-format', 'json', 'inspect', '--')).toEqual(expect.arrayContaining(['--json', '--help', '--log-format']));
    expect(complete('kiln', '--log-format', '')).toEqual(['text', 'plain', 'json']);
    expect(complete('kiln', 'completion', '')).toEqual(['bash', 'zsh']);
    expect(complete('kiln', 'inspect', 'package.j')).toEqual(['package.json']); // arguments: files
  });

  it.skipIf(!hasShell('zsh'))('zsh: the script parses', () => {
    const zsh = join(dir, '_kiln');
    writeFileSync(zsh, zshCompletion(buildProgram()));
    execFileSync('zsh', ['-n', zsh]);
  });

  it('zsh: every verb is described, option choices are offered', () => {
    const z = zshCompletion(buildProgram());
    for (const v of ['build', 'boot', 'inspect', 'validate', 'roast', 'iso', 'clean', 'prereqs', 'schema', 'completion']) expect(z).toMatch(new RegExp(`'${v}:`));
    expect(z).toContain('(auto uefi bios)');
    expect(z).toMatch(/^#compdef kiln$/m);
  });
});

/** Error codes: every code documented in docs/errors.md (and nothing else), shown in text and JSON. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { CommandError, ERROR_CODES, ExitCode, KilnError, UsageError } from '../../../src/core/errors.js';

const REPO = resolve(import.meta.dirname, '../../..');

async function kiln(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('error codes', () => {
  it('docs/errors.md has a section for every code, with its exit code, and no section for a code that does not exist', () => {
    const doc = readFileSync(join(REPO, 'docs/errors.md'), 'utf8');
    const sections = [...doc.matchAll(/^## ([A-Z_]+)$/gm)].map((m) => m[1]);
    expect(sections.sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, exit] of Object.entries(ERROR_CODES)) {
      const body = doc.split(`## ${code}\n`)[1]!.split('\n## ')[0]!;
      expect(body, code).toContain(`Exit code ${exit}.`);
      expect(body, code).toMatch(/\*\*Cause:\*\*/);
      expect(body, code).toMatch(/\*\*Remedy:\*\*/);
    }
  });

  it('every code named in the sources is a registered one', () => {
    const named = new Set<string>();
    for (const f of sources(join(REPO, 'src'))) for (const m of readFileSync(f, 'utf8').matchAll(/['"]((?:[A-Z]+_)+[A-Z]+|USAGE|INTERNAL|INTERRUPTED)['"]\s*\)/g)) named.add(m[1]!);
    for (const c of named) expect(Object.keys(ERROR_CODES), c).toContain(c);
  });

  it('every error carries a code: given, or derived from its exit code', () => {
    expect(new KilnError('x').code).toBe('BUILD_FAILED');
    expect(new KilnError('x', ExitCode.InvalidConfig).code).toBe('CONFIG_INVALID');
    expect(new KilnError('x', ExitCode.MissingHostTools).code).toBe('HOST_PREREQS_MISSING');
    expect(new UsageError('x').code).toBe('USAGE');
    expect(new CommandError('false', [], 1, 'boom').code).toBe('COMMAND_FAILED');
    expect(new CommandError('false', [], 1, 'boom').exitStatus).toBe(1);
    expect(new KilnError('x', ExitCode.Usage, [], 'INPUT_NOT_FOUND')).toMatchObject({ code: 'INPUT_NOT_FOUND', exitCode: 2 });
  });

  it('shows the code in text ("error: … [CODE]") and in JSON (the error event)', async () => {
    const text = await kiln('inspect', '/nonexistent/disk.vhdx');
    expect(text.code).toBe(2);
    expect(text.err).toMatch(/^error: \/nonexistent\/disk\.vhdx does not exist \[INPUT_NOT_FOUND\]$/m);
    const json = await kiln('--log-format', 'json', 'boot', '--check', '/nonexistent/disk.vhdx');
    expect(json.code).toBe(2);
    const events = json.err.trim().split('\n').map((l) => JSON.parse(l) as { type: string; code?: string });
    expect(events.find((e) => e.type === 'error')).toMatchObject({ code: 'INPUT_NOT_FOUND', exitCode: 2 });
    expect(events.at(-1)).toMatchObject({ type: 'end', exitCode: 2 });
    const usage = await kiln('--log-format=json', 'nosuchverb');
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('"code":"USAGE"');
  });

  it('kiln boot: a config not built yet (ARTIFACT_NOT_BUILT), a disk that boots with neither firmware (ARTIFACT_UNSUPPORTED)', async () => {
    const notBuilt = await kiln('boot', join(REPO, 'imageconfigs/core-efi.json'), '--out', '/nonexistent-kiln-out');
    expect(notBuilt.code).toBe(2);
    expect(notBuilt.err).toMatch(/no bootable artifact under \/nonexistent-kiln-out\/images\/core-efi \[ARTIFACT_NOT_BUILT\]/);
    expect(notBuilt.err).toContain('kiln build');
    const dir = mkdtempSync(join(tmpdir(), 'kiln-errors-test-'));
    const blank = join(dir, 'blank.raw');
    writeFileSync(blank, Buffer.alloc(2 * 1024 * 1024));
    const r = await kiln('boot', '--check', '--accel', 'tcg', blank);
    rmSync(dir, { recursive: true, force: true });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no EFI system partition and no BIOS boot code: not a bootable disk \[ARTIFACT_UNSUPPORTED\]/);
  });

  it('kiln --help lists the new verbs and --version prints the package version', async () => {
    const help = await kiln('--help');
    for (const verb of ['boot', 'inspect', 'completion', 'build', 'validate']) expect(help.out).toMatch(new RegExp(`^  ${verb} `, 'm'));
    expect(help.out).toContain('--log-format');
    const v = await kiln('--version');
    expect(v.out.trim()).toBe((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version);
  });
});

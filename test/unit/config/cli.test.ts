/**
 * `kiln validate` and `kiln schema` through the real CLI entry (main()): exit codes, messages that
 * name file, path and line, and never a stack trace for a user's mistake.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { schemaDocument } from '../../../src/config/index.js';
import { BASE_DIR, BASE_FILE, FIXTURES, REPO_ROOT } from './helpers.js';

const CLI = join(FIXTURES, 'cli');
const STACK = /\n\s+at .+[(:]\d+/;

async function kiln(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('kiln validate', () => {
  it('exits 0 for a valid config and says so', async () => {
    const r = await kiln('validate', BASE_FILE);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/base\.json: valid/);
    expect(r.err).toBe('');
  });

  it('reports a JSON syntax error with file, line and column (exit 1)', async () => {
    const r = await kiln('validate', join(CLI, 'bad-syntax.json'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad-syntax\.json:6:5: error: JSON syntax error: property name expected/);
    expect(r.err).toContain('hint: JSON allows no trailing comma');
    expect(r.err).not.toMatch(STACK);
  });

  it('reports a wrong type at its JSON path with a fix (exit 1)', async () => {
    const r = await kiln('validate', join(CLI, 'wrong-type.json'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/wrong-type\.json:3:78: error: SystemConfigs\[0\]\.Users\[0\]\.UID: must be a string, not a whole number/);
    expect(r.err).toContain('"UID": "1001"');
    expect(r.err).not.toMatch(STACK);
  });

  it('reports an unknown enum value with the allowed values (exit 1)', async () => {
    const r = await kiln('validate', join(CLI, 'unknown-enum.json'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/SystemConfigs\[0\]\.BootType: "uefi" is not a valid value/);
    expect(r.err).toMatch(/did you mean "efi"\? allowed: "efi", "legacy", "none", ""/);
  });

  it('reports a missing referenced file with where it looked (exit 1)', async () => {
    const r = await kiln('validate', join(CLI, 'missing-file.json'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/SystemConfigs\[0\]\.PackageLists\[0\]: package list "packagelists\/not-there\.json" does not exist \(looked for .*\/cli\/packagelists\/not-there\.json\)/);
    expect(r.err).toContain('--base-dir');
  });

  it('treats a config file that does not exist as a usage error (exit 2)', async () => {
    const r = await kiln('validate', join(CLI, 'nope.json'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error: config file .*nope\.json does not exist/);
    expect(r.err).not.toMatch(STACK);
  });

  it('exits 2 without a config argument', async () => {
    const r = await kiln('validate');
    expect(r.code).toBe(2);
    expect(r.err).toContain('no config file given');
  });

  it("accepts upstream imageconfigvalidator's --input and --dir flags", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-upstream-flags-'));
    try {
      const copy = join(dir, 'base.json');
      copyFileSync(BASE_FILE, copy);
      const r = await kiln('validate', '--input', copy, '--dir', BASE_DIR);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/base\.json: valid/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates several files; one invalid makes the exit code 1', async () => {
    const r = await kiln('validate', BASE_FILE, join(CLI, 'wrong-type.json'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/base\.json: valid/);
    expect(r.err).toMatch(/wrong-type\.json: invalid, 1 error/);
  });

  it('--json prints machine-readable findings', async () => {
    const r = await kiln('validate', '--json', join(CLI, 'wrong-type.json'), BASE_FILE);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out);
    expect(report).toHaveLength(2);
    expect(report[0]).toMatchObject({ valid: false, findings: [{ path: 'SystemConfigs[0].Users[0].UID', line: 3, column: 78, severity: 'error' }] });
    expect(report[0].findings[0].message).toContain('must be a string');
    expect(report[1]).toMatchObject({ valid: true, findings: [] });
  });

  it('--base-dir resolves relative paths against another directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-basedir-'));
    try {
      const copy = join(dir, 'base.json');
      copyFileSync(BASE_FILE, copy);
      expect((await kiln('validate', copy)).code).toBe(1); // its files are not next to the copy
      const r = await kiln('validate', '--base-dir', BASE_DIR, copy);
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts YAML configs and reports YAML syntax errors with line and column', async () => {
    expect((await kiln('validate', join(CLI, 'rootfs.yaml'))).code).toBe(0);
    const r = await kiln('validate', join(CLI, 'bad.yaml'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.yaml:\d+:\d+: error: YAML syntax error/);
  });

  it('a warning (upstream accepts the config) exits 0; --strict makes it an error (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-strict-'));
    try {
      const c = JSON.parse(readFileSync(BASE_FILE, 'utf8'));
      c.SystemConfigs[0].Hostnme = 'typo';
      const file = join(dir, 'typo.json');
      writeFileSync(file, JSON.stringify(c, null, 2));
      const lax = await kiln('validate', '--base-dir', BASE_DIR, file);
      expect(lax.code).toBe(0);
      expect(lax.out).toMatch(/typo\.json: valid \(1 warning; kiln build refuses them\)/);
      expect(lax.err).toMatch(/typo\.json:\d+:\d+: warning: SystemConfigs\[0\]\.Hostnme: unknown field "Hostnme": did you mean "Hostname"\?/);
      const strict = await kiln('validate', '--strict', '--base-dir', BASE_DIR, file);
      expect(strict.code).toBe(1);
      expect(strict.err).toMatch(/error: SystemConfigs\[0\]\.Hostnme: unknown field "Hostnme"/);
      const json = JSON.parse((await kiln('validate', '--json', '--base-dir', BASE_DIR, file)).out);
      expect(Object.keys(json[0].findings[0]).sort()).toEqual(['column', 'file', 'hint', 'line', 'message', 'path', 'severity']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kiln build refuses a config with an unknown key before building anything (exit 1, the finding printed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-build-refuses-'));
    try {
      const c = JSON.parse(readFileSync(BASE_FILE, 'utf8'));
      c.Disks[0].Partitions[1].Grwo = true;
      const file = join(dir, 'typo.json');
      writeFileSync(file, JSON.stringify(c, null, 2));
      const r = await kiln('build', '--base-dir', BASE_DIR, '--out', join(dir, 'out'), file);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/error: kiln build refuses .*typo\.json: 1 warning/);
      expect(r.err).toMatch(/warning: Disks\[0\]\.Partitions\[1\]\.Grwo: unknown field "Grwo": did you mean "Grow"\?/);
      expect(existsSync(join(dir, 'out'))).toBe(false);
      expect(r.err).not.toMatch(STACK);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--help documents options and exit codes', async () => {
    const r = await kiln('validate', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('--base-dir <dir>');
    expect(r.out).toContain('--json');
    expect(r.out).toContain('--strict');
    expect(r.out).toMatch(/Exit codes \(validate\):[\s\S]*0 {2}every config is valid[\s\S]*1 {2}at least one config is invalid[\s\S]*2 {2}usage error/);
  });
});

describe('kiln schema', () => {
  it('prints the JSON Schema', async () => {
    const r = await kiln('schema');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(schemaDocument());
  });

  it('--output writes it to a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-schema-'));
    try {
      const file = join(dir, 'schema.json');
      expect((await kiln('schema', '--output', file)).code).toBe(0);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(schemaDocument());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The upstream tool name, as installed: only when the CLI has been compiled (./kiln or npm run build).
const validatorBin = join(REPO_ROOT, 'dist', 'cli', 'imageconfigvalidator.js');
describe.skipIf(!existsSync(validatorBin))('imageconfigvalidator alias (compiled)', () => {
  it('runs `kiln validate` with the same exit codes', () => {
    // one process (node start-up is the slow part on a busy CI machine): a valid and an invalid file
    const bad = spawnSync(process.execPath, [validatorBin, BASE_FILE, join(CLI, 'unknown-enum.json')], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/base\.json: valid/);
    expect(bad.stderr).toContain('"uefi" is not a valid value');
    expect(bad.stderr).not.toMatch(STACK);
  });
});

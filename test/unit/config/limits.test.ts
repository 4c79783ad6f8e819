/**
 * The validator's limits (config/limits.ts): deep nesting is a finding before any parser runs,
 * every file it reads is a regular file of bounded size (a device, FIFO or directory is a finding
 * at once, never a hang), and disk geometry is bounded by what the build supports.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { validateConfigFile, validateConfigText } from '../../../src/config/index.js';
import { readPackageList } from '../../../src/config/packagelists.js';
import { MAX_CONFIG_BYTES, MAX_GPT_PARTITIONS, MAX_NESTING_DEPTH, MAX_PACKAGE_LIST_BYTES, readBoundedFile } from '../../../src/config/limits.js';

/** These files lie outside the config's directory on purpose: what is checked here is how they are read. */
const OUTSIDE_OK = { allowOutsideConfigDir: true };
import { BASE_FILE, baseConfig, validateObject } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fifo = join(dir, 'fifo');
spawnSync('mkfifo', [fifo]);

async function quietMain(args: string[]): Promise<number> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = () => true;
  process.stderr.write = () => true;
  try {
    return await main(args);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
  }
}

describe('nesting depth', () => {
  const deepJson = (n: number) => `{"SystemConfigs": [{"Name": "a", "Packages": ["bash"], "_c": ${'['.repeat(n)}${']'.repeat(n)}}]}`;

  it.each([
    ['JSON arrays', deepJson(3000), 'json'],
    ['JSON objects', `{"_c": ${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`, 'json'],
    ['YAML flow collections', `SystemConfigs:\n- Name: a\n  _c: ${'['.repeat(3000)}${']'.repeat(3000)}\n`, 'yaml'],
    // 2500 levels of one-space indentation: as deep as block nesting gets within the 4 MiB limit
    ['YAML block mappings', `_c:\n${Array.from({ length: 2500 }, (_, i) => `${' '.repeat(i + 1)}k:`).join('\n')}\n`, 'yaml'],
    ['YAML block sequences', `_c:\n  ${'- '.repeat(3000)}x\n`, 'yaml'],
  ])('%s nested thousands of levels deep: one finding, exit 1, no crash', async (_n, text, ext) => {
    const r = validateConfigText(text, join(dir, `deep.${ext}`));
    expect(r.valid).toBe(false);
    expect(r.findings).toEqual([expect.objectContaining({ path: '', message: `the document nests deeper than ${MAX_NESTING_DEPTH} levels`, severity: 'error' })]);
    expect(r.findings[0]!.line).toBeGreaterThan(0);
    const file = join(dir, `deep-cli.${ext}`);
    writeFileSync(file, text);
    expect(await quietMain(['validate', file])).toBe(1);
  });

  it('brackets inside strings do not count', () => {
    const text = JSON.stringify({ SystemConfigs: [{ Name: 'a', Packages: ['bash'], Hostname: 'x', _c: '['.repeat(5000) }] });
    expect(validateConfigText(text, join(dir, 'ok.json')).findings).toEqual([]);
  });

  it(`${MAX_NESTING_DEPTH} levels are accepted`, () => {
    const n = MAX_NESTING_DEPTH - 3;
    expect(validateConfigText(deepJson(n), join(dir, 'ok.json')).valid).toBe(true);
  });

  it('a YAML alias bomb is a finding', () => {
    let text = 'SystemConfigs:\n- Name: a\n  Packages: [bash]\n_a: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 12; i++) text += `_a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    const r = validateConfigText(text, join(dir, 'bomb.yaml'));
    expect(r.findings).toEqual([expect.objectContaining({ message: expect.stringContaining('expands to more than') })]);
  });
});

describe('files the validator reads', () => {
  it('reads a regular file; refuses a device, a FIFO (without blocking) and a directory', () => {
    expect(readBoundedFile(BASE_FILE, 1 << 20)).toMatchObject({ ok: true });
    expect(readBoundedFile('/dev/zero', 1 << 20)).toMatchObject({ ok: false, reason: 'not-a-file', message: 'is a device, not a regular file' });
    expect(readBoundedFile(fifo, 1 << 20)).toMatchObject({ ok: false, reason: 'not-a-file', message: 'is a FIFO, not a regular file' });
    expect(readBoundedFile(dir, 1 << 20)).toMatchObject({ ok: false, reason: 'not-a-file', message: 'is a directory, not a regular file' });
    expect(readBoundedFile(join(dir, 'none'), 1 << 20)).toMatchObject({ ok: false, reason: 'missing' });
  });

  it.each([
    ['/dev/zero', 'is a device, not a regular file'],
    [fifo, 'is a FIFO, not a regular file'],
    [dir, 'is a directory, not a regular file'],
  ])('PackageLists: [%s] is a finding at once', (path, why) => {
    const c = baseConfig();
    c.SystemConfigs[0].PackageLists = [path];
    const r = validateObject(c, OUTSIDE_OK);
    expect(r.valid).toBe(false);
    expect(r.findings).toContainEqual(expect.objectContaining({ path: 'SystemConfigs[0].PackageLists[0]', message: `package list "${path}" ${why} (looked for ${path})` }));
  });

  it(`a package list over ${MAX_PACKAGE_LIST_BYTES} bytes is a finding`, () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, JSON.stringify({ packages: ['a'], _pad: 'x'.repeat(MAX_PACKAGE_LIST_BYTES) }));
    expect(readPackageList(big).unreadable).toMatch(/the limit is 1048576 bytes/);
    const c = baseConfig();
    c.SystemConfigs[0].PackageLists = [big];
    expect(validateObject(c, OUTSIDE_OK).findings).toContainEqual(expect.objectContaining({ path: 'SystemConfigs[0].PackageLists[0]', message: expect.stringContaining('the limit is 1048576 bytes') }));
  });

  it('a config argument that is a device, FIFO or directory is a usage error (exit 2); one over the size limit is a finding (exit 1)', async () => {
    for (const bad of ['/dev/zero', fifo, dir]) {
      expect(() => validateConfigFile(bad)).toThrow(/not a regular file/);
      expect(await quietMain(['validate', bad])).toBe(2);
    }
    const big = join(dir, 'big-config.json');
    writeFileSync(big, `{"_pad": "${'x'.repeat(MAX_CONFIG_BYTES)}"}`);
    const r = validateConfigFile(big);
    expect(r.findings).toEqual([expect.objectContaining({ message: expect.stringContaining(`the limit is ${MAX_CONFIG_BYTES} bytes`), severity: 'error' })]);
    expect(await quietMain(['validate', big])).toBe(1);
  });

  it('a script or SSH key that is a device is a warning kiln build refuses', () => {
    const c = baseConfig();
    c.SystemConfigs[0].PostInstallScripts[0].Path = '/dev/zero';
    c.SystemConfigs[0].Users[0].SSHPubKeyPaths = [fifo];
    const r = validateObject(c, OUTSIDE_OK);
    expect(r.valid).toBe(true);
    expect(r.blocking.map((f) => f.message)).toEqual([
      'script "/dev/zero" is a device, FIFO or socket, not a file (/dev/zero)',
      `SSH public key file "${fifo}" is a device, FIFO or socket, not a file (${fifo})`,
    ]);
  });
});

describe('disk geometry the build supports', () => {
  const gpt = (n: number) => {
    const c = baseConfig();
    c.Disks[0].Partitions[1].End = 1000;
    for (let i = 0; i < n - 2; i++) c.Disks[0].Partitions.push({ ID: `p${i}`, Start: 1000 + i, End: 1001 + i, FsType: 'ext4' });
    return c;
  };

  it(`a GPT disk holds ${MAX_GPT_PARTITIONS} partitions`, () => {
    expect(validateObject(gpt(MAX_GPT_PARTITIONS)).valid).toBe(true);
    expect(validateObject(gpt(MAX_GPT_PARTITIONS + 1)).findings).toContainEqual(
      expect.objectContaining({ path: 'Disks[0].Partitions', message: `a GPT disk holds at most ${MAX_GPT_PARTITIONS} partitions (found ${MAX_GPT_PARTITIONS + 1})`, severity: 'error' }),
    );
  });

  it.each([
    ['gpt', 16 * 1024 * 1024, true],
    ['gpt', 16 * 1024 * 1024 + 1, false],
    ['mbr', 2 * 1024 * 1024, true],
    ['mbr', 2 * 1024 * 1024 + 1, false],
  ])('%s MaxSize %i MiB accepted: %s', (table, size, ok) => {
    const c = baseConfig();
    c.Disks[0].PartitionTableType = table;
    c.Disks[0].MaxSize = size;
    c.SystemConfigs[0].PartitionSettings[1].MountIdentifier = 'uuid';
    const r = validateObject(c);
    const finding = r.findings.find((f) => f.path === 'Disks[0].MaxSize');
    if (ok) expect(finding).toBeUndefined();
    else expect(finding).toMatchObject({ severity: 'error', message: expect.stringContaining('is larger than the largest') });
  });
});

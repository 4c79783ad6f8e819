/** Text-level checks: syntax errors with line:column, duplicate keys, YAML positions, package-list files. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfigText } from '../../../src/config/index.js';
import { readPackageList } from '../../../src/config/packagelists.js';
import { BASE_DIR } from './helpers.js';

const file = (ext: string) => join(BASE_DIR, `inline.${ext}`);

describe('JSON text', () => {
  it('rejects comments with a hint to use "_" keys', () => {
    const r = validateConfigText('{\n  // note\n  "SystemConfigs": []\n}', file('json'));
    expect(r.findings[0]).toMatchObject({ line: 2, column: 3, message: 'JSON syntax error: invalid comment token' });
    expect(r.findings[0]!.hint).toContain('"_comment"');
  });

  it('reports an unterminated document at its end', () => {
    const r = validateConfigText('{\n  "SystemConfigs": [\n', file('json'));
    expect(r.valid).toBe(false);
    expect(r.findings.every((f) => f.line !== undefined && f.column !== undefined)).toBe(true);
  });

  it('reports a key given twice (a warning: the last value wins, as upstream), together with the other findings', () => {
    const text = '{\n  "SystemConfigs": [\n    { "Name": "a", "Packages": ["bash"], "Hostname": "x", "Hostname": "y_" }\n  ]\n}\n';
    const r = validateConfigText(text, file('json'));
    expect(r.findings).toContainEqual(
      expect.objectContaining({ path: 'SystemConfigs[0].Hostname', line: 3, column: 59, severity: 'warning', message: '"Hostname" is given more than once in the same object' }),
    );
    expect(r.findings.map((f) => f.message)).toContain('"y_" is not a valid host name');
  });

  it('points an unknown key at the key itself', () => {
    const text = '{\n  "SystemConfigs": [\n    {\n      "Name": "a",\n      "Packages": ["bash"],\n      "Hostnme": "x"\n    }\n  ]\n}\n';
    const r = validateConfigText(text, file('json'));
    expect(r.findings).toEqual([expect.objectContaining({ path: 'SystemConfigs[0].Hostnme', line: 6, column: 7 })]);
  });
});

describe('findings from all stages at once', () => {
  it('reports unknown keys and bad enum values together with the semantic findings', () => {
    const text = JSON.stringify({
      SystemConfigs: [{ Name: 'a', Packages: ['bash', 'kernel'], Hostnme: 'x', BootType: 'uefi', Users: [{ Name: 'u', UID: '70000' }] }],
    });
    const paths = validateConfigText(text, file('json')).findings.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining(['SystemConfigs[0].Hostnme', 'SystemConfigs[0].BootType', 'SystemConfigs[0].Packages[1]', 'SystemConfigs[0].Users[0].UID', 'SystemConfigs[0].Users']),
    );
  });

  it('stops before the semantic rules when a field has the wrong type', () => {
    const text = JSON.stringify({ SystemConfigs: [{ Name: 'a', Packages: 'bash', Users: [{ Name: 'u', UID: '70000' }] }] });
    const findings = validateConfigText(text, file('json')).findings;
    expect(findings.map((f) => f.path)).toEqual(['SystemConfigs[0].Packages']);
  });
});

describe('YAML text', () => {
  it('locates findings at their line', () => {
    const text = 'SystemConfigs:\n  - Name: a\n    Packages: [bash]\n    BootType: uefi\n';
    const r = validateConfigText(text, file('yaml'));
    expect(r.findings).toEqual([expect.objectContaining({ path: 'SystemConfigs[0].BootType', line: 4, column: 15 })]);
  });

  it('rejects duplicate keys', () => {
    const r = validateConfigText('SystemConfigs: []\nSystemConfigs: []\n', file('yml'));
    expect(r.findings[0]).toMatchObject({ line: 2, message: expect.stringContaining('YAML syntax error') });
  });
});

describe('package-list files', () => {
  it('reads names', () => {
    expect(readPackageList(join(BASE_DIR, 'packagelists/base.json'))).toEqual({ packages: ['systemd', 'systemd-sysv', 'udev'], findings: [] });
  });

  it('reports syntax errors in the list file with line and column', () => {
    const r = readPackageList(join(BASE_DIR, 'packagelists/broken.json'));
    expect(r.findings[0]).toMatchObject({ file: expect.stringContaining('broken.json'), line: 4, column: 3, severity: 'error' });
  });
});

/**
 * Upstream's verdicts: documents are read the way upstream's Go parser (encoding/json) reads them.
 * Field names match case-insensitively (the last one wins), null and "" mean "not set", unknown
 * keys are ignored (a warning here, which `kiln build` refuses), and the model after loading is
 * canonical whatever the spelling of the document.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBlockers, ConfigInvalidError, loadConfig, validateConfigText } from '../../../src/config/index.js';
import { ExitCode } from '../../../src/core/errors.js';
import { BASE_DIR, BASE_FILE, baseConfig, UPSTREAM_DIR, validateObject, type Json } from './helpers.js';

const samples = readdirSync(UPSTREAM_DIR).filter((f) => f.endsWith('.json')).sort();

/** Every key of every struct re-spelt by `spell` (map keys such as AdditionalFiles sources and KernelOptions stay). */
function respell(doc: Json, spell: (k: string) => string, inMap = false): Json {
  if (Array.isArray(doc)) return doc.map((d) => respell(d, spell));
  if (!doc || typeof doc !== 'object') return doc;
  const out: Json = {};
  for (const [k, v] of Object.entries(doc)) {
    const map = k === 'AdditionalFiles' || k === 'KernelOptions';
    out[inMap ? k : spell(k)] = respell(v, spell, map);
  }
  return out;
}

const canonical = (file: string, text: string) => validateConfigText(text, file);

describe('field names match case-insensitively, as in Go', () => {
  it.each(samples)('%s means the same in lower case and in upper case', (name) => {
    const file = join(UPSTREAM_DIR, name);
    const original = JSON.parse(readFileSync(file, 'utf8'));
    const want = canonical(file, JSON.stringify(original));
    expect(want.valid).toBe(true);
    for (const spell of [(k: string) => k.toLowerCase(), (k: string) => k.toUpperCase()]) {
      const got = canonical(file, JSON.stringify(respell(original, spell)));
      expect(got.findings).toEqual(want.findings);
      expect(got.config).toEqual(want.config);
    }
  });

  it('a field given in two spellings: the last wins, with a warning kiln build refuses', () => {
    const c = baseConfig();
    c.SystemConfigs[0].hostname = 'second';
    const r = validateObject(c);
    expect(r.valid).toBe(true);
    expect(r.config!.SystemConfigs[0]!.Hostname).toBe('second');
    expect(buildBlockers(r).map((f) => f.message)).toEqual(['"Hostname" and "hostname" both set Hostname']);
  });

  it('a null after a value leaves the value (Go skips null)', () => {
    const text = '{"SystemConfigs": [{"Name": "a", "Packages": ["bash"], "Hostname": "kept", "hostname": null}]}';
    expect(validateConfigText(text, BASE_FILE).config!.SystemConfigs[0]!.Hostname).toBe('kept');
  });

  it('an object given twice is merged field by field, as Go decodes into the same struct', () => {
    const text = '{"SystemConfigs": [{"Name": "a", "Packages": ["bash"], "KernelCommandLine": {"ExtraCommandLine": "quiet"}, "kernelcommandline": {"CGroup": "version_two"}}]}';
    expect(validateConfigText(text, BASE_FILE).config!.SystemConfigs[0]!.KernelCommandLine).toEqual({ ExtraCommandLine: 'quiet', CGroup: 'version_two' });
  });

  it('the finding of a re-spelt field points at the key as written', () => {
    const text = '{\n  "systemconfigs": [\n    { "name": "a", "packages": ["bash"],\n      "bootTYPE": "uefi" }\n  ]\n}\n';
    const f = validateConfigText(text, BASE_FILE).findings;
    expect(f).toEqual([expect.objectContaining({ path: 'SystemConfigs[0].BootType', line: 4, column: 19, message: '"uefi" is not a valid value' })]);
  });
});

describe('null and "" mean "not set"', () => {
  it('null values are removed, "" of optional strings too: the model is the same as without them', () => {
    const c = baseConfig();
    const sc = c.SystemConfigs[0];
    Object.assign(sc, { IsDefault: null, EnableHidepid: null, OverrideRpmLocales: '', Encryption: null, RemoveDocs: null });
    Object.assign(sc.KernelCommandLine, { SELinux: '', SELinuxPolicy: '', CGroup: null, ImaPolicy: null });
    Object.assign(c.Disks[0], { BlockSize: null, TargetDisk: null, RawBinaries: null });
    Object.assign(c.Disks[0].Partitions[0], { Name: '', TypeUUID: '' });
    Object.assign(sc.PartitionSettings[0], { MountIdentifier: '', RdiffBaseImage: '' });
    Object.assign(sc.Users[0], { StartupCommand: '', PasswordHashed: null });
    const r = validateObject(c);
    expect(r.findings).toEqual([]);
    expect(r.config).toEqual(validateObject(baseConfig()).config);
  });

  it('a TargetDisk of Type "" without a Value is no target disk', () => {
    const c = baseConfig();
    c.Disks[0].TargetDisk = { Type: '', Value: '' };
    expect(validateObject(c).config!.Disks![0]!.TargetDisk).toBeUndefined();
  });

  it('null inside an array is the zero value of the element (Go), which is then checked', () => {
    const c = baseConfig();
    c.SystemConfigs[0].Packages = ['openssh-server', null];
    const r = validateObject(c);
    expect(r.findings).toContainEqual(expect.objectContaining({ path: 'SystemConfigs[0].Packages[1]', message: 'must not be empty', severity: 'error' }));
  });

  it('upstream samples with null for every optional field they leave out are still valid', () => {
    for (const name of samples.slice(0, 6)) {
      const file = join(UPSTREAM_DIR, name);
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      for (const sc of doc.SystemConfigs) Object.assign(sc, { Users: sc.Users ?? null, Groups: sc.Groups ?? null, Hostname: sc.Hostname ?? null, Networks: sc.Networks ?? null });
      const r = validateConfigText(JSON.stringify(doc), file);
      expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
    }
  });
});

describe('map keys are data', () => {
  it('a "__proto__" key in AdditionalFiles or KernelOptions is an ordinary key, never a prototype', () => {
    const text = '{"SystemConfigs": [{"Name": "a", "Packages": ["bash"], "KernelOptions": {"__proto__": "kernel"}, "AdditionalFiles": {"__proto__": "/etc/x"}}]}';
    const r = validateConfigText(text, BASE_FILE);
    const sc = r.config!.SystemConfigs[0]!;
    expect(Object.keys(sc.KernelOptions!)).toEqual(['__proto__']);
    expect(Object.keys(sc.AdditionalFiles!)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(sc.AdditionalFiles)).toBe(Object.prototype);
    expect(r.findings.map((f) => f.path)).toContain('SystemConfigs[0].AdditionalFiles.__proto__');
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });
});

describe('spellings upstream reads as the same value', () => {
  it('"bios-grub" (legacy) is the bios_grub flag; NameServer (Go tag) is NameServers', () => {
    const c = baseConfig();
    c.Disks[0].Partitions[0].Flags = ['esp', 'boot', 'bios-grub'];
    const n = c.SystemConfigs[0].Networks[0];
    n.NameServer = n.NameServers;
    delete n.NameServers;
    const r = validateObject(c);
    expect(r.findings).toEqual([]);
    expect(r.config!.Disks![0]!.Partitions![0]!.Flags).toEqual(['esp', 'boot', 'bios_grub']);
    expect(r.config!.SystemConfigs[0]!.Networks![0]!.NameServers).toEqual(['1.1.1.1']);
  });
});

describe('unknown keys: upstream ignores them; Kiln warns and kiln build refuses', () => {
  it('keys starting with "_" are comments everywhere: no finding', () => {
    const c = baseConfig();
    c._top = 1;
    c.Disks[0]._note = { any: ['thing'] };
    c.SystemConfigs[0].Users[0]._comment = 'x';
    expect(validateObject(c).findings).toEqual([]);
  });

  it('an unknown key keeps its "did you mean" in the warning', () => {
    const c = baseConfig();
    c.SystemConfigs[0].PackageList = ['packagelists/base.json'];
    const [f] = validateObject(c).findings;
    expect(f).toMatchObject({ severity: 'warning', path: 'SystemConfigs[0].PackageList', message: 'unknown field "PackageList": did you mean "PackageLists"?' });
  });

  it('loadConfig (what kiln build calls) refuses a config with an unknown key: exit 1, the finding names the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-unknown-'));
    try {
      const c = baseConfig();
      c.SystemConfigs[0].Hostnme = 'typo';
      const file = join(dir, 'c.json');
      writeFileSync(file, JSON.stringify(c, null, 2));
      const err = await loadConfig(file, { baseDir: BASE_DIR }).catch((e) => e);
      expect(err).toBeInstanceOf(ConfigInvalidError);
      expect(err.exitCode).toBe(ExitCode.InvalidConfig);
      expect(err.message).toMatch(/kiln build refuses .*c\.json: 1 warning/);
      expect(err.details.join('\n')).toMatch(/warning: SystemConfigs\[0\]\.Hostnme: unknown field "Hostnme": did you mean "Hostname"\?/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loadConfig returns the canonical model (canonical names, nulls and "" removed, absolute paths)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-canonical-'));
    try {
      const c = respell(baseConfig(), (k) => k.toLowerCase());
      c.systemconfigs[0].hostname = null;
      const file = join(dir, 'c.json');
      writeFileSync(file, JSON.stringify(c));
      const loaded = await loadConfig(file, { baseDir: BASE_DIR });
      const expected = await loadConfig(BASE_FILE);
      delete expected.config.SystemConfigs[0]!.Hostname;
      expect(loaded.config).toEqual(expected.config);
      expect(JSON.stringify(loaded.config)).not.toMatch(/null|"systemconfigs"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * From a config document to the canonical model: decode the raw tree as upstream's Go parser
 * does (config/decode.ts: case-insensitive keys, last one wins, nulls and "" removed, unknown
 * keys dropped with a warning), then the few value spellings upstream treats as the same thing
 * are written one way. Everything after this point sees one shape.
 */
import { decode, buildRefuses, type Decoded, type SchemaNode } from './decode.js';
import { markBlocking, type Finding } from './findings.js';
import type { RawNode } from './parse.js';
import { plain } from './parse.js';
import { ConfigSchema, KEEP_EMPTY, ZERO_FILL } from './schema.js';

const schema = ConfigSchema as unknown as SchemaNode;
const systemConfigSchema = (schema.properties!['SystemConfigs']!.items)!;
const networkSchema = systemConfigSchema.properties!['Networks']!.items!;

/**
 * Other spellings upstream's structs accept: upstream's Go struct tags the `Networks` list
 * `NameServer` (its document says `NameServers`); both fill NameServers.
 */
const ALIASES = new Map<SchemaNode, Record<string, string[]>>([[networkSchema, { NameServers: ['NameServer'] }]]);

export function decodeConfig(root: RawNode, file: string): Decoded {
  const decoded = decode(root, schema, file, {
    keepEmpty: KEEP_EMPTY as unknown as ReadonlySet<SchemaNode>,
    zeroFill: ZERO_FILL as unknown as ReadonlySet<SchemaNode>,
    aliases: ALIASES,
  });
  const findings = decoded.findings.map((f) => deprecatedKey(f, root) ?? markBlocking(f));
  normalize(decoded.data);
  return { ...decoded, findings };
}

/**
 * Keys upstream has retired. ReadOnlyVerityRoot: upstream's document says it is deprecated (verity
 * moved to the Azure Linux Image Customizer) and its parser no longer acts on it. Kiln builds no
 * read-only verity root: enabled, the build refuses it; otherwise it is a reminder to remove it.
 */
function deprecatedKey(f: Finding, root: RawNode): Finding | undefined {
  const m = /^SystemConfigs\[(\d+)\]\.(\w+)$/.exec(f.path);
  if (!m || m[2]!.toLowerCase() !== 'readonlyverityroot') return undefined;
  const doc = obj(plain(root)) ?? {};
  const scs = Object.entries(doc).find(([k]) => k.toLowerCase() === 'systemconfigs')?.[1];
  const value = obj(arr(scs)[Number(m[1])])?.[m[2]!];
  const enabled = value !== null && typeof value === 'object' && Object.entries(value).some(([k, v]) => k.toLowerCase() === 'enable' && v === true);
  const out: Finding = {
    ...f,
    message: `ReadOnlyVerityRoot is deprecated upstream (verity is configured with the Azure Linux Image Customizer now)${enabled ? ' and Kiln builds no read-only verity root' : ''}`,
    hint: enabled ? `remove it, or build the verity image with the Image Customizer; ${buildRefuses}` : 'remove it: it has no effect',
  };
  return enabled ? markBlocking(out) : out;
}

const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Spellings upstream reads as the same value, written the canonical way (in place). */
function normalize(data: unknown): void {
  const doc = obj(data);
  if (!doc) return;
  for (const d of arr(doc['Disks']).map(obj)) {
    if (!d) continue;
    for (const p of arr(d['Partitions']).map(obj)) {
      // "bios-grub" is upstream's legacy spelling of the bios_grub flag
      if (p && Array.isArray(p['Flags'])) p['Flags'] = p['Flags'].map((f) => (f === 'bios-grub' ? 'bios_grub' : f));
    }
    // TargetDisk of type "" with no value is upstream's "no target disk"
    const t = obj(d['TargetDisk']);
    if (t && t['Type'] === '' && t['Value'] === '') delete d['TargetDisk'];
  }
  for (const sc of arr(doc['SystemConfigs']).map(obj)) {
    if (!sc) continue;
    for (const u of arr(sc['Users']).map(obj)) {
      // upstream skips a UID that is only white space
      if (u && typeof u['UID'] === 'string' && u['UID'].trim() === '') delete u['UID'];
    }
    for (const n of arr(sc['Networks']).map(obj)) {
      // upstream trims these in place before using them
      for (const k of ['BootProto', 'Device']) {
        if (n && typeof n[k] === 'string') {
          n[k] = (n[k] as string).trim();
          if (n[k] === '') delete n[k];
        }
      }
    }
  }
}

/**
 * The raw syntax tree → the canonical document, read the way upstream's Go parser
 * (encoding/json into the configuration structs) reads it:
 *
 * - keys of a struct match its field names case-insensitively (an exact match preferred), so
 *   "hostname" and "HostName" both set Hostname; when a field is given more than once, the last
 *   non-null value wins and objects are merged into the earlier one, as Go decodes into the same
 *   struct or map;
 * - null means "not given" (Go leaves the field at its zero value or default), and so does "" for
 *   an optional string (its zero value): both are removed, so the rest of Kiln sees absent fields;
 *   a null inside an array or a map value becomes the zero value of the element, as in Go;
 * - keys Go would ignore (unknown fields) are dropped with a warning that blocks `kiln build`;
 *   keys starting with "_" are comments and dropped silently;
 * - required fields that upstream does not require (it reads them as zero) are filled with the
 *   zero value, so the rules report a precise problem instead of a missing field.
 *
 * Values of the wrong JSON type are kept as they are: the schema check reports them (Go fails on
 * them too). Every canonical path keeps the position of the value (and key) it came from.
 */
import { formatPath, type Finding, type Segment } from './findings.js';
import type { Position, RawNode } from './parse.js';
import { plain } from './parse.js';
import { didYouMean } from './suggest.js';

/** The parts of a JSON Schema node the decoder follows. */
export interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  enum?: unknown[];
  description?: string;
}

export interface DecodeOptions {
  /** Struct fields whose "" is meaningful and must stay (e.g. Permissions: "" is an error upstream). */
  keepEmpty?: ReadonlySet<SchemaNode>;
  /** Required fields filled with their zero value when absent (upstream does not require them). */
  zeroFill?: ReadonlySet<SchemaNode>;
  /** Other spellings of a field accepted as that field: { FieldName: ['Alias'] } per struct schema. */
  aliases?: ReadonlyMap<SchemaNode, Record<string, string[]>>;
  /** Extra sentence for the unknown-key warning's hint. */
  unknownKeyHint?: string;
}

export interface Decoded {
  data: unknown;
  /** Warnings found while decoding (unknown and repeated keys); each blocks `kiln build`. */
  findings: Finding[];
  /** Position of the value at a canonical path (or of its key), falling back to the nearest ancestor. */
  locate(path: readonly Segment[], key?: boolean): Position | undefined;
}

/** Appended to every warning that stops `kiln build`. */
export const buildRefuses = 'kiln build refuses the config until this is fixed';

interface Located {
  value: Position;
  key?: Position;
}

const isStruct = (s: SchemaNode | undefined): boolean => !!s?.properties;
const isRecord = (s: SchemaNode | undefined): boolean => !s?.properties && !!s?.patternProperties && Object.keys(s.patternProperties).some((p) => p !== '^_');
const recordValue = (s: SchemaNode): SchemaNode | undefined => Object.entries(s.patternProperties ?? {}).find(([p]) => p !== '^_')?.[1];
const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Go's zero value of a schema's type ("" for strings, 0 for numbers, false, empty object/array). */
function zeroValue(s: SchemaNode | undefined): unknown {
  const t = Array.isArray(s?.type) ? s?.type[0] : s?.type ?? s?.anyOf?.[0]?.type;
  switch (t) {
    case 'string':
      return '';
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return null;
  }
}

/** Sets an own property even for keys such as "__proto__" (a map key in a document is data, never a prototype). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
const hasOwn = (obj: object, key: string) => Object.prototype.hasOwnProperty.call(obj, key);

/** Later values win; objects merge field by field (Go decodes a repeated struct or map into the same value). */
function merge(earlier: unknown, later: unknown): unknown {
  if (!isPlainObject(earlier) || !isPlainObject(later)) return later;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(earlier)) setOwn(out, k, v);
  for (const [k, v] of Object.entries(later)) setOwn(out, k, hasOwn(out, k) ? merge(out[k], v) : v);
  return out;
}

export function decode(root: RawNode, schema: SchemaNode, file: string, opts: DecodeOptions = {}): Decoded {
  const positions = new Map<string, Located>();
  const findings: Finding[] = [];
  const keyOf = (path: readonly Segment[]) => JSON.stringify(path);

  const warn = (path: Segment[], at: Position, message: string, hint: string) =>
    findings.push({ file, path: formatPath(path), message, hint, ...at, severity: 'warning' });

  const value = (node: RawNode, s: SchemaNode | undefined, path: Segment[], keyAt?: Position): unknown => {
    positions.set(keyOf(path), { value: node.at, ...(keyAt ? { key: keyAt } : {}) });
    if (!s) return plain(node);
    if (s.anyOf && !s.type) {
      // a union (an AdditionalFiles destination): the branch of the value's JSON type
      const t = node.kind === 'scalar' ? typeof node.value : node.kind;
      const branch = s.anyOf.find((b) => b.type === t || (t === 'object' && isStruct(b)));
      return branch ? value(node, branch, path, keyAt) : plain(node);
    }
    if (node.kind === 'array') {
      if (!s.items) return plain(node);
      return node.items.map((item, i) =>
        item.kind === 'scalar' && item.value === null ? (positions.set(keyOf([...path, i]), { value: item.at }), zeroValue(s.items)) : value(item, s.items, [...path, i]),
      );
    }
    if (node.kind === 'object') {
      if (isStruct(s)) return struct(node, s, path);
      if (isRecord(s)) return record(node, recordValue(s)!, path);
      return plain(node);
    }
    return node.value;
  };

  const record = (node: Extract<RawNode, { kind: 'object' }>, s: SchemaNode, path: Segment[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const e of node.entries) {
      const here = [...path, e.key];
      // Go: a null map value stores the zero value of the element type
      const v = e.value.kind === 'scalar' && e.value.value === null ? zeroValue(s) : value(e.value, s, here, e.keyAt);
      if (e.value.kind === 'scalar' && e.value.value === null) positions.set(keyOf(here), { value: e.value.at, key: e.keyAt });
      if (hasOwn(out, e.key)) {
        warn(here, e.keyAt, `key "${e.key}" appears more than once in the same object`, `the values are merged and the last one wins, as upstream's parser does; keep one (${buildRefuses})`);
        setOwn(out, e.key, merge(out[e.key], v));
      } else setOwn(out, e.key, v);
    }
    return out;
  };

  const struct = (node: Extract<RawNode, { kind: 'object' }>, s: SchemaNode, path: Segment[]): Record<string, unknown> => {
    const props = s.properties ?? {};
    const names = Object.keys(props);
    const aliases = opts.aliases?.get(s) ?? {};
    const lower = new Map<string, string>();
    for (const n of names) lower.set(n.toLowerCase(), n);
    for (const [field, spellings] of Object.entries(aliases)) for (const a of spellings) lower.set(a.toLowerCase(), field);
    const out: Record<string, unknown> = {};
    const seen = new Map<string, string>();
    for (const e of node.entries) {
      if (e.key.startsWith('_')) continue; // a comment
      const field = hasOwn(props, e.key) ? e.key : lower.get(e.key.toLowerCase());
      if (field === undefined) {
        const dym = didYouMean(e.key, names);
        warn(
          [...path, e.key],
          e.keyAt,
          `unknown field "${e.key}"${dym ? `: ${dym}` : ''}`,
          `upstream's parser ignores unknown fields, so it has no effect; ${buildRefuses}. ${dym ? '' : `Fields here: ${names.join(', ')}. `}Keys starting with "_" are comments${opts.unknownKeyHint ? `. ${opts.unknownKeyHint}` : ''}`,
        );
        continue;
      }
      const here = [...path, field];
      if (seen.has(field)) {
        const first = seen.get(field)!;
        warn(
          here,
          e.keyAt,
          first === e.key ? `"${field}" is given more than once in the same object` : `"${first}" and "${e.key}" both set ${field}`,
          `upstream's parser matches field names case-insensitively and the last value wins (objects are merged); keep one (${buildRefuses})`,
        );
      }
      seen.set(field, e.key);
      if (e.value.kind === 'scalar' && e.value.value === null) {
        if (!hasOwn(out, field)) positions.set(keyOf(here), { value: e.value.at, key: e.keyAt });
        continue; // Go: null leaves the field as it was
      }
      const v = value(e.value, props[field], here, e.keyAt);
      out[field] = hasOwn(out, field) ? merge(out[field], v) : v;
    }
    const required = new Set(s.required ?? []);
    for (const [k, v] of Object.entries(out)) {
      if (v === '' && !required.has(k) && !opts.keepEmpty?.has(props[k]!)) delete out[k];
    }
    for (const k of required) {
      if (!hasOwn(out, k) && opts.zeroFill?.has(props[k]!)) out[k] = zeroValue(props[k]);
    }
    return out;
  };

  const data = value(root, schema, []);
  return {
    data,
    findings,
    locate(path, key = false) {
      for (let n = path.length; n >= 0; n--) {
        const p = positions.get(keyOf(path.slice(0, n)));
        if (p) return key && n === path.length && p.key ? p.key : p.value;
      }
      return undefined;
    },
  };
}

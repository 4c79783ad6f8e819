/**
 * Shape check: Ajv (compiled once per process) against the TypeBox schema, run on the decoded
 * (canonical) document, every error collected, each turned into a finding a person can act on:
 * enums list their values (with "did you mean"), unions report the branch the value was evidently
 * meant to be. A broken constraint that is Kiln's own (schema.ts `kiln(...)`) is a warning that
 * blocks `kiln build` when upstream's parser accepts the value, an error otherwise.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ConfigSchema, KILN_ONLY } from './schema.js';
import type { Finding, Segment } from './findings.js';
import { formatPath, markBlocking } from './findings.js';
import type { Position } from './parse.js';
import { buildRefuses } from './decode.js';
import { didYouMean } from './suggest.js';

/** The decoded document and where its values came from. */
export interface ParsedText {
  data: unknown;
  locate(path: readonly Segment[], key?: boolean): Position | undefined;
}

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, verbose: true, strict: false }).compile(ConfigSchema);
  return compiled;
}

type Schema = { type?: string; description?: string; properties?: Record<string, Schema>; anyOf?: Schema[]; enum?: unknown[] };

/**
 * Errors after which every field still has its declared JSON type (an unknown key, a value outside
 * an enum or range, a malformed string): semantic rules can still run and report their findings too.
 */
const TYPE_PRESERVING = new Set(['additionalProperties', 'enum', 'pattern', 'minLength', 'minimum', 'maximum']);

export interface SchemaCheck {
  findings: Finding[];
  /** True when the document's types match the model despite the findings. */
  typesSound: boolean;
}

export function checkSchema(parsed: ParsedText, file: string): SchemaCheck {
  const validate = validator();
  if (validate(parsed.data)) return { findings: [], typesSound: true };
  const errors = relevantErrors(validate.errors ?? []);
  const typesSound = errors.every((e) => TYPE_PRESERVING.has(e.keyword));
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const f = toFinding(e, parsed, file);
    const key = `${f.path}\0${f.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(kilnOnly(e) ? markBlocking({ ...f, severity: 'warning', hint: `${f.hint ? `${f.hint}; ` : ''}upstream's parser accepts this value, Kiln cannot build it: ${buildRefuses}` }) : f);
  }
  return { findings, typesSound };
}

/** A Kiln-only constraint broken by a value upstream's parser accepts. */
function kilnOnly(e: ErrorObject): boolean {
  const upstream = e.parentSchema ? KILN_ONLY.get(e.parentSchema) : undefined;
  if (upstream === undefined || e.keyword === 'type' || e.keyword === 'required') return false;
  return upstream === 'any' || upstream.includes(e.data);
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** For each union, keep only the errors of the branch whose type matches the value. */
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const drop = new Set<ErrorObject>();
  for (const u of errors.filter((e) => e.keyword === 'anyOf')) {
    const branches = ((u.parentSchema as Schema | undefined)?.anyOf ?? []) as Schema[];
    const t = jsonType(u.data);
    const branch = branches.findIndex((b) => b.type === t || (b.type === 'number' && t === 'integer'));
    const inside = errors.filter((e) => e !== u && e.schemaPath.startsWith(`${u.schemaPath}/`));
    const kept = inside.filter((e) => branch >= 0 && e.schemaPath.startsWith(`${u.schemaPath}/${branch}/`));
    for (const e of inside) if (!kept.includes(e)) drop.add(e);
    if (kept.length > 0) drop.add(u);
  }
  return errors.filter((e) => !drop.has(e));
}

function segmentsOf(instancePath: string, data: unknown): Segment[] {
  const out: Segment[] = [];
  let cur: unknown = data;
  for (const raw of instancePath.split('/').slice(1)) {
    const s = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const seg: Segment = Array.isArray(cur) ? Number(s) : s;
    out.push(seg);
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[s] : undefined;
  }
  return out;
}

const show = (v: unknown) => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v));

function toFinding(e: ErrorObject, parsed: ParsedText, file: string): Finding {
  let at = segmentsOf(e.instancePath, parsed.data);
  const schema = (e.parentSchema ?? {}) as Schema;
  const last = String(at[at.length - 1] ?? '');
  let message: string;
  let hint: string | undefined;
  let pointAtKey = false;
  let locateAt: Segment[] | undefined;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      at = [...at, key];
      pointAtKey = true;
      const allowed = Object.keys(schema.properties ?? {});
      message = `unknown field "${key}"`;
      hint =
        didYouMean(key, allowed) ??
        `allowed fields here: ${allowed.join(', ')} (keys starting with "_" are comments)`;
      break;
    }
    case 'required': {
      const key = String(e.params.missingProperty);
      locateAt = at; // the field does not exist: point at the object that lacks it
      at = [...at, key];
      message = `missing required field "${key}"`;
      const desc = schema.properties?.[key]?.description;
      hint = desc ? `add "${key}" (${desc.replace(/\.$/, '')})` : `add "${key}"`;
      break;
    }
    case 'type': {
      message = `must be ${article(String(e.params.type))}, not ${article(jsonType(e.data))}`;
      if ((last === 'UID' || last === 'GID') && typeof e.data === 'number') {
        hint = `write it as a string: "${last}": "${e.data}" (upstream's parser rejects a number here)`;
      } else if (schema.description) hint = schema.description;
      break;
    }
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      message = `${show(e.data)} is not a valid value`;
      const dym = typeof e.data === 'string' ? didYouMean(e.data, allowed.filter(Boolean)) : undefined;
      hint = `${dym ? `${dym} ` : ''}allowed: ${allowed.map((a) => show(a)).join(', ')}`;
      break;
    }
    case 'minimum':
    case 'maximum': {
      message = `${show(e.data)} is out of range`;
      const s = e.parentSchema as { minimum?: number; maximum?: number };
      hint =
        last === 'PasswordExpiresDays'
          ? 'use 0-99999 days, or -1 for a password that never expires'
          : s.maximum !== undefined
            ? `use a value between ${s.minimum ?? '-∞'} and ${s.maximum}`
            : `use a value of at least ${s.minimum}`;
      break;
    }
    case 'pattern':
      ({ message, hint } = patternMessage(last, e.data));
      break;
    case 'minLength':
      message = 'must not be empty';
      hint = schema.description;
      break;
    case 'minItems':
      message = `must have at least ${e.params.limit} entr${e.params.limit === 1 ? 'y' : 'ies'}`;
      hint = schema.description;
      break;
    case 'anyOf':
      message = `has the wrong form (${article(jsonType(e.data))})`;
      hint = schema.description;
      break;
    default:
      message = e.message ?? 'is invalid';
      hint = schema.description;
  }
  return {
    file,
    path: formatPath(at),
    message,
    ...(hint ? { hint } : {}),
    ...(parsed.locate(locateAt ?? at, pointAtKey) ?? {}),
    severity: 'error',
  };
}

function patternMessage(field: string, value: unknown): { message: string; hint: string } {
  switch (field) {
    case 'UID':
    case 'GID':
      return { message: `${show(value)} is not a number`, hint: `use a decimal number in a string, e.g. "${field}": "1001"` };
    case 'Permissions':
      return { message: `${show(value)} is not an octal permission string`, hint: 'use octal digits for the permission bits (at most 777), e.g. "644" or "0755"' };
    case 'TypeUUID':
      return { message: `${show(value)} is not a GUID`, hint: 'use the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, or a friendly name in "Type"' };
    case 'Name':
      return typeof value === 'string' && /^\s*$/.test(value)
        ? { message: 'must not be blank', hint: 'give it a name' }
        : { message: `${show(value)} is not a plain file name: it contains "/" or a NUL, or starts with "."`, hint: 'artifact names name a file in the output folder (out/images/<config>/<Name>.<ext>)' };
    default:
      return { message: `${show(value)} has an invalid format`, hint: 'see docs/config.md' };
  }
}

function article(t: string): string {
  const word = t === 'integer' ? 'whole number' : t;
  return `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
}

/**
 * Config text → a raw syntax tree that keeps what a plain object would lose: every key in its
 * order (a key given twice, or in two spellings, is still there), and the line:column of every key
 * and value. config/decode.ts turns it into the canonical model the way upstream's Go parser reads
 * the document. Syntax errors become findings with line and column; nothing here throws for a
 * user's mistake.
 *
 * Before any parser runs, a non-recursive scan of the text measures how deeply it nests and stops
 * at MAX_NESTING_DEPTH, so the recursive code after it (parsers, decoder, schema check) only ever
 * sees shallow documents.
 */
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { Finding } from './findings.js';
import { MAX_NESTING_DEPTH, MAX_YAML_NODES } from './limits.js';

export interface Position {
  line: number;
  column: number;
}

export type RawScalar = string | number | boolean | null;
export type RawNode =
  | { kind: 'object'; at: Position; entries: RawEntry[] }
  | { kind: 'array'; at: Position; items: RawNode[] }
  | { kind: 'scalar'; at: Position; value: RawScalar };
export interface RawEntry {
  key: string;
  keyAt: Position;
  value: RawNode;
}

export type ParseResult = { ok: true; root: RawNode } | { ok: false; findings: Finding[] };

export function isYamlFile(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

export function parseConfigText(text: string, file: string): ParseResult {
  const yaml = isYamlFile(file);
  const deep = yaml ? yamlDepth(text) : jsonDepth(text);
  if (deep) {
    return {
      ok: false,
      findings: [
        {
          file,
          path: '',
          message: `the document nests deeper than ${MAX_NESTING_DEPTH} levels`,
          hint: `an image config nests about 6 levels; Kiln reads at most ${MAX_NESTING_DEPTH}`,
          ...deep,
          severity: 'error',
        },
      ],
    };
  }
  return yaml ? parseYaml(text, file) : parseJson(text, file);
}

/** Plain JavaScript value of a raw node (for findings that quote a value, and for the schema check of non-struct values). */
export function plain(node: RawNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'array':
      return node.items.map(plain);
    case 'object': {
      const out: Record<string, unknown> = {};
      // defineProperty: a "__proto__" key is data, never the object's prototype
      for (const e of node.entries) Object.defineProperty(out, e.key, { value: plain(e.value), enumerable: true, writable: true, configurable: true });
      return out;
    }
  }
}

// ---- positions ----

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function positionAt(starts: readonly number[], offset: number): Position {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 };
}

// ---- nesting depth, measured without recursion ----

/** Position where JSON nesting first exceeds the limit, or undefined. Brackets inside strings do not count. */
function jsonDepth(text: string): Position | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > MAX_NESTING_DEPTH) return positionAt(lineStarts(text), i);
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/**
 * YAML nesting, over-estimated line by line: block collections nest by indentation (a stack of
 * indentation widths), each leading "- " or "? " opens one more level, and flow brackets outside
 * quotes and comments count as in JSON. Block scalar bodies (after "|" or ">") are skipped.
 */
function yamlDepth(text: string): Position | undefined {
  const lines = text.split('\n');
  const indents: number[] = [];
  let flow = 0;
  let blockScalarIndent = -1;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const content = line.trimStart();
    const indent = line.length - content.length;
    if (blockScalarIndent >= 0) {
      if (content === '' || indent > blockScalarIndent) continue;
      blockScalarIndent = -1;
    }
    if (content === '' || content.startsWith('#')) continue;
    if (flow === 0) {
      while (indents.length && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
    }
    let depth = indents.length;
    let i = 0;
    while (i < content.length - 1 && (content[i] === '-' || content[i] === '?') && content[i + 1] === ' ') {
      depth++;
      i += 2;
      while (content[i] === ' ') i++;
    }
    let quote = '';
    for (; i < content.length; i++) {
      const c = content[i]!;
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '#' && (i === 0 || content[i - 1] === ' ')) break;
      else if (c === '[' || c === '{') {
        if (depth + ++flow > MAX_NESTING_DEPTH) return { line: n + 1, column: indent + i + 1 };
      } else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
    }
    if (depth + flow > MAX_NESTING_DEPTH) return { line: n + 1, column: indent + 1 };
    if (flow === 0 && /(^|[:\s-])[|>][0-9+-]*\s*(#.*)?$/.test(content)) blockScalarIndent = indent;
  }
  return undefined;
}

// ---- JSON ----

const JSON_SYNTAX_HINTS: Record<string, string> = {
  CommaExpected: 'separate entries with a comma',
  PropertyNameExpected: 'JSON allows no trailing comma before } or ]; property names need double quotes',
  ValueExpected: 'JSON allows no trailing comma before } or ]',
  InvalidCommentToken: 'JSON has no comments: use a key starting with "_" (e.g. "_comment") instead',
  ColonExpected: 'separate a key from its value with ":"',
  CloseBraceExpected: 'a "}" is missing',
  CloseBracketExpected: 'a "]" is missing',
  UnexpectedEndOfString: 'a string is not closed with "',
  InvalidSymbol: 'strings need double quotes; true/false/null are lower case',
};

function parseJson(text: string, file: string): ParseResult {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const starts = lineStarts(text);
  if (errors.length > 0 || !root) {
    const unique = errors.filter((e, i) => errors.findIndex((o) => o.offset === e.offset) === i);
    return {
      ok: false,
      // one finding per position: a single stray comma yields several codes at the same offset
      findings: (unique.length ? unique : [{ error: 4, offset: 0, length: 0 } as ParseError]).map((e) => {
        const code = printParseErrorCode(e.error);
        return {
          file,
          path: '',
          message: `JSON syntax error: ${code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}`,
          hint: JSON_SYNTAX_HINTS[code] ?? 'fix the JSON syntax at this position',
          ...positionAt(starts, e.offset),
          severity: 'error' as const,
        };
      }),
    };
  }
  const convert = (n: Node): RawNode => {
    const at = positionAt(starts, n.offset);
    if (n.type === 'object') {
      const entries: RawEntry[] = [];
      for (const prop of n.children ?? []) {
        const [k, v] = prop.children ?? [];
        if (k && v) entries.push({ key: String(k.value), keyAt: positionAt(starts, k.offset), value: convert(v) });
      }
      return { kind: 'object', at, entries };
    }
    if (n.type === 'array') return { kind: 'array', at, items: (n.children ?? []).map(convert) };
    return { kind: 'scalar', at, value: (n.value ?? null) as RawScalar };
  };
  return { ok: true, root: convert(root) };
}

// ---- YAML ----

function parseYaml(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = (pos: number, message: string): Finding => {
    const p = lineCounter.linePos(pos);
    return { file, path: '', message: `YAML syntax error: ${message}`, hint: 'fix the YAML syntax at this position', line: p.line, column: p.col, severity: 'error' };
  };
  if (doc.errors.length > 0) return { ok: false, findings: doc.errors.map((e) => syntax(e.pos[0], e.message.split('\n')[0] ?? '')) };
  const at = (n: { range?: [number, number, number] | null } | null | undefined): Position => {
    const p = lineCounter.linePos(n?.range?.[0] ?? 0);
    return { line: p.line, column: p.col };
  };
  let budget = MAX_YAML_NODES;
  const convert = (n: YamlNode | unknown, aliases: number): RawNode => {
    if (--budget < 0) throw new YamlTooLarge(at(n as YamlNode));
    if (isAlias(n)) {
      if (aliases > MAX_NESTING_DEPTH) throw new YamlTooLarge(at(n));
      return convert(n.resolve(doc as Document), aliases + 1);
    }
    if (isMap(n)) {
      const entries: RawEntry[] = [];
      for (const pair of n.items) {
        if (!isPair(pair)) continue;
        const k = pair.key;
        const key = isScalar(k) ? String(k.value) : String(k);
        entries.push({ key, keyAt: at(k as YamlNode), value: pair.value == null ? { kind: 'scalar', at: at(k as YamlNode), value: null } : convert(pair.value, aliases) });
      }
      return { kind: 'object', at: at(n), entries };
    }
    if (isSeq(n)) return { kind: 'array', at: at(n), items: n.items.map((i) => convert(i, aliases)) };
    if (isScalar(n)) {
      const v = n.value;
      const value: RawScalar = v === null || v === undefined ? null : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
      return { kind: 'scalar', at: at(n), value };
    }
    return { kind: 'scalar', at: at(n as YamlNode), value: null };
  };
  try {
    return { ok: true, root: doc.contents ? convert(doc.contents, 0) : { kind: 'scalar', at: { line: 1, column: 1 }, value: null } };
  } catch (e) {
    if (!(e instanceof YamlTooLarge)) throw e;
    return {
      ok: false,
      findings: [{ file, path: '', message: `the YAML document expands to more than ${MAX_YAML_NODES} nodes (aliases)`, hint: 'write the values out instead of repeating aliases', ...e.at, severity: 'error' }],
    };
  }
}

class YamlTooLarge extends Error {
  constructor(readonly at: Position) {
    super('YAML document too large');
  }
}

/**
 * Config text → data, with a locator that maps a JSON path back to line:column (for JSON via
 * jsonc-parser's syntax tree, for YAML via the yaml package's node ranges). Syntax errors become
 * findings with line and column; nothing here throws for a user's mistake.
 */
import { findNodeAtLocation, parse as parseJsonc, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { formatPath, type Finding, type Segment } from './findings.js';

export interface Position {
  line: number;
  column: number;
}

export interface ParsedText {
  data: unknown;
  /** Problems found while parsing that do not prevent checking the rest (duplicate keys). */
  findings: Finding[];
  /** Position of the value at `path` (or of its nearest existing ancestor). `key`: point at the key instead. */
  locate(path: readonly Segment[], key?: boolean): Position | undefined;
}

export type ParseResult = { ok: true; parsed: ParsedText } | { ok: false; findings: Finding[] };

export function isYamlFile(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

export function parseConfigText(text: string, file: string): ParseResult {
  return isYamlFile(file) ? parseYaml(text, file) : parseJson(text, file);
}

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
  const data: unknown = parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const starts = lineStarts(text);
  if (errors.length > 0) {
    return {
      ok: false,
      // one finding per position: a single stray comma yields several codes at the same offset
      findings: errors.filter((e, i) => errors.findIndex((o) => o.offset === e.offset) === i).map((e) => {
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
  const root = parseTree(text);
  return {
    ok: true,
    parsed: {
      data,
      findings: root ? duplicateKeys(root, file, starts) : [],
      locate(path, key = false) {
        if (!root) return undefined;
        for (let n = path.length; n >= 0; n--) {
          const node: Node | undefined = findNodeAtLocation(root, path.slice(0, n) as Segment[]);
          if (!node) continue;
          const at = key && n === path.length && node.parent?.type === 'property' ? node.parent.offset : node.offset;
          return positionAt(starts, at);
        }
        return undefined;
      },
    },
  };
}

function parseYaml(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      findings: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          file,
          path: '',
          message: `YAML syntax error: ${e.message.split('\n')[0]}`,
          hint: 'fix the YAML syntax at this position',
          line: pos.line,
          column: pos.col,
          severity: 'error' as const,
        };
      }),
    };
  }
  return {
    ok: true,
    parsed: {
      data: doc.toJS(),
      findings: [], // the yaml parser already rejects duplicate keys (uniqueKeys)
      locate(path) {
        for (let n = path.length; n >= 0; n--) {
          const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
          if (isNode(node) && node.range) {
            const pos = lineCounter.linePos(node.range[0]);
            return { line: pos.line, column: pos.col };
          }
        }
        return undefined;
      },
    },
  };
}

/** JSON allows a key twice and keeps the last value: almost always an editing mistake, so an error. */
function duplicateKeys(root: Node, file: string, starts: readonly number[]): Finding[] {
  const out: Finding[] = [];
  const walk = (node: Node, path: Segment[]) => {
    if (node.type === 'object') {
      const seen = new Set<string>();
      for (const prop of node.children ?? []) {
        const [keyNode, valueNode] = prop.children ?? [];
        if (!keyNode) continue;
        const key = String(keyNode.value);
        if (seen.has(key)) {
          out.push({
            file,
            path: formatPath([...path, key]),
            message: `key "${key}" appears twice in the same object; the second value silently replaces the first`,
            hint: 'keep one of them',
            ...positionAt(starts, keyNode.offset),
            severity: 'error',
          });
        }
        seen.add(key);
        if (valueNode) walk(valueNode, [...path, key]);
      }
    } else if (node.type === 'array') {
      (node.children ?? []).forEach((child, i) => walk(child, [...path, i]));
    }
  };
  walk(root, []);
  return out;
}

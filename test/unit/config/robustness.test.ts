/**
 * The validator never crashes on a user's document: seeded random mutations of the base config and
 * of upstream samples (values replaced by other JSON types, strings, numbers, keys removed; and at
 * the text level keys re-cased or repeated, nulls, deep nesting, truncation, stray characters,
 * unknown keys, the same as YAML) must all yield findings, never an exception, and every finding
 * must carry a file, a path and a message.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { validateConfigText } from '../../../src/config/index.js';
import { BASE_FILE, UPSTREAM_DIR, type Json } from './helpers.js';

function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

const REPLACEMENTS: unknown[] = [null, 0, -1, 1.5, 70000, '', ' ', 'x', '../..', '/', 'gpt', 'esp', [], {}, true, ['x'], { a: 1 }];

/** Every [container, key] pair in the document. */
function slots(doc: Json, out: [Json, string | number][] = []): [Json, string | number][] {
  if (Array.isArray(doc)) {
    doc.forEach((v, i) => {
      out.push([doc, i]);
      slots(v, out);
    });
  }
  else if (doc && typeof doc === 'object') {
    for (const k of Object.keys(doc)) {
      out.push([doc, k]);
      slots(doc[k], out);
    }
  }
  return out;
}

const sources = [BASE_FILE, ...readdirSync(UPSTREAM_DIR).filter((f) => f.endsWith('.json')).slice(0, 8).map((f) => join(UPSTREAM_DIR, f))];

/** Text-level mutations upstream's parser would see: re-cased keys, repeated keys, nulls, deep nesting, stray characters. */
function mutateText(text: string, rand: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const keys = [...text.matchAll(/"([A-Za-z_]+)":/g)];
  let out = text;
  for (let m = 0; m < 1 + Math.floor(rand() * 3); m++) {
    const k = keys.length ? pick(keys) : undefined;
    switch (Math.floor(rand() * 6)) {
      case 0: // re-case a key
        if (k) out = out.replace(`"${k[1]}":`, `"${[...k[1]!].map((c) => (rand() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('')}":`);
        break;
      case 1: // repeat a key with null or another value
        if (k) out = out.replace(`"${k[1]}":`, `"${k[1]!.toLowerCase()}": ${pick(['null', '""', '0', '[]', '{}', 'true'])}, "${k[1]}":`);
        break;
      case 2: // nest deeply under a comment key
        out = out.replace('{', `{"_deep": ${'['.repeat(Math.floor(rand() * 200))}${']'.repeat(Math.floor(rand() * 200))}, `);
        break;
      case 3: // truncate
        out = out.slice(0, Math.floor(rand() * out.length));
        break;
      case 4: // a stray character
        {
          const at = Math.floor(rand() * out.length);
          out = out.slice(0, at) + pick(['{', '}', '[', ']', ',', ':', '"', '\\', '\u0000', 'null']) + out.slice(at);
        }
        break;
      default: // an unknown key
        out = out.replace('{', `{"${pick(['Hostnme', 'readonlyverityroot', 'X', 'NameServer'])}": ${pick(['null', '1', '{"Enable": true}', '"x"'])}, `);
    }
  }
  return out;
}

function wellFormed(result: ReturnType<typeof validateConfigText>): void {
  for (const f of result.findings) {
    expect(f.file).toBeTruthy();
    expect(f.message).toBeTruthy();
    expect(typeof f.path).toBe('string');
    expect(['error', 'warning']).toContain(f.severity);
    if (f.line !== undefined) expect(f.line).toBeGreaterThan(0);
  }
  expect(result.valid).toBe(!result.findings.some((f) => f.severity === 'error'));
}

describe('robustness', () => {
  it.each(sources)('random mutations of %s never throw', (file) => {
    const rand = prng(file.length * 7919);
    const original = readFileSync(file, 'utf8');
    for (let round = 0; round < 40; round++) {
      const doc = JSON.parse(original);
      const all = slots(doc);
      for (let m = 0; m < 1 + Math.floor(rand() * 3); m++) {
        const [container, key] = all[Math.floor(rand() * all.length)]!;
        if (rand() < 0.2 && !Array.isArray(container)) delete container[key];
        else container[key] = structuredClone(REPLACEMENTS[Math.floor(rand() * REPLACEMENTS.length)]);
      }
      const result = validateConfigText(JSON.stringify(doc, null, 2), file);
      wellFormed(result);
    }
  });

  it.each(sources)('seeded text mutations of %s (JSON and YAML, strict or not) never throw', (file) => {
    const rand = prng(file.length * 104729);
    const original = readFileSync(file, 'utf8');
    for (let round = 0; round < 40; round++) {
      const text = mutateText(original, rand);
      wellFormed(validateConfigText(text, file, { strict: round % 2 === 0 }));
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        continue;
      }
      wellFormed(validateConfigText(stringify(doc), file.replace(/\.json$/, '.yaml')));
    }
  });
});

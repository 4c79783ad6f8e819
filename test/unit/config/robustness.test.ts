/**
 * The validator never crashes on a user's document: seeded random mutations of the base config and
 * of upstream samples (values replaced by other JSON types, strings, numbers, keys removed) must
 * all yield findings, never an exception, and every finding must carry a file and a message.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
      for (const f of result.findings) {
        expect(f.file).toBeTruthy();
        expect(f.message).toBeTruthy();
      }
    }
  });
});

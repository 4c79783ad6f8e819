/**
 * Validator benchmark: full validation (parse, schema, semantic rules, package lists read, file
 * existence) of every upstream sample and shipped config, next to its peer in the same run:
 * reading and JSON.parse-ing the same config and its package lists (the work no validator can
 * avoid). Prints per-config milliseconds and the validate/peer ratio, plus the one-time cost of
 * compiling the schema (Ajv) on first use.
 * Run: npx vite-node bench/validate.ts [rounds=200]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { validateConfigFile } from '../src/config/index.js';

const REPO = resolve(import.meta.dirname, '..');
const rounds = Number(process.argv[2] ?? 200);
const dirs = [join(REPO, 'test/fixtures/upstream/imageconfigs'), join(REPO, 'imageconfigs')];
const files = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => join(d, f)));

function peer(file: string): number {
  const c = JSON.parse(readFileSync(file, 'utf8'));
  let n = 0;
  for (const sc of c.SystemConfigs ?? []) {
    for (const l of sc.PackageLists ?? []) n += JSON.parse(readFileSync(resolve(dirname(file), l), 'utf8')).packages.length;
  }
  return n;
}

function time(fn: () => unknown): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  return Number(process.hrtime.bigint() - t) / 1e6 / rounds;
}

const t0 = process.hrtime.bigint();
validateConfigFile(files[0]!); // first call compiles the Ajv validator
const first = Number(process.hrtime.bigint() - t0) / 1e6;

let sumV = 0;
let sumP = 0;
console.log(`${'config'.padEnd(48)} ${'validate ms'.padStart(12)} ${'peer ms'.padStart(9)} ${'ratio'.padStart(6)}`);
for (const f of files) {
  // interleave so both see the same page cache and JIT state
  const p = time(() => peer(f));
  const v = time(() => validateConfigFile(f));
  sumV += v;
  sumP += p;
  console.log(`${f.replace(REPO + '/', '').padEnd(48)} ${v.toFixed(3).padStart(12)} ${p.toFixed(3).padStart(9)} ${(v / p).toFixed(1).padStart(6)}`);
}
console.log(`\n${files.length} configs, ${rounds} rounds each: validate ${(sumV / files.length).toFixed(3)} ms/config, peer ${(sumP / files.length).toFixed(3)} ms/config, ratio ${(sumV / sumP).toFixed(1)}`);
console.log(`first validation in this process (includes compiling the schema): ${first.toFixed(1)} ms`);

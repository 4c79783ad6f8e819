/**
 * `kiln build a.json b.json … -j N`: several configs, at most N at a time. Each build is its own
 * `kiln build` process (its own log, scopes, signal handling and memory; one failing or crashing
 * cannot stop or corrupt another), sharing the package cache and the tree cache, which are safe
 * for concurrent builds (locks; a second build of the same base tree waits for the first and
 * restores it). Its console output goes to out/logs/<name>.console.log beside its build log; the
 * terminal gets one line when a build starts and one when it ends, then a summary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, fchmodSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode, UsageError } from '../core/errors.js';
import { privateDir } from '../core/private.js';

export interface ManyRequest {
  configs: string[];
  jobs: number;
  /** `kiln build` options passed to every build (everything but the config). */
  args: string[];
  outDir: string;
}

export interface BuildOutcome {
  config: string;
  name: string;
  code: number;
  seconds: number;
  cache: string;
  error?: string;
}

const KILN = fileURLToPath(new URL('../cli/kiln.js', import.meta.url));

export function configName(config: string): string {
  return basename(config).replace(/\.(json|ya?ml)$/i, '');
}

export async function buildMany(req: ManyRequest, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<{ code: number; outcomes: BuildOutcome[] }> {
  const names = req.configs.map(configName);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UsageError(`two configs are named "${dup}": their outputs (out/images/${dup}, out/logs/${dup}.log) would collide; build them into different --out directories`);
  // root-only like the builds' own logs (core/log.ts): a console log holds what a build printed
  mkdirSync(resolve(req.outDir), { recursive: true, mode: 0o700 });
  const logs = privateDir(join(resolve(req.outDir), 'logs'));
  const started = Date.now();
  const elapsed = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`;
  const outcomes: BuildOutcome[] = new Array<BuildOutcome>(req.configs.length);
  const running = new Set<ChildProcess>();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!interrupted) write(`\n${signal}: stopping ${running.size} running build(s); each releases what it holds`);
    interrupted = signal;
    for (const c of running) c.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let next = 0;
  const worker = async () => {
    while (next < req.configs.length && !interrupted) {
      const i = next++;
      const config = req.configs[i]!;
      const name = names[i]!;
      write(`${elapsed()} ${name}: started (${i + 1}/${req.configs.length})`);
      const t0 = Date.now();
      const consoleLog = join(logs, `${name}.console.log`);
      const fd = openSync(consoleLog, 'w', 0o600);
      fchmodSync(fd, 0o600); // an earlier run's file keeps its mode otherwise
      const out = createWriteStream('', { fd });
      const child = spawn(process.execPath, [KILN, 'build', config, ...req.args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      running.add(child);
      child.stdout!.pipe(out, { end: false });
      child.stderr!.pipe(out, { end: false });
      let tail = '';
      child.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
      const code = await new Promise<number>((res) => {
        child.on('error', () => res(ExitCode.BuildFailed));
        child.on('close', (c, sig) => res(c ?? (sig ? 128 + (sig === 'SIGKILL' ? 9 : sig === 'SIGTERM' ? 15 : 2) : ExitCode.BuildFailed)));
      });
      running.delete(child);
      out.end();
      const seconds = (Date.now() - t0) / 1000;
      const cache = /tree cache: (hit|miss)/.exec(tail)?.[1] ?? (/tree cache not used|--no-cache/.test(tail) ? 'off' : '-');
      const error = code === 0 ? undefined : (tail.split('\n').find((l) => l.startsWith('error: ')) ?? tail.trim().split('\n').at(-1) ?? '').replace(/^error: /, '');
      outcomes[i] = { config, name, code, seconds, cache, ...(error !== undefined ? { error } : {}) };
      write(`${elapsed()} ${name}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${seconds.toFixed(0)} s${code === 0 ? ` (tree cache ${cache})` : `: ${error}`} — ${consoleLog}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(req.jobs, req.configs.length)) }, worker));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const done = outcomes.filter(Boolean);
  const total = (Date.now() - started) / 1000;
  write('');
  write(`${'config'.padEnd(24)} ${'result'.padEnd(10)} ${'seconds'.padStart(8)}  tree cache`);
  for (const o of done) write(`${o.name.padEnd(24)} ${(o.code === 0 ? 'ok' : `exit ${o.code}`).padEnd(10)} ${o.seconds.toFixed(1).padStart(8)}  ${o.cache}`);
  const skipped = req.configs.length - done.length;
  const failed = done.filter((o) => o.code !== 0).length;
  write(`${done.length - failed} built, ${failed} failed${skipped ? `, ${skipped} not started` : ''}; ${total.toFixed(1)} s wall for ${done.reduce((n, o) => n + o.seconds, 0).toFixed(1)} s of builds (-j ${req.jobs})`);
  const code = interrupted ? ExitCode.Interrupted : failed ? ExitCode.BuildFailed : ExitCode.Ok;
  return { code, outcomes: done };
}

/** Seconds and peak memory a finished build recorded (for the summary of benchmarks). */
export function readTimings(outDir: string, name: string): { totalSeconds: number; maxRssMiB: number } | undefined {
  try {
    return JSON.parse(readFileSync(join(resolve(outDir), 'logs', `${name}.timings.json`), 'utf8')) as { totalSeconds: number; maxRssMiB: number };
  } catch {
    return undefined;
  }
}

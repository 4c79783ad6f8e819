/**
 * Build each image once per test run and share it between test files (vitest runs files in
 * separate workers, so the memo lives on disk under the run's directory, guarded by a lock).
 * Builds go through the real CLI (`./kiln build`), as a user would run it.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { run } from '../../../src/core/exec.js';
import { e2eWorkDir } from './workdir.js';

export const REPO = resolve(import.meta.dirname, '../../..');
export const KILN = join(REPO, 'kiln');

export interface BuiltImage {
  /** The --out directory of the build. */
  out: string;
  /** out/images/<config-name> */
  imageDir: string;
  /** out/logs/<config-name>.log */
  log: string;
  /** out/images/<config-name>/manifest.json (an ISO config has one manifest-<n>-<name>.json per system instead) */
  manifest: string;
  /**
   * What the build printed: with `terminal`, the transcript of the pseudo-terminal it ran under
   * (live display and summary); otherwise its --log-format json events, one per line.
   */
  console: string;
}

export interface BuildRequest {
  /** Config file (absolute, or relative to the repository). */
  config: string;
  /** Extra `kiln build` arguments (e.g. --keep-raw). Part of the memo key. */
  args?: string[];
  /** Memo key suffix when the same config is built twice with different intent. */
  key?: string;
  /**
   * Run the build under a pseudo-terminal (`script`), as a person at a terminal would: the console
   * shows the live display. Part of the memo key. Default: --log-format json, recorded.
   */
  terminal?: boolean;
}

/** Build (or reuse this run's build of) a config; throws with the build's stderr tail on failure. */
export async function buildImage(req: BuildRequest): Promise<BuiltImage> {
  const config = resolve(REPO, req.config);
  const name = basename(config).replace(/\.(json|ya?ml)$/, '');
  const key = [name, req.key, req.terminal ? 'tty' : '', ...(req.args ?? [])].filter(Boolean).join('_').replace(/[^A-Za-z0-9._-]+/g, '-');
  const base = join(e2eWorkDir(), 'builds');
  mkdirSync(base, { recursive: true });
  const out = join(base, key);
  const marker = join(base, `${key}.result.json`);
  const built: BuiltImage = {
    out,
    imageDir: join(out, 'images', name),
    log: join(out, 'logs', `${name}.log`),
    manifest: join(out, 'images', name, 'manifest.json'),
    console: join(base, `${key}.${req.terminal ? 'typescript' : 'events.jsonl'}`),
  };
  const lockTarget = join(base, `${key}.lock`);
  writeFileSync(lockTarget, '', { flag: 'a' });
  const unlock = await lockfile.lock(lockTarget, { retries: { retries: 100000, minTimeout: 1000, maxTimeout: 2000 }, stale: 60_000 });
  try {
    if (existsSync(marker)) {
      const prev = JSON.parse(readFileSync(marker, 'utf8')) as { ok: boolean; error?: string };
      if (prev.ok) return built;
      throw new Error(`earlier build of ${key} in this run failed:\n${prev.error}`);
    }
    const argv = ['build', config, '--out', out, ...(req.args ?? [])];
    let r;
    if (req.terminal) {
      // script(1) gives the build a pseudo-terminal and records everything it shows there
      const command = [KILN, ...argv].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      r = await run('script', ['--quiet', '--flush', '--return', '--command', command, built.console], { allowFailure: true, captureStdout: false, env: { ...process.env, TERM: 'xterm-256color', COLUMNS: '120', LINES: '40', CI: '' } });
    } else {
      writeFileSync(built.console, '');
      r = await run(KILN, ['--log-format', 'json', ...argv], { allowFailure: true, captureStdout: false, onLine: (line, stream) => stream === 'stderr' && appendFileSync(built.console, line + '\n') });
    }
    if (r.code !== 0) {
      const error = `kiln build ${req.config} exited ${r.code}\n${explain(built.console, req.terminal ? undefined : r.stderrTail)}\n(full log: ${built.log})`;
      writeFileSync(marker, JSON.stringify({ ok: false, error }));
      throw new Error(error);
    }
    writeFileSync(marker, JSON.stringify({ ok: true }));
    return built;
  } finally {
    await unlock();
  }
}

/**
 * The warnings a --log-format json build printed (the shipped configs must build without any). One
 * is left out: roast's "still attached to /dev/loopN", which a concurrent build on a shared machine
 * causes (its mount namespace copied this build's mounts).
 */
export function buildWarnings(image: BuiltImage): string[] {
  const text = readFileSync(image.console, 'utf8');
  if (image.console.endsWith('.typescript')) {
    return text.split(/\r?\n/).filter((l) => /warning: /.test(l) && !/ is still attached to \/dev\/loop\d+/.test(l));
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; message?: string })
    .filter((e) => e.type === 'warning')
    .map((e) => String(e.message))
    .filter((m) => !/ is still attached to \/dev\/loop\d+/.test(m));
}

/** A failed build's error, from its JSON error event (or the end of the terminal transcript). */
function explain(consoleFile: string, stderrTail?: string): string {
  const text = existsSync(consoleFile) ? readFileSync(consoleFile, 'utf8') : (stderrTail ?? '');
  for (const line of text.split('\n').reverse()) {
    try {
      const e = JSON.parse(line) as { type?: string; code?: string; message?: string; details?: string[] };
      if (e.type === 'error') return [`error: ${e.message} [${e.code}]`, ...(e.details ?? [])].join('\n');
    } catch {
      // not a JSON line
    }
  }
  return text.split('\n').slice(-40).join('\n');
}

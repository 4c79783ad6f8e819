/**
 * Build each image once per test run and share it between test files (vitest runs files in
 * separate workers, so the memo lives on disk under the run's directory, guarded by a lock).
 * Builds go through the real CLI (`./kiln build`), as a user would run it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  manifest: string;
}

export interface BuildRequest {
  /** Config file (absolute, or relative to the repository). */
  config: string;
  /** Extra `kiln build` arguments (e.g. --keep-raw). Part of the memo key. */
  args?: string[];
  /** Memo key suffix when the same config is built twice with different intent. */
  key?: string;
}

/** Build (or reuse this run's build of) a config; throws with the build's stderr tail on failure. */
export async function buildImage(req: BuildRequest): Promise<BuiltImage> {
  const config = resolve(REPO, req.config);
  const name = basename(config).replace(/\.(json|ya?ml)$/, '');
  const key = [name, req.key, ...(req.args ?? [])].filter(Boolean).join('_').replace(/[^A-Za-z0-9._-]+/g, '-');
  const base = join(e2eWorkDir(), 'builds');
  mkdirSync(base, { recursive: true });
  const out = join(base, key);
  const marker = join(base, `${key}.result.json`);
  const built: BuiltImage = {
    out,
    imageDir: join(out, 'images', name),
    log: join(out, 'logs', `${name}.log`),
    manifest: join(out, 'images', name, 'manifest.json'),
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
    const r = await run(KILN, ['build', config, '--out', out, ...(req.args ?? [])], { allowFailure: true, captureStdout: false });
    if (r.code !== 0) {
      const error = `kiln build ${req.config} exited ${r.code}\n${r.stderrTail}\n(full log: ${built.log})`;
      writeFileSync(marker, JSON.stringify({ ok: false, error }));
      throw new Error(error);
    }
    writeFileSync(marker, JSON.stringify({ ok: true }));
    return built;
  } finally {
    await unlock();
  }
}

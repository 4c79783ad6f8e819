/**
 * core-efi.json variants built with a private tree cache and SOURCE_DATE_EPOCH set, for the tree
 * cache's end-to-end files (cache.test.ts in the CI tier, cache-full.test.ts in the full tier).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type RunResult } from '../../../src/core/exec.js';
import { KILN, REPO } from './images.js';
import { e2eWorkDir } from './workdir.js';

export const EPOCH = '1700000000';

export interface CacheBuild {
  log: string;
  raw: string;
  vhdx: string;
  code: number;
  stderr: string;
}

export class CacheBench {
  readonly work: string;
  /** The private tree cache (this file decides what is cached). */
  readonly trees: string;

  constructor(prefix: string) {
    this.work = mkdtempSync(join(e2eWorkDir(), prefix));
    this.trees = join(this.work, 'trees');
    mkdirSync(this.trees);
    cpSync(join(REPO, 'imageconfigs/packagelists'), join(this.work, 'packagelists'), { recursive: true });
  }

  /** core-efi.json with changes, written into the work directory (beside a copy of its package lists). */
  variant(name: string, change: (sc: Record<string, unknown>) => void): string {
    const c = JSON.parse(readFileSync(join(REPO, 'imageconfigs/core-efi.json'), 'utf8')) as { SystemConfigs: Record<string, unknown>[] };
    change(c.SystemConfigs[0]!);
    const file = join(this.work, `${name}.json`);
    writeFileSync(file, JSON.stringify(c, null, 2));
    return file;
  }

  async kiln(args: string[], env: Record<string, string> = { SOURCE_DATE_EPOCH: EPOCH }): Promise<RunResult> {
    return await run(KILN, args, { allowFailure: true, env: { ...process.env, ...env } });
  }

  /** Build a config into its own --out with --keep-raw; returns the build log's text and the paths. */
  async build(config: string, out: string, extra: string[] = [], env?: Record<string, string>): Promise<CacheBuild> {
    const name = config.split('/').at(-1)!.replace(/\.json$/, '');
    const r = await this.kiln(['build', config, '--out', join(this.work, out), '--tree-cache', this.trees, '--keep-raw', ...extra], env);
    const logFile = join(this.work, out, 'logs', `${name}.log`);
    return {
      code: r.code,
      stderr: r.stderrTail,
      log: existsSync(logFile) ? readFileSync(logFile, 'utf8') : '',
      raw: join(this.work, out, 'images', name, `${name}.raw`),
      vhdx: join(this.work, out, 'images', name, 'core.vhdx'),
    };
  }
}

export async function same(a: string, b: string): Promise<boolean> {
  return (await run('cmp', ['-s', a, b], { allowFailure: true })).code === 0;
}

export const keyIn = (log: string, what: 'hit' | 'miss') => new RegExp(`tree cache: ${what} ([0-9a-f]{32})`).exec(log)?.[1];

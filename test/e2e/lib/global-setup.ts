/**
 * The end-to-end tier's global setup: at the end of the run, remove this run's work directory
 * (images, ISOs, logs: many GB under /var/tmp/kiln-e2e) when every test passed; keep it when
 * something failed, and say where. Persistent caches (/var/cache/kiln) are not touched: they make
 * the next run faster. With KILN_E2E_RUN set (images reused across runs on purpose) nothing is removed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { E2E_ROOT, runIdOf } from './workdir.js';

export default function setup(project: TestProject): () => void {
  // this runs in vitest's main process: the parent of the workers that call e2eWorkDir()
  const dir = join(E2E_ROOT, runIdOf(process.pid));
  return () => {
    if (process.env.KILN_E2E_RUN || !existsSync(dir)) return;
    const state = project.vitest.state;
    const failed =
      state.getCountOfFailedTests() > 0 ||
      state.getFiles().some((f) => f.result?.state === 'fail') ||
      state.getUnhandledErrors().length > 0 ||
      (process.exitCode !== undefined && process.exitCode !== 0);
    if (failed) {
      process.stdout.write(`\ne2e: work directory kept for debugging (build logs, images, serial consoles): ${dir}\n`);
      return;
    }
    // --one-file-system: a mount a test left behind is reported, never followed
    const r = spawnSync('rm', ['-rf', '--one-file-system', dir], { encoding: 'utf8' });
    process.stdout.write(r.status === 0 ? `\ne2e: all passed; removed the work directory ${dir}\n` : `\ne2e: could not remove ${dir}: ${r.stderr}\n`);
  };
}

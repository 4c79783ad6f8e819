/** Output-directory locks: exclusive between processes, re-entrant within one, gone with their owner. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, KilnError } from '../../../src/core/errors.js';
import { run } from '../../../src/core/exec.js';
import { lockDirectory, lockFileFor } from '../../../src/core/lock.js';

const base = mkdtempSync(join(tmpdir(), 'kiln-lock-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Is the lock free for another process? (flock -n exits 1 when it is held) */
async function freeForOthers(dir: string): Promise<boolean> {
  return (await run('flock', ['--nonblock', lockFileFor(dir), 'true'], { allowFailure: true })).code === 0;
}

describe('lockDirectory', () => {
  it('holds the lock until released, beside the directory, root-only', async () => {
    const dir = join(base, 'images', 'a');
    const release = await lockDirectory(dir);
    expect(lockFileFor(dir)).toBe(join(base, 'images', '.a.lock'));
    expect(statSync(lockFileFor(dir)).mode & 0o777).toBe(0o600);
    expect(statSync(join(base, 'images')).mode & 0o777).toBe(0o700);
    expect(await freeForOthers(dir)).toBe(false);
    await release();
    expect(await freeForOthers(dir)).toBe(true);
  });

  it('is re-entrant within the process (an ISO build nests the imager)', async () => {
    const dir = join(base, 'images', 'b');
    const outer = await lockDirectory(dir);
    const inner = await lockDirectory(dir);
    await inner();
    expect(await freeForOthers(dir)).toBe(false);
    await outer();
    expect(await freeForOthers(dir)).toBe(true);
  });

  it('fails at once with exit code 5 when another process holds it', async () => {
    const dir = join(base, 'images', 'c');
    const other = run('flock', [lockFileFor(dir), 'sleep', '3'], { allowFailure: true });
    for (let i = 0; i < 50 && (await freeForOthers(dir)); i++) await new Promise((r) => setTimeout(r, 50));
    const e = await lockDirectory(dir, 'out/images/c').then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).exitCode).toBe(ExitCode.OutputLocked);
    expect((e as KilnError).message).toMatch(/out\/images\/c is in use by another build/);
    await other;
    const release = await lockDirectory(dir);
    await release();
  });

  it('is dropped by the kernel when its owner is killed', async () => {
    const dir = join(base, 'images', 'd');
    const script = join(base, 'holder.ts');
    writeFileSync(script, `import { lockDirectory } from ${JSON.stringify(join(process.cwd(), 'src/core/lock.ts'))};\nawait lockDirectory(${JSON.stringify(dir)});\nconsole.log('held');\nsetInterval(() => {}, 1000);\n`);
    const child = spawn(join(process.cwd(), 'node_modules/.bin/vite-node'), [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve()));
    expect(await freeForOthers(dir)).toBe(false);
    child.kill('SIGKILL');
    await exited;
    for (let i = 0; i < 40 && !(await freeForOthers(dir)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await freeForOthers(dir)).toBe(true);
  }, 30_000);

  it('lets its owner finish after the release (Node must not exit early with code 0)', async () => {
    // plain node on an esbuild bundle, as the CLI runs: a test runner would keep the process alive
    const dir = join(base, 'images', 'e');
    const entry = join(base, 'release.ts');
    writeFileSync(entry, `import { lockDirectory } from ${JSON.stringify(join(process.cwd(), 'src/core/lock.ts'))};\nconst release = await lockDirectory(${JSON.stringify(dir)});\nawait release();\nconsole.log('after the release');\nprocess.exitCode = 7;\n`);
    const bundle = join(base, 'release.mjs');
    await run(join(process.cwd(), 'node_modules/.bin/esbuild'), [entry, '--bundle', '--platform=node', '--format=esm', `--outfile=${bundle}`, '--log-level=warning']);
    const r = await run(process.execPath, [bundle], { allowFailure: true });
    expect(r.stdout).toContain('after the release');
    expect(r.code).toBe(7);
  }, 30_000);
});

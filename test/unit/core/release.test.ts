/**
 * A signal stops the build's running commands, but not its release steps: found by
 * bench/faults.sh, a SIGINT that arrived while the work directory was being removed killed that
 * `rm` and left the directory (and its record) behind.
 */
import { describe, expect, it } from 'vitest';
import { whileReleasing } from '../../../src/core/abort.js';
import { run, signalChildren } from '../../../src/core/exec.js';

describe('signals and release steps', () => {
  it('signalChildren stops ordinary commands but not those run while releasing', async () => {
    const ordinary = run('sleep', ['2'], { allowFailure: true });
    const release = whileReleasing(() => run('sleep', ['1'], { allowFailure: true }));
    await new Promise((r) => setTimeout(r, 200));
    signalChildren('SIGTERM');
    expect((await ordinary).code).toBe(143);
    expect((await release).code).toBe(0);
  });
});

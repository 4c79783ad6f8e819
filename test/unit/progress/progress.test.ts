/** Console front ends: JSON events valid against the documented schema, the live frame, the summary table. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { emitEvent, info, progressCount, setConsoleSink, stage, stageEnd, warn } from '../../../src/core/log.js';
import { KilnError } from '../../../src/core/errors.js';
import { formatBytes, formatDuration, renderLive, renderSummary } from '../../../src/progress/format.js';
import { createReporter, errorReport, JsonReporter, LiveReporter, PlainReporter } from '../../../src/progress/reporters.js';
import { eventValidator } from '../../lib/schemas.js';


class Capture extends Writable {
  text = '';
  isTTY = false;
  columns = 0; // an unsized pseudo-terminal: the live display must still draw
  rows = 0;
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** Drive a reporter through the calls a build makes. */
function simulateBuild(): void {
  emitEvent({ type: 'build-start', config: '/c/core-efi.json', name: 'core-efi', estimateSeconds: { 'install packages': 90, 'roast core': 8 } });
  stage('build core-efi: SystemConfig "Standard"');
  stage('install packages');
  progressCount('packages', 0, 0);
  progressCount('packages', 10, 0);
  progressCount('packages', 20, 180);
  info('180 packages installed');
  warn('something to know');
  stageEnd('install packages', 91.5, true);
  stage('roast core');
  stageEnd('roast core', 7.9, true);
  emitEvent({ type: 'artifact', kind: 'image', path: '/o/core.vhdx', bytes: 1234567890, sha256: 'c'.repeat(64) });
  emitEvent({ type: 'artifact', kind: 'manifest', path: '/o/manifest.json', bytes: 17000 });
}

describe('console front ends', () => {
  it('--log-format json: one JSON object per line, each valid against schema/kiln-events.schema.json', () => {
    const out = new Capture();
    const r = new JsonReporter(out);
    setConsoleSink(r);
    try {
      r.begin('build', '0.1.0');
      simulateBuild();
      r.error(errorReport(new KilnError('package not found: x', 3, ['searched: y'], 'PACKAGE_NOT_FOUND')));
      r.finish(0);
    } finally {
      setConsoleSink(undefined);
    }
    const validate = eventValidator();
    const lines = out.text.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string });
    for (const l of lines) expect(validate(l), JSON.stringify(l)).toBeUndefined();
    expect(lines[0]!.type).toBe('start');
    expect(lines.at(-1)).toMatchObject({ type: 'end', exitCode: 0 });
    const types = lines.map((l) => l.type);
    for (const t of ['build-start', 'stage-start', 'stage-end', 'progress', 'info', 'warning', 'artifact', 'error', 'summary']) expect(types).toContain(t);
    expect(lines.find((l) => l.type === 'error')).toMatchObject({ code: 'PACKAGE_NOT_FOUND', exitCode: 3, details: ['searched: y'] });
    expect(lines.find((l) => l.type === 'summary')).toMatchObject({ artifacts: [{ path: '/o/core.vhdx', bytes: 1234567890 }, { path: '/o/manifest.json' }], stages: [{ name: 'install packages', ok: true }, { name: 'roast core' }] });
  });

  it('the schema rejects what the reporter never writes (an unknown field, a missing code)', () => {
    const validate = eventValidator();
    expect(validate({ v: 1, time: '2026-01-01T00:00:00.000Z', elapsed: 0, type: 'info', message: 'x' })).toBeUndefined();
    expect(validate({ v: 1, time: '2026-01-01T00:00:00.000Z', elapsed: 0, type: 'info', message: 'x', extra: 1 })).toBeDefined();
    expect(validate({ v: 1, time: '2026-01-01T00:00:00.000Z', elapsed: 0, type: 'error', exitCode: 3, message: 'x', details: [] })).toBeDefined();
  });

  it('off a terminal: time-stamped lines as before, no "packages 0/…" line, a summary table at the end', () => {
    const out = new Capture();
    const r = new PlainReporter(out);
    setConsoleSink(r);
    try {
      simulateBuild();
      r.finish(0);
    } finally {
      setConsoleSink(undefined);
    }
    expect(out.text).toMatch(/^\[\s+\d+\.\ds\] build core-efi: SystemConfig "Standard"$/m);
    expect(out.text).toMatch(/^\[\s+\d+\.\ds\] install packages$/m);
    expect(out.text).toContain('warning: something to know');
    expect(out.text).not.toMatch(/packages 0\//);
    expect(out.text).toMatch(/^artifact\s+size$/m);
    expect(out.text).toMatch(/^\/o\/core\.vhdx\s+1\.15 GiB$/m);
    expect(out.text).toMatch(/^install packages\s+1:32$/m);
    expect(out.text).toMatch(/^total\s+\d+:\d\d$/m);
  });

  it('on a terminal: a live display redrawn in place, then the summary', () => {
    const out = new Capture();
    out.isTTY = true;
    const r = createReporter('text', out as unknown as NodeJS.WriteStream, { TERM: 'xterm' });
    expect(r).toBeInstanceOf(LiveReporter);
    setConsoleSink(r);
    try {
      simulateBuild();
      r.finish(0);
    } finally {
      setConsoleSink(undefined);
    }
    expect(out.text).toContain('\x1b['); // cursor movement / erase: redrawn in place
    expect(out.text).toMatch(/\[#+-*\] packages 20\/180/);
    expect(out.text).toContain('last build took');
    expect(out.text).toMatch(/done {2}install packages \(91\.5 s\)/);
    expect(out.text).toMatch(/artifact\s+size/);
    expect(createReporter('text', out as unknown as NodeJS.WriteStream, { TERM: 'dumb' })).toBeInstanceOf(PlainReporter);
    expect(createReporter('plain', out as unknown as NodeJS.WriteStream, {})).toBeInstanceOf(PlainReporter);
  });

  it('renders durations, sizes, the live frame and the summary', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64.0 MiB');
    const frame = renderLive({ stage: 'install packages', stageStarted: 0, stagesDone: 2, stagesExpected: 10, started: 0, estimateSeconds: 200, progress: { what: 'packages', done: 50, total: 100, since: 0 } }, 100_000);
    expect(frame).toContain('install packages (3/10)  1:40');
    expect(frame).toContain('packages 50/100 · ~1:40 left');
    expect(frame).toContain('elapsed 1:40 · about 1:40 left');
    expect(renderLive({ stagesDone: 0, started: 0, progress: { what: 'packages', done: 7, since: 0 } }, 1000)).toContain('packages 7\n');
    const table = renderSummary({ artifacts: [{ path: '/w/out/a.vhdx', bytes: 2048 }], stages: [{ name: 'x', seconds: 61, ok: false }], totalSeconds: 62 }, '/w');
    expect(table.split('\n')).toEqual(['artifact        size', '----------  --------', 'out/a.vhdx  2.00 KiB', 'stage       time', '----------  ----', 'x (failed)  1:01', 'total       1:02']);
  });
});

describe('secrets in the console front ends', () => {
  it('no registered password or URL credential reaches the live, plain or JSON output, the summary or an error', async () => {
    const { registerSecret, clearSecrets } = await import('../../../src/core/credentials.js');
    registerSecret('hunter2-secret');
    try {
      for (const make of [(c: Capture) => new JsonReporter(c), (c: Capture) => new PlainReporter(c), (c: Capture) => new LiveReporter(c)]) {
        const cap = new Capture();
        const r = make(cap);
        setConsoleSink(r);
        try {
          stage('install packages from https://deploy:hunter2-secret@repo.example/debian');
          info('user password hunter2-secret');
          warn('mirror http://u:p4ss@mirror.example/ unreachable');
          progressCount('packages from https://a:b@c.example/', 1, 2);
          emitEvent({ type: 'artifact', kind: 'image', path: '/o/hunter2-secret/core.vhdx', bytes: 1 });
          stageEnd('install packages from https://deploy:hunter2-secret@repo.example/debian', 1, true);
          r.error(errorReport(new KilnError('apt failed for https://deploy:hunter2-secret@repo.example/debian', 3, ['  | 401 for hunter2-secret'])));
          r.finish(0);
        } finally {
          setConsoleSink(undefined);
        }
        const name = r.constructor.name;
        expect(cap.text, name).toContain('repo.example');
        expect(cap.text, name).toContain('***');
        for (const secret of ['hunter2-secret', 'deploy:', 'p4ss', 'a:b@']) expect(cap.text, name).not.toContain(secret);
      }
    } finally {
      clearSecrets();
    }
  });

  it('a host error (ENOSPC) is a failed build with a hint, not an internal error', () => {
    const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    expect(errorReport(e)).toMatchObject({ code: 'HOST_ERROR', exitCode: 3, details: [expect.stringMatching(/full: free space there/)] });
  });
});

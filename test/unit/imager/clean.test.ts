/**
 * `kiln clean` trusts a record only when its owner is provably gone (pid gone, or reused: another
 * start time) and acts only inside Kiln's work directories; a forged record is refused.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

const base = mkdtempSync(join(tmpdir(), 'kiln-clean-'));
const state = join(base, 'state');
process.env.KILN_STATE_DIR = state;
const { cleanLeftovers, confined, insideWorkDir } = await import('../../../src/imager/clean.js');
const { processStartTime, readScopeFiles } = await import('../../../src/core/scope.js');

afterAll(() => rmSync(base, { recursive: true, force: true }));
beforeEach(() => {
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { mode: 0o700 });
});

/** A pid that runs nothing (pid_max is far above what a test machine reaches). */
const DEAD_PID = 4_000_000 - 7;

function record(name: string, data: object, mode = 0o600): string {
  const file = join(state, `scope-${name}.json`);
  writeFileSync(file, JSON.stringify(data), { mode });
  chmodSync(file, mode);
  return file;
}

describe('what kiln clean may touch', () => {
  it('only paths inside work directories, or Kiln temporary names, without symlinks', () => {
    const work = join(base, 'out', '.work-core-AbC123');
    mkdirSync(join(work, 'root'), { recursive: true });
    expect(insideWorkDir(join(work, 'root'))).toBe(true);
    expect(confined({ kind: 'mount', path: join(work, 'root', 'boot') })).toBeUndefined();
    expect(confined({ kind: 'mount', path: '/usr' })).toMatch(/not inside a Kiln work directory/);
    expect(confined({ kind: 'path', path: '/usr' })).toMatch(/neither a Kiln work directory/);
    expect(confined({ kind: 'path', path: join(work, '..', '..', '..') })).toBeDefined();
    expect(confined({ kind: 'path', path: join(base, 'out/images/x/.iso-staging-123') })).toBeUndefined();
    expect(confined({ kind: 'path', path: join(base, 'out/images/x/.x.vhdx.partial-77') })).toBeUndefined();
    expect(confined({ kind: 'loop', device: '/dev/sda', backingFile: join(work, 'disk.raw') })).toMatch(/not a loop device/);
    expect(confined({ kind: 'loop', device: '/dev/loop3', backingFile: '/var/lib/libvirt/disk.img' })).toMatch(/not inside a Kiln work directory/);
    // a work-directory name that is a symbolic link to somewhere else is not a work directory
    const link = join(base, 'out', '.work-evil-XyZ789');
    symlinkSync('/usr', link);
    expect(insideWorkDir(join(link, 'share'))).toBe(false);
    expect(confined({ kind: 'path', path: link })).toMatch(/not a canonical absolute path/);
  });
});

describe('which records are dead', () => {
  it('a gone pid is dead; a reused pid (other start time) is dead; a running owner is live', () => {
    record('gone', { pid: DEAD_PID, name: 'x', records: [] });
    record('reused', { pid: process.pid, start: '1', name: 'x', records: [] });
    record('mine', { pid: process.pid, start: processStartTime(process.pid), name: 'x', records: [] });
    record('old-format', { pid: process.pid, name: 'x', records: [] });
    const files = readScopeFiles();
    expect(files.dead.map((f) => f.file.split('scope-')[1]).sort()).toEqual(['gone.json', 'reused.json']);
    expect(files.live.map((f) => f.file.split('scope-')[1]).sort()).toEqual(['mine.json', 'old-format.json']);
  });

  it('a record file others can write is not trusted', () => {
    record('writable', { pid: DEAD_PID, name: 'x', records: [] }, 0o666);
    expect(readScopeFiles().refused.map((r) => r.why)).toEqual([expect.stringMatching(/writable by others/)]);
  });
});

describe('cleanLeftovers', () => {
  it('refuses a forged record pointing outside (/usr, a directory of ours), and releases a dead build\'s work directory', async () => {
    const work = join(base, 'out2', '.work-core-Qwe456');
    mkdirSync(join(work, 'root'), { recursive: true });
    const victim = join(base, 'precious');
    mkdirSync(victim);
    const forged = record('forged', { pid: DEAD_PID, name: 'forged', records: [{ kind: 'path', path: victim }, { kind: 'mount', path: '/usr' }, { kind: 'loop', device: '/dev/loop0', backingFile: '/usr/lib/x.img' }] });
    const real = record('real', { pid: DEAD_PID, name: 'build core', records: [{ kind: 'path', path: work }] });
    // always --under the test's directory: the scan for unrecorded leftovers sees the whole host
    const report = await cleanLeftovers(base);
    expect(report.released).toEqual([`path ${work}`]);
    expect(report.refused).toHaveLength(3);
    expect(report.refused.join('\n')).toMatch(/precious is neither a Kiln work directory/);
    expect(existsSync(victim)).toBe(true);
    expect(existsSync(work)).toBe(false);
    expect(existsSync(real)).toBe(false);
    expect(existsSync(forged)).toBe(true); // kept for whoever investigates
  });

  it('with --under, leaves other builds\' records alone', async () => {
    const mine = join(base, 'mine', '.work-a-AAAAAA');
    const theirs = join(base, 'theirs', '.work-a-BBBBBB');
    for (const d of [mine, theirs]) mkdirSync(d, { recursive: true });
    record('m', { pid: DEAD_PID, name: 'a', records: [{ kind: 'path', path: mine }] });
    record('t', { pid: DEAD_PID, name: 'a', records: [{ kind: 'path', path: theirs }] });
    const report = await cleanLeftovers(join(base, 'mine'));
    expect(report.released).toEqual([`path ${mine}`]);
    expect(existsSync(theirs)).toBe(true);
  });

  it('without --under, refuses a record that names only /usr and deletes nothing', async () => {
    const forged = record('usr', { pid: DEAD_PID, name: 'build x', records: [{ kind: 'path', path: '/usr' }, { kind: 'mount', path: '/usr/lib' }] });
    const report = await cleanLeftovers(undefined, { scan: false });
    expect(report.released).toEqual([]);
    expect(report.refused).toEqual(['mount /usr/lib is not inside a Kiln work directory', 'path /usr is neither a Kiln work directory nor one of its temporary files']);
    expect(existsSync('/usr/bin')).toBe(true);
    expect(existsSync(forged)).toBe(true);
  });
});

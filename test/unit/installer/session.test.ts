import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { attendedAnswers } from '../../../src/installer/session.js';
import { Terminal } from '../../../src/installer/terminal.js';
import type { DiskInfo } from '../../../src/installer/disks.js';
import type { InstallManifest } from '../../../src/installer/manifest.js';

const GiB = 1024 ** 3;
const sys = (name: string, gib: number) => ({ name, image: `kiln/images/${name}.qcow2`, imageBytes: gib * GiB, dataBytes: GiB, tableType: 'gpt' as const, growLastPartition: true, mounts: [] });
const manifest: InstallManifest = { version: 1, configName: 'full-attended', systems: [sys('Full', 3), sys('Core', 2)] };
const disks: DiskInfo[] = [
  { device: '/dev/sda', bytes: 2.5 * GiB, model: 'small', removable: false, readOnly: false },
  { device: '/dev/vda', bytes: 8 * GiB, model: 'big', removable: false, readOnly: false },
];

/** Drive the questions from a script of answers, as a person (or expect) on the console would. */
async function converse(answers: string[], mediumDevice?: string) {
  const input = new PassThrough() as unknown as NodeJS.ReadStream;
  const output = new PassThrough() as unknown as NodeJS.WriteStream;
  let shown = '';
  (output as unknown as PassThrough).on('data', (c: Buffer) => (shown += c.toString()));
  (input as unknown as PassThrough).write(answers.map((a) => `${a}\r\n`).join(''));
  const t = new Terminal(input, output);
  try {
    return { result: await attendedAnswers(t, manifest, disks, mediumDevice), shown };
  } catch (e) {
    return { error: e as Error, shown };
  }
}

describe('attended installer conversation', () => {
  it('asks system, disk, host name, user, password twice and confirmation, re-asking after a bad answer', async () => {
    const { result, shown } = await converse(['7', '1', 'Bad_Host', 'box', 'root', 'alice', 'secret12', 'secret13', 'secret12', 'secret12', 'maybe', 'yes']);
    expect(result).toEqual({ system: manifest.systems[0], target: '/dev/vda', hostname: 'box', user: { name: 'alice', password: 'secret12' } });
    expect(shown).toContain('type a number from 1 to 2');
    // the 3 GiB system fits only on /dev/vda: the 2.5 GiB disk is not offered
    expect(shown).toContain('Disk: /dev/vda  8.0 GiB  big');
    expect(shown).not.toContain('/dev/sda');
    expect(shown).toMatch(/not a valid host name label/);
    expect(shown).toMatch(/system account/);
    expect(shown).toContain('the two passwords differ');
    expect(shown).toContain('ALL DATA ON /dev/vda');
    expect(shown).not.toContain('secret12'); // not echoed
  });

  it('asks neither host name nor user for a sealed (encrypted) root: it is installed as built', async () => {
    const input = new PassThrough() as unknown as NodeJS.ReadStream;
    const output = new PassThrough() as unknown as NodeJS.WriteStream;
    let shown = '';
    (output as unknown as PassThrough).on('data', (c: Buffer) => (shown += c.toString()));
    (input as unknown as PassThrough).write('1\r\nyes\r\n');
    const sealed = { ...sys('Encrypted', 2), sealedRoot: 'luks' as const };
    const result = await attendedAnswers(new Terminal(input, output), { ...manifest, systems: [sealed] }, disks);
    expect(result).toEqual({ system: sealed, target: '/dev/sda' });
    expect(shown).toContain('is encrypted: it is installed as built');
    expect(shown).not.toContain('Host name');
  });

  it('offers both disks for the smaller system and stops without writing on "no"', async () => {
    const { error, shown } = await converse(['2', '1', 'host', 'bob', 'password1', 'password1', 'no']);
    expect(shown).toContain('1) /dev/sda');
    expect(shown).toContain('2) /dev/vda');
    expect(error?.message).toMatch(/disk was not touched/);
  });

  it('says clearly when no disk is usable', async () => {
    const { error } = await converse(['1'], '/dev/vda');
    expect(error?.message).toMatch(/every disk is too small for Full/);
    const none = await (async () => {
      const input = new PassThrough() as unknown as NodeJS.ReadStream;
      const t = new Terminal(input, new PassThrough() as unknown as NodeJS.WriteStream);
      (input as unknown as PassThrough).write('1\n');
      return attendedAnswers(t, manifest, [], undefined).catch((e: Error) => e);
    })();
    expect((none as Error).message).toMatch(/no disk to install to was found/);
  });
});

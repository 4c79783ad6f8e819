import { info } from '../../core/log.js';
import { existsInRoot, listInRoot, lstatAt, removeInRoot, symlinkAt, withDirInRoot, writeInRoot } from '../paths.js';
import type { SystemStep } from '../types.js';

/**
 * SSH host keys never ship. openssh-server's postinst makes them while packages install: kept, they
 * would be the same on every machine made from the image, on every image built from the same
 * cached base tree (docs/caching.md), and they would make two otherwise identical builds differ.
 * They are removed, and a unit makes the missing ones (`ssh-keygen -A`) before sshd first starts.
 * Distributions whose sshd unit already does that (sshd-keygen on Azure Linux) simply run it first.
 */
export const HOST_KEYS_UNIT = '/etc/systemd/system/kiln-ssh-host-keys.service';

export function renderHostKeysUnit(): string {
  return [
    '# Written by kiln: SSH host keys are made on first boot, never shipped in the image',
    '[Unit]',
    'Description=Generate missing SSH host keys',
    'Before=ssh.service sshd.service ssh.socket sshd.socket',
    'ConditionPathExists=/usr/bin/ssh-keygen',
    '',
    '[Service]',
    'Type=oneshot',
    'ExecStart=/usr/bin/ssh-keygen -A',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export const hostKeysStep: SystemStep = {
  name: 'ssh-host-keys',
  applies: () => true,
  async run(ctx) {
    const keys = (await listInRoot(ctx.root, '/etc/ssh')).map((e) => e.name).filter((n) => /^ssh_host_.*_key(\.pub)?$/.test(n));
    for (const k of keys) await removeInRoot(ctx.root, `/etc/ssh/${k}`);
    if (!(await existsInRoot(ctx.root, '/usr/bin/ssh-keygen'))) return;
    if (!(await existsInRoot(ctx.root, '/usr/lib/systemd/systemd')) && !(await existsInRoot(ctx.root, '/lib/systemd/systemd'))) {
      if (keys.length) info(`ssh-host-keys: removed ${keys.length} host key files; the image has no systemd, so its init must run ssh-keygen -A`);
      return;
    }
    await writeInRoot(ctx.root, HOST_KEYS_UNIT, renderHostKeysUnit(), { mode: 0o644 });
    await withDirInRoot(ctx.root, '/etc/systemd/system/multi-user.target.wants', {}, async (dir) => {
      if (!(await lstatAt(dir, 'kiln-ssh-host-keys.service'))) await symlinkAt(dir, 'kiln-ssh-host-keys.service', HOST_KEYS_UNIT);
    });
    if (keys.length) info(`ssh-host-keys: removed ${keys.length} host key files made while packages installed; they are made on first boot`);
  },
};

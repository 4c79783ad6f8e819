import { lstatAt, removeAt, withDirInRoot, writeInRoot } from '../paths.js';
import type { SystemStep } from '../types.js';

/**
 * EnableSystemdFirstboot: /etc/machine-id "uninitialized" (systemd treats the boot as the first one and
 * runs systemd-firstboot), else empty (a fresh id per boot until something commits one).
 * Either way the id generated while packages were installed never ships: every VM from the
 * image must get its own. Runs last so nothing regenerates it afterwards.
 */
export function renderMachineId(firstboot: boolean): string {
  return firstboot ? 'uninitialized\n' : '';
}

export const machineIdStep: SystemStep = {
  name: 'machine-id',
  applies: () => true,
  async run(ctx) {
    await writeInRoot(ctx.root, '/etc/machine-id', renderMachineId(ctx.sc.EnableSystemdFirstboot === true), { mode: 0o444 });
    // D-Bus keeps its own copy on older layouts; a symlink to /etc/machine-id is fine, a file is a stale id.
    await withDirInRoot(ctx.root, '/var/lib/dbus', { create: false }, async (dir) => {
      const st = await lstatAt(dir, 'machine-id');
      if (st && !st.isSymbolicLink()) await removeAt(dir, 'machine-id');
    }).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // absent: nothing to clear
    });
  },
};

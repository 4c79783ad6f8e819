import { renderFstab } from '../render/fstab.js';
import { writeInRoot } from '../paths.js';
import { located } from '../where.js';
import type { SystemStep } from '../types.js';

/** /etc/fstab for disk builds (partitions by PARTUUID/UUID/PARTLABEL), and the hidepid /proc line. */
export const fstabStep: SystemStep = {
  name: 'fstab',
  applies: (ctx) => ctx.disk !== undefined || ctx.sc.EnableHidepid === true,
  async run(ctx) {
    const text = located(ctx, () => renderFstab(ctx.disk, { hidepid: ctx.sc.EnableHidepid === true }));
    await writeInRoot(ctx.root, '/etc/fstab', text, { mode: 0o644 });
  },
};

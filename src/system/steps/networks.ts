import { KilnError } from '../../core/errors.js';
import { renderNetworkUnits } from '../render/networkd.js';
import { existsInRoot, writeInRoot } from '../paths.js';
import { configPath, located } from '../where.js';
import type { SystemStep } from '../types.js';

/** Networks → /etc/systemd/network/*.network, and systemd-networkd enabled (offline `systemctl enable`). */
export const networksStep: SystemStep = {
  name: 'networks',
  applies: (ctx) => (ctx.sc.Networks?.length ?? 0) > 0,
  async run(ctx) {
    const units = located(ctx, () => renderNetworkUnits(ctx.sc.Networks ?? []));
    const unitFile = ['/usr/lib/systemd/system/systemd-networkd.service', '/lib/systemd/system/systemd-networkd.service'];
    let found = false;
    for (const f of unitFile) found ||= await existsInRoot(ctx.root, f);
    if (!found) {
      throw new KilnError(`${configPath(ctx)}.Networks: the image has no systemd-networkd; add the package 'systemd' to the package list`);
    }
    for (const u of units) await writeInRoot(ctx.root, `/etc/systemd/network/${u.file}`, u.text, { mode: 0o644 });
    await ctx.chroot(['systemctl', 'enable', 'systemd-networkd.service']);
  },
};

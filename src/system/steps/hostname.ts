import { DEFAULT_HOSTNAME, renderHostname, renderHosts } from '../render/hosts.js';
import { writeInRoot } from '../paths.js';
import { KilnError } from '../../core/errors.js';
import { configPath } from '../where.js';
import type { SystemStep } from '../types.js';

/** Hostname → /etc/hostname and /etc/hosts. Always runs: without Hostname the image must not keep the build host's name. */
export const hostnameStep: SystemStep = {
  name: 'hostname',
  applies: () => true,
  async run(ctx) {
    const name = ctx.sc.Hostname?.trim() || DEFAULT_HOSTNAME;
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(name) || name.length > 253) {
      throw new KilnError(`${configPath(ctx)}.Hostname: '${name}' is not a valid host name (letters, digits, '-' and '.')`);
    }
    await writeInRoot(ctx.root, '/etc/hostname', renderHostname(name), { mode: 0o644 });
    await writeInRoot(ctx.root, '/etc/hosts', renderHosts(name), { mode: 0o644 });
  },
};

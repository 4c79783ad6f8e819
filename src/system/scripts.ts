import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { KilnError } from '../core/errors.js';
import { formatCommand } from '../core/exec.js';
import { info } from '../core/log.js';
import { splitArgs } from './render/args.js';
import { resolveInRoot } from './paths.js';
import { configPath } from './where.js';
import type { SystemContext } from './types.js';

export type ScriptPhase = 'PostInstallScripts' | 'FinalizeImageScripts';

/** Where scripts are staged inside the image (/var/tmp: /tmp may be a fresh tmpfs inside the chroot). */
const STAGING = '/var/tmp';

/**
 * Run the config's PostInstallScripts or FinalizeImageScripts inside the image root, in order:
 * each is copied into the root, run with its Args (split like a shell, never interpreted), then
 * deleted. A script that fails stops the build with its path and exit code.
 */
export async function runScripts(ctx: SystemContext, which: ScriptPhase): Promise<void> {
  const scripts = ctx.sc[which] ?? [];
  if (!scripts.length) return;
  const stagingHost = await resolveInRoot(ctx.root, STAGING);
  await mkdir(stagingHost, { recursive: true, mode: 0o1777 });
  const dirHost = await mkdtemp(join(stagingHost, 'kiln-scripts-'));
  const dirImage = `${STAGING}/${basename(dirHost)}`;
  try {
    for (const [i, s] of scripts.entries()) {
      const where = `${configPath(ctx)}.${which}[${i}]`;
      let args: string[];
      try {
        args = splitArgs(s.Args ?? '');
      } catch (e) {
        throw new KilnError(`${where}.${(e as Error).message}`);
      }
      const name = `${i}-${basename(s.Path)}`;
      try {
        await copyFile(s.Path, join(dirHost, name));
      } catch (e) {
        throw new KilnError(`${where}.Path: cannot read script '${s.Path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      await chmod(join(dirHost, name), 0o755);
      info(`${which}: ${formatCommand(s.Path, args)}`);
      const r = await ctx.chroot([`${dirImage}/${name}`, ...args], { allowFailure: true });
      if (r.code !== 0) {
        throw new KilnError(
          `${where}: script ${s.Path} failed with exit code ${r.code}`,
          undefined,
          r.stderrTail ? r.stderrTail.split('\n').map((l) => `  | ${l}`) : [],
        );
      }
      await rm(join(dirHost, name), { force: true });
    }
  } finally {
    await rm(dirHost, { recursive: true, force: true });
  }
}

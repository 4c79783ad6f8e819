import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { confinedSource } from '../config/containment.js';
import { KilnError } from '../core/errors.js';
import { formatCommand } from '../core/exec.js';
import { info } from '../core/log.js';
import { splitArgs } from './render/args.js';
import { copyBytes, createFileAt, mkdtempAt, removeAt, withDirInRoot } from './paths.js';
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
  // the staging directory is held open: a script that swaps it (or /var/tmp) for a link between two
  // scripts cannot redirect the next copy or the clean-up out of the image (src/system/paths.ts)
  await withDirInRoot(ctx.root, STAGING, { createMode: 0o1777 }, async (staging) => {
    const tmp = await mkdtempAt(staging, 'kiln-scripts-');
    const dirImage = `${STAGING}/${tmp.name}`;
    try {
      for (const [i, s] of scripts.entries()) {
        const where = `${configPath(ctx)}.${which}[${i}]`;
        let args: string[];
        try {
          args = splitArgs(s.Args ?? '');
        } catch (e) {
          throw new KilnError(`${where}.${(e as Error).message}`);
        }
        const source = confinedSource(ctx.loaded, s.Path, `${where}.Path`);
        const name = `${i}-${basename(s.Path)}`;
        let from;
        try {
          from = await open(source, 'r');
        } catch (e) {
          throw new KilnError(`${where}.Path: cannot read script '${s.Path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        try {
          const to = await createFileAt(tmp.dir, name, 0o755);
          try {
            await copyBytes(from, to);
            await to.chmod(0o755);
          } finally {
            await to.close();
          }
        } finally {
          await from.close();
        }
        info(`${which}: ${formatCommand(s.Path, args)}${s.Network ? ' (with network)' : ''}`);
        // in the image sandbox (docs/security.md): no network unless the script's Network (Kiln extension) is true
        const r = await ctx.chroot([`${dirImage}/${name}`, ...args], { allowFailure: true, ...(s.Network ? { network: true } : {}) });
        if (r.code !== 0) {
          throw new KilnError(
            `${where}: script ${s.Path} failed with exit code ${r.code}`,
            undefined,
            r.stderrTail ? r.stderrTail.split('\n').map((l) => `  | ${l}`) : [],
          );
        }
        await removeAt(tmp.dir, name);
      }
    } finally {
      await tmp.dir.close();
      await removeAt(staging, tmp.name, { recursive: true });
    }
  });
}

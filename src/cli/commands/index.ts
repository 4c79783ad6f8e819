import type { Command } from 'commander';
import { registerBoot } from './boot.js';
import { registerBuild } from './build.js';
import { registerCache } from './cache.js';
import { registerDiff } from './diff.js';
import { registerClean } from './clean.js';
import { registerCompletion } from './completion.js';
import { registerInspect } from './inspect.js';
import { registerIso } from './iso.js';
import { registerPrereqs } from './prereqs.js';
import { registerRoast } from './roast.js';
import { registerSchema } from './schema.js';
import { registerValidate } from './validate.js';

/** Every verb lives in its own file; this list is the CLI's table of contents. */
export function registerCommands(program: Command): void {
  registerValidate(program);
  registerSchema(program);
  registerBuild(program);
  registerRoast(program);
  registerIso(program);
  registerBoot(program);
  registerInspect(program);
  registerClean(program);
  registerCache(program);
  registerDiff(program);
  registerPrereqs(program);
  registerCompletion(program);
}

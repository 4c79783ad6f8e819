/**
 * Public API of the config layer (contract used by build/, iso/, roast/).
 * Implementation owner: the config/validator work (issue 2).
 */
import { KilnError } from '../core/errors.js';
import type { AdditionalFile, LoadedConfig, SystemConfig } from './model.js';

export type { LoadedConfig } from './model.js';

export interface LoadOptions {
  /** Resolve relative paths against this directory instead of the config file's directory. */
  baseDir?: string;
}

/**
 * Read (JSON or YAML), resolve relative paths, check the schema and the semantic rules.
 * Throws ConfigInvalidError (exit code 1) listing every finding when the config is invalid.
 */
export async function loadConfig(_file: string, _opts: LoadOptions = {}): Promise<LoadedConfig> {
  throw new KilnError('config loading is not yet implemented');
}

/** Union of PackageLists (in order) and Packages, de-duplicated, first occurrence wins. Kernel not included. */
export async function collectPackages(_sc: SystemConfig): Promise<string[]> {
  throw new KilnError('not yet implemented');
}

/** AdditionalFiles flattened to one entry per destination. */
export function additionalFiles(_sc: SystemConfig): AdditionalFile[] {
  throw new KilnError('not yet implemented');
}

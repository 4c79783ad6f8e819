/**
 * Public API of the config layer (contract used by build/, iso/, roast/).
 */
import { warn } from '../core/log.js';
import { packageName } from '../distro/catalog/index.js';
import { blocksBuild, ConfigInvalidError, type Finding } from './findings.js';
import type { AdditionalFile, FileConfig, LoadedConfig, SystemConfig } from './model.js';
import { readPackageList } from './packagelists.js';
import { withAbsolutePaths } from './paths.js';
import { configName, validateConfigFile, type ValidateOptions, type ValidationResult } from './validate.js';

export type { LoadedConfig } from './model.js';
export type { Finding } from './findings.js';
export { blocksBuild, ConfigInvalidError, formatFinding } from './findings.js';
export { displayPath, validateConfigFile, validateConfigText, type ValidationResult } from './validate.js';
export { schemaDocument } from './schema.js';
export * from './defaults.js';

export type LoadOptions = ValidateOptions;

/**
 * The warnings of a validation that `kiln build` refuses: upstream's parser accepts the config,
 * but it asks for something Kiln would ignore (an unknown or unsupported key) or cannot build (a
 * layout that will not boot, an artifact type Kiln does not make). Empty: the build can go ahead.
 */
export function buildBlockers(result: ValidationResult): Finding[] {
  return result.findings.filter((f) => f.severity === 'warning' && blocksBuild(f));
}

/**
 * Read (JSON or YAML), check the schema and the semantic rules, resolve relative paths. The
 * config comes back canonical: field names spelled as in the format, no nulls, no "" for optional
 * strings (see config/decode.ts).
 * Throws ConfigInvalidError (exit code 1) listing every finding when the config is invalid or has
 * warnings the build refuses (buildBlockers), UsageError (exit code 2) when the file cannot be
 * read. Other warnings are logged.
 */
export async function loadConfig(file: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  const result = validateConfigFile(file, opts);
  if (!result.valid || !result.config) throw new ConfigInvalidError(file, result.findings);
  const blockers = buildBlockers(result);
  if (blockers.length > 0) throw new ConfigInvalidError(file, blockers);
  for (const f of result.findings) warn(`${file}: ${f.path ? `${f.path}: ` : ''}${f.message}`);
  return {
    file: result.file,
    baseDir: result.baseDir,
    name: configName(result.file),
    config: withAbsolutePaths(result.config, result.baseDir),
    ...(opts.allowOutsideConfigDir ? { allowOutsideConfigDir: true } : {}),
  };
}

/**
 * Union of PackageLists (in order) and Packages, de-duplicated by package name, first occurrence
 * wins. The kernel (KernelOptions) is not included. Expects absolute paths (a loaded config).
 */
export async function collectPackages(sc: SystemConfig): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (entry: string) => {
    const name = packageName(entry);
    if (seen.has(name)) return;
    seen.add(name);
    out.push(entry.trim());
  };
  for (const list of sc.PackageLists ?? []) {
    const read = readPackageList(list);
    if (read.unreadable) throw new ConfigInvalidError(list, [{ file: list, path: '', message: `package list ${read.unreadable}`, hint: 'fix the path in PackageLists', severity: 'error' }]);
    const refused = read.findings.filter(blocksBuild);
    if (refused.length > 0) throw new ConfigInvalidError(list, refused);
    read.packages.forEach(add);
  }
  (sc.Packages ?? []).forEach(add);
  return out;
}

/** AdditionalFiles flattened to one entry per destination. */
export function additionalFiles(sc: SystemConfig): AdditionalFile[] {
  const out: AdditionalFile[] = [];
  for (const [source, target] of Object.entries(sc.AdditionalFiles ?? {})) {
    const list: (string | FileConfig)[] = Array.isArray(target) ? target : [target];
    for (const t of list) {
      if (typeof t === 'string') out.push({ source, destination: t });
      else out.push({ source, destination: t.Path, ...(t.Permissions !== undefined ? { permissions: parseInt(t.Permissions, 8) } : {}) });
    }
  }
  return out;
}

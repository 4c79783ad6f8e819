/** Public API of iso/: what `kiln iso` and `kiln build` (for configs that ask for an ISO) call. */
export { buildIso, isoFileName, wantsIso, type BuildIsoOptions, type BuiltIso, type IsoImage } from './isomaker.js';
export { DEFAULT_CACHE_ROOT, installerBoot, readInitrdConfig, type InstallerBoot } from './installer-boot.js';
export { buildIsoFromConfig, isoSelection, type IsoFromConfigOptions } from './from-config.js';
export type { AfterInstall } from './layout.js';

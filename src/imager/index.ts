/**
 * Public API of the imager: `build(loaded, options)` turns a loaded config into artifacts.
 * For the ISO maker: `build(loaded, { keepRaw: true, skipArtifacts: true })` leaves the raw disk
 * (result.raw) or, for a rootfs config, the directory tree (result.tree) under out/images/<config>/.
 */
export { build, type BuildResult, type BuildOptions } from './pipeline.js';
export { planBuild, chooseSystemConfig, type BuildPlan } from './plan.js';

/**
 * Public API of roast/: raw disk (or rootfs tree) → every requested artifact.
 * Used by `kiln roast` and by `kiln build` after the image is assembled.
 */
export type {
  ArtifactRequest,
  BaseImages,
  Converter,
  DiskPartition,
  InputKind,
  RoastInput,
  RoastRequest,
} from './types.js';
export { roast, planArtifacts, requiredTools, type PlannedArtifact } from './roast.js';
export { converters, converterFor } from './registry.js';

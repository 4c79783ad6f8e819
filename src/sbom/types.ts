import type { DistroDecl } from '../distro/catalog/index.js';
import type { InstalledPackage } from '../distro/backend.js';
import type { FileDigest } from './hash.js';

/** Everything both SBOM formats say about one build. */
export interface SbomInput {
  /** Config name (out/images/<name>/). */
  name: string;
  config: string;
  systemConfig: string;
  distro: Pick<DistroDecl, 'name' | 'family' | 'prettyName'> & { release: string };
  kernel?: string;
  packages: InstalledPackage[];
  artifacts: FileDigest[];
  created: Date;
  toolVersion: string;
}

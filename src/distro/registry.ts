/**
 * Which backend builds a SystemConfig. The `Distro` key is a Kiln extension; without it a config
 * means Azure Linux (as upstream), whose RPM backend is not implemented yet.
 */
import type { SystemConfig } from '../config/model.js';
import { ExitCode, KilnError } from '../core/errors.js';
import type { DistroBackend } from './backend.js';
import { DebianBackend } from './debian/index.js';

export const SUPPORTED_DISTROS = ['debian'] as const;

export function backendFor(sc: SystemConfig): DistroBackend {
  const name = (sc.Distro?.Name ?? 'azurelinux').toLowerCase();
  switch (name) {
    case 'debian':
      return new DebianBackend(sc.Distro?.Release);
    default:
      throw new KilnError(
        `SystemConfig "${sc.Name}": distribution "${name}" cannot be built yet (supported: ${SUPPORTED_DISTROS.join(', ')})`,
        ExitCode.InvalidConfig,
        [`add "Distro": {"Name": "debian", "Release": "bookworm"} to the SystemConfig to build it from Debian packages`],
      );
  }
}

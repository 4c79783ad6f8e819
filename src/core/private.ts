import { chmodSync, mkdirSync } from 'node:fs';

/**
 * Root-only directories for what a build writes: logs, work directories, output directories. They
 * hold image trees (an image's /etc/shadow is group-readable by a GID that means something else on
 * the host), logs and artifacts. Every directory this creates is 0700, and `path` itself is made
 * 0700 even when it already existed (Kiln owns it); existing parents are left as they are.
 */
export function privateDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  return path;
}

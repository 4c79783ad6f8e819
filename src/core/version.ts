import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The root of Kiln's package: the checkout, or where npm installed it (dist/ and src/ sit one level below). */
export const PACKAGE_ROOT = resolve(import.meta.dirname, '../..');

let version: string | undefined;
/** The version in the package's package.json. */
export function kilnVersion(): string {
  if (version) return version;
  try {
    version = (JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    version = '0.0.0';
  }
  return version;
}

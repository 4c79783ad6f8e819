import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { validateConfigText, type ValidationResult } from '../../../src/config/index.js';
import type { ValidateOptions } from '../../../src/config/validate.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/config/', import.meta.url));
export const BASE_DIR = join(FIXTURES, 'base');
export const BASE_FILE = join(BASE_DIR, 'base.json');
export const UPSTREAM_DIR = fileURLToPath(new URL('../../fixtures/upstream/imageconfigs/', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export function baseConfig(): Json {
  return JSON.parse(readFileSync(BASE_FILE, 'utf8'));
}

/** Validate a (mutated) copy of the base config as if it were base.json in the fixture folder. */
export function validateObject(config: Json, opts: ValidateOptions = {}): ValidationResult {
  return validateConfigText(JSON.stringify(config, null, 2), BASE_FILE, opts);
}

/** The same system as the base config, built as an RPM distribution (no Distro = Azure Linux). */
export function asRpm(c: Json): Json {
  const sc = c.SystemConfigs[0];
  delete sc.Distro;
  sc.KernelOptions = { default: 'kernel' };
  sc.PackageLists = ['packagelists/rpm.json'];
  sc.PackageRepos = [{ Name: 'local', BaseUrl: 'file:///repo' }];
  return c;
}

/**
 * A tiny local apt repository for end-to-end tests: packages made with `dpkg-deb --build`, indexed
 * as dists/<suite>/main/binary-amd64/Packages with an unsigned Release file (use it with
 * GPGCheck false, i.e. `[trusted=yes]`).
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../../../src/core/exec.js';

export interface TestPackage {
  name: string;
  version: string;
  depends?: string[];
  /** Files by absolute path in the package; mode 0755 when `executable`. */
  files: Record<string, { content: string; executable?: boolean }>;
  /** Maintainer scripts by name (postinst, preinst, ...). */
  scripts?: Record<string, string>;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Build the packages into `dir` (a file:// repository) and return its suite. */
export async function buildDebRepo(dir: string, suite: string, packages: TestPackage[]): Promise<void> {
  const stanzas: string[] = [];
  mkdirSync(join(dir, 'pool'), { recursive: true });
  for (const p of packages) {
    const tree = join(dir, 'build', p.name);
    mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
    const control = [
      `Package: ${p.name}`,
      `Version: ${p.version}`,
      'Architecture: all',
      'Maintainer: Kiln tests <kiln-tests@example.invalid>',
      ...(p.depends?.length ? [`Depends: ${p.depends.join(', ')}`] : []),
      `Description: ${p.name} (Kiln test package)`,
      '',
    ].join('\n');
    writeFileSync(join(tree, 'DEBIAN/control'), control);
    for (const [name, text] of Object.entries(p.scripts ?? {})) {
      writeFileSync(join(tree, 'DEBIAN', name), text);
      chmodSync(join(tree, 'DEBIAN', name), 0o755);
    }
    for (const [path, f] of Object.entries(p.files)) {
      const target = join(tree, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.content);
      chmodSync(target, f.executable ? 0o755 : 0o644);
    }
    const deb = `pool/${p.name}_${p.version}_all.deb`;
    await run('dpkg-deb', ['--root-owner-group', '--build', tree, join(dir, deb)]);
    const bytes = readFileSync(join(dir, deb));
    stanzas.push(`${control.trimEnd()}\nFilename: ${deb}\nSize: ${statSync(join(dir, deb)).size}\nSHA256: ${sha256(bytes)}\n`);
  }
  const packagesFile = `${stanzas.join('\n')}`;
  const rel = 'main/binary-amd64/Packages';
  mkdirSync(join(dir, 'dists', suite, 'main/binary-amd64'), { recursive: true });
  writeFileSync(join(dir, 'dists', suite, rel), packagesFile);
  writeFileSync(
    join(dir, 'dists', suite, 'Release'),
    [
      'Origin: kiln-tests',
      'Label: kiln-tests',
      `Suite: ${suite}`,
      `Codename: ${suite}`,
      `Date: ${new Date().toUTCString()}`,
      'Architectures: amd64',
      'Components: main',
      'SHA256:',
      ` ${sha256(packagesFile)} ${Buffer.byteLength(packagesFile)} ${rel}`,
      '',
    ].join('\n'),
  );
}

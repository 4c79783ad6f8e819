/**
 * What a user sees and gets around a build, on the images the other e2e files build (memoised per
 * run): --log-format json events valid line by line against schema/kiln-events.schema.json, the
 * SBOMs beside manifest.json (CycloneDX by its library's validator, SPDX 2.3 by schema), `kiln
 * inspect --json` agreeing with what the build wrote, a terminal session under a pseudo-terminal
 * (live display, summary), and Kiln installed from `npm pack` on a machine path with no checkout.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { output, run } from '../../src/core/exec.js';
import { parseOsRelease } from '../../src/inspect/osinfo.js';
import type { InspectReport } from '../../src/inspect/index.js';
import { eventValidator, spdxReferencesResolve, spdxValidators, validateCycloneDx } from '../lib/schemas.js';
import { buildImage, buildWarnings, KILN, REPO, type BuiltImage } from './lib/images.js';
import { partitionTable, sha256, withPartitionMounted } from './lib/inspect.js';
import { e2eWorkDir } from './lib/workdir.js';

async function inspectJson(file: string): Promise<InspectReport> {
  return JSON.parse(await output(KILN, ['inspect', '--json', file])) as InspectReport;
}

interface Manifest {
  kernel?: string;
  packages: { name: string; version: string; arch: string; license?: string }[];
}

/** Every line of a --log-format json build: parsed and validated; returns the events. */
function checkEvents(image: BuiltImage): { type: string; [k: string]: unknown }[] {
  const validate = eventValidator();
  const lines = readFileSync(image.console, 'utf8').split('\n').filter((l) => l.length > 0);
  expect(lines.length).toBeGreaterThan(10);
  const events = lines.map((l, i) => {
    let e: unknown;
    expect(() => (e = JSON.parse(l)), `line ${i + 1} is not JSON: ${l}`).not.toThrow();
    expect(validate(e), `line ${i + 1}: ${l}`).toBeUndefined();
    return e as { type: string; [k: string]: unknown };
  });
  expect(events[0]).toMatchObject({ type: 'start', command: 'build' });
  expect(events.at(-1)).toEqual(expect.objectContaining({ type: 'end', exitCode: 0 }));
  return events;
}

/**
 * Warnings about the build itself. One is left out: roast's "still attached to /dev/loopN", which a
 * concurrent build on a shared machine causes (its mount namespace copied this build's mounts).
 */
function configWarnings(events: { type: string; [k: string]: unknown }[]): string[] {
  return events.filter((e) => e.type === 'warning').map((e) => String(e.message)).filter((m) => !/ is still attached to \/dev\/loop\d+/.test(m));
}

async function checkSboms(image: BuiltImage, artifact: string): Promise<void> {
  const manifest = JSON.parse(readFileSync(image.manifest, 'utf8')) as Manifest;
  const cdxText = readFileSync(join(image.imageDir, 'sbom.cdx.json'), 'utf8');
  expect(await validateCycloneDx(cdxText)).toBeNull();
  const cdx = JSON.parse(cdxText) as { components: { type: string; name: string; version?: string; purl?: string; licenses?: unknown[]; hashes?: { alg: string; content: string }[] }[] };
  const libs = cdx.components.filter((c) => c.type === 'library');
  expect(libs.map((c) => `${c.name} ${c.version}`).sort()).toEqual(manifest.packages.map((p) => `${p.name} ${p.version}`).sort());
  for (const c of libs) expect(c.purl).toMatch(/^pkg:deb\/debian\/[^@]+@[^?]+\?arch=(amd64|all)$/);
  // licences where the package database knows them (DEP-5 copyright files): a good share of Debian's
  const licensed = manifest.packages.filter((p) => p.license).length;
  expect(licensed).toBeGreaterThan(manifest.packages.length / 4);
  expect(libs.filter((c) => c.licenses?.length).length).toBe(licensed);
  const digest = await sha256(artifact);
  expect(cdx.components.find((c) => c.type === 'file')?.hashes).toContainEqual({ alg: 'SHA-256', content: digest });

  const spdx = JSON.parse(readFileSync(join(image.imageDir, 'sbom.spdx.json'), 'utf8')) as Parameters<typeof spdxReferencesResolve>[0] & { packages: { name: string; externalRefs?: { referenceLocator: string }[] }[]; files: { checksums: { algorithm: string; checksumValue: string }[] }[] };
  for (const v of spdxValidators()) expect(v.validate(spdx), v.name).toBeUndefined();
  expect(spdxReferencesResolve(spdx)).toEqual([]);
  expect(spdx.packages.length).toBe(manifest.packages.length + 1); // + the image
  expect(spdx.files[0]!.checksums).toContainEqual({ algorithm: 'SHA256', checksumValue: digest });
}

/** The inspect report against what the build wrote: the kept raw disk's table, its root's os-release, the manifest. */
async function checkInspect(report: InspectReport, image: BuiltImage, raw: string, expected: { firmware: string[]; loader: RegExp; fsTypes: (string | undefined)[] }): Promise<void> {
  const table = await partitionTable(raw);
  const disk = report.disk!;
  expect(disk.partitionTable.type).toBe(table.label);
  expect(disk.partitionTable.id).toBe(table.id);
  expect(disk.partitionTable.partitions.map((p) => [p.startBytes, p.sizeBytes, p.partuuid, p.name])).toEqual(table.partitions.map((p) => [p.start * 512, p.size * 512, p.uuid?.toLowerCase(), p.name]));
  expect(disk.partitionTable.partitions.map((p) => p.filesystem?.fatType ?? p.filesystem?.type)).toEqual(expected.fsTypes);
  for (const [i, p] of disk.partitionTable.partitions.entries()) {
    if (!p.filesystem) continue;
    const uuid = await output('blkid', ['-p', '-s', 'UUID', '-o', 'value', '-O', String(table.partitions[i]!.start * 512), '-S', String(table.partitions[i]!.size * 512), raw]);
    expect(p.filesystem.uuid).toBe(uuid);
  }
  expect(disk.boot.firmware).toEqual(expected.firmware);
  expect(disk.boot.loaders.join(', ')).toMatch(expected.loader);
  const rootNo = disk.os!.rootPartition;
  const osRelease = await withPartitionMounted(raw, rootNo, async (dir) => parseOsRelease(readFileSync(join(dir, 'usr/lib/os-release'), 'utf8')));
  expect(disk.os!.osRelease).toEqual(osRelease);
  expect(osRelease.PRETTY_NAME).toBe('Debian GNU/Linux 12 (bookworm)');
  const manifest = JSON.parse(readFileSync(image.manifest, 'utf8')) as Manifest;
  expect(disk.os!.packages).toEqual({ manager: 'dpkg', count: manifest.packages.length, source: '/var/lib/dpkg/status' });
  expect(disk.os!.kernels).toEqual([manifest.kernel]);
}

describe('core-efi.json: events, SBOMs, inspect', () => {
  const built = () => buildImage({ config: 'imageconfigs/core-efi.json', args: ['--keep-raw'] });

  it('--log-format json: every line valid against the schema; stages, artifacts with checksums, summary', async () => {
    const image = await built();
    const events = checkEvents(image);
    const types = new Set(events.map((e) => e.type));
    for (const t of ['build-start', 'stage-start', 'stage-end', 'info', 'artifact', 'summary']) expect(types).toContain(t);
    expect(configWarnings(events)).toEqual([]); // the shipped config builds without warnings
    expect(types).not.toContain('error');
    const vhdx = join(image.imageDir, 'core.vhdx');
    expect(events).toContainEqual(expect.objectContaining({ type: 'artifact', kind: 'image', path: vhdx, bytes: statSync(vhdx).size, sha256: await sha256(vhdx) }));
    for (const f of ['manifest.json', 'sbom.cdx.json', 'sbom.spdx.json']) expect(events).toContainEqual(expect.objectContaining({ type: 'artifact', path: join(image.imageDir, f) }));
    const summary = events.find((e) => e.type === 'summary') as unknown as { stages: { name: string }[]; artifacts: { path: string }[] };
    // core-efi's base tree may come from the tree cache (another file of this run, or an earlier run,
    // built it): then the summary shows the restore instead of the install (package progress is
    // proven on core-legacy, always built with --no-cache)
    const stages = summary.stages.map((s) => s.name);
    const install = stages.includes('install packages') ? 'install packages' : 'restore the cached base tree';
    expect(stages).toEqual(expect.arrayContaining([install, 'initramfs', 'bootloader (efi, grub)', 'SBOM (CycloneDX, SPDX)']));
    expect(summary.artifacts.map((a) => a.path)).toContain(vhdx);
  });

  it('writes CycloneDX and SPDX SBOMs that validate and list every installed package', async () => {
    const image = await built();
    await checkSboms(image, join(image.imageDir, 'core.vhdx'));
  });

  it('kiln inspect --json core.vhdx reports the partitions, filesystems, boot loader and os-release the build wrote, read-only', async () => {
    const image = await built();
    const vhdx = join(image.imageDir, 'core.vhdx');
    const before = { sha: await sha256(vhdx), mtime: statSync(vhdx).mtimeMs };
    const report = await inspectJson(vhdx);
    expect(report.artifact).toMatchObject({ format: 'vhdx', sha256: before.sha, virtualSizeBytes: 4096 * 1024 * 1024 });
    await checkInspect(report, image, join(image.imageDir, 'core-efi.raw'), { firmware: ['uefi'], loader: /grub \(EFI \/EFI\/BOOT\/BOOTX64\.EFI\)/, fsTypes: ['FAT32', 'ext4'] });
    expect(report.disk!.partitionTable.partitions.map((p) => p.mountPoint)).toEqual(['/boot/efi', '/']);
    expect({ sha: await sha256(vhdx), mtime: statSync(vhdx).mtimeMs }).toEqual(before);
  });
});

describe('core-legacy.json: events, SBOMs, inspect', () => {
  // --no-cache (as in build-legacy.test.ts, which shares this build): a full install every run, so
  // the package progress events are always there to check
  const built = () => buildImage({ config: 'imageconfigs/core-legacy.json', args: ['--keep-raw', '--no-cache'] });

  it('--log-format json: every line valid against the schema, package progress, no warning', async () => {
    const events = checkEvents(await built());
    expect(configWarnings(events)).toEqual([]);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).not.toMatchObject({ done: 0, total: 1 }); // no "packages 0/1"
    expect(progress.some((e) => typeof e.total === 'number' && (e.total as number) > 100)).toBe(true);
    const summary = events.find((e) => e.type === 'summary') as unknown as { stages: { name: string }[] };
    expect(summary.stages.map((s) => s.name)).toEqual(expect.arrayContaining(['install packages', 'initramfs', 'bootloader (legacy, grub)']));
  });

  it('SBOMs validate', async () => {
    const image = await built();
    await checkSboms(image, join(image.imageDir, 'core.vhd'));
  });

  it('kiln inspect --json core.vhd (fixed VHD, read in place): BIOS boot partition, grub in the MBR, the root the build wrote', async () => {
    const image = await built();
    const vhd = join(image.imageDir, 'core.vhd');
    const before = await sha256(vhd);
    const report = await inspectJson(vhd);
    expect(report.artifact).toMatchObject({ format: 'vpc (fixed)', sha256: before });
    await checkInspect(report, image, join(image.imageDir, 'core-legacy.raw'), { firmware: ['bios'], loader: /grub \(BIOS\)/, fsTypes: [undefined, 'ext4'] });
    expect(report.disk!.partitionTable.partitions[0]!.typeName).toBe('BIOS boot');
    expect(await sha256(vhd)).toBe(before);
  });
});

describe('core-container.json built at a terminal (script(1) pseudo-terminal)', () => {
  // --no-cache (shared with build-rootfs.test.ts): the live display's package bar needs a real install
  const built = () => buildImage({ config: 'imageconfigs/core-container.json', args: ['--no-cache'], terminal: true });

  it('shows the live display (stage, package bar and count, elapsed time) and ends with the summary table', async () => {
    const image = await built();
    const transcript = readFileSync(image.console, 'utf8');
    const ESC = String.fromCharCode(27);
    expect(transcript.split(ESC).some((seq) => /^\[\d*[AGK]/.test(seq))).toBe(true); // lines redrawn in place (cursor up / erase line)
    expect(transcript).toMatch(/[-\\|/] install packages/);
    expect(transcript).toMatch(/\[[#-]{24}\] packages \d+\/\d+/);
    expect(transcript).toMatch(/elapsed \d+:\d\d/);
    expect(transcript).toMatch(/done {2}install packages \(\d+\.\d s\)/);
    expect(transcript).not.toMatch(/packages 0\/1\b/);
    expect(buildWarnings(image)).toEqual([]); // the shipped config builds without a warning
    const tail = transcript.slice(transcript.lastIndexOf('artifact'));
    expect(tail).toMatch(/^artifact\s+size\s*$/m);
    expect(tail).toMatch(/core\.tar\.gz\s+\d+(\.\d+)? MiB/);
    expect(tail).toMatch(/sbom\.spdx\.json/);
    expect(tail).toMatch(/^install packages\s+\d+:\d\d\s*$/m);
    expect(tail).toMatch(/^total\s+\d+:\d\d\s*$/m);
  });

  it('kiln inspect --json core.tar.gz: the tree\'s os-release and package count', async () => {
    const image = await built();
    const report = await inspectJson(join(image.imageDir, 'core.tar.gz'));
    const manifest = JSON.parse(readFileSync(image.manifest, 'utf8')) as Manifest;
    expect(report.artifact).toMatchObject({ format: 'tar', compression: 'gz' });
    expect(report.tree!.os).toMatchObject({ osRelease: { ID: 'debian', VERSION_ID: '12' }, kernels: [], packages: { manager: 'dpkg', count: manifest.packages.length } });
  });
});

describe('installable package: npm pack, npm install -g, no checkout', () => {
  it('installs from the tarball; kiln --version, validate, completion and build work from the installed package', async () => {
    const dir = join(e2eWorkDir(), 'package');
    rmSync(dir, { recursive: true, force: true });
    const packDir = mkdtempSync(join(e2eWorkDir(), 'pack-'));
    // npm pack runs `prepare` (compile and bundle the installer) in the checkout, then packs the files list
    const tarball = join(packDir, (await output('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: REPO })).split('\n').pop()!);
    const listing = (await output('tar', ['-tzf', tarball])).split('\n');
    for (const f of ['package/dist/cli/kiln.js', 'package/dist/installer/kiln-installer.js', 'package/schema/kiln-events.schema.json', 'package/schema/kiln-imageconfig.schema.json', 'package/resources/installer/iso-initrd.json', 'package/docs/errors.md']) expect(listing).toContain(f);
    expect(listing.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/') || f.endsWith('.map'))).toBe(false);
    // a prefix of its own: the global install of a machine without the checkout
    await run('npm', ['install', '--global', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: '/' });
    const kiln = join(dir, 'bin/kiln');
    const env = { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` };
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(await output(kiln, ['--version'], { cwd: '/' })).toBe(pkg.version);
    const installed = join(dir, 'lib/node_modules/kiln');
    expect(existsSync(join(installed, 'src'))).toBe(false);
    expect(await output(kiln, ['validate', join(installed, 'imageconfigs/core-efi.json')], { cwd: '/', env })).toMatch(/core-efi\.json: valid$/);
    expect(await output(join(dir, 'bin/imageconfigvalidator'), [join(installed, 'imageconfigs/core-legacy.json')], { cwd: '/', env })).toMatch(/valid$/);
    expect(await output(kiln, ['completion', 'bash'], { cwd: '/' })).toContain('complete -o filenames -o bashdefault -F _kiln kiln');
    // a real build from the installed package (the root filesystem config: the cheapest image)
    const out = join(dir, 'out');
    const r = await run(kiln, ['--log-format', 'json', 'build', join(installed, 'imageconfigs/core-container.json'), '--out', out], { cwd: '/', env, allowFailure: true });
    expect(r.code, r.stderrTail).toBe(0);
    for (const f of ['core.tar.gz', 'manifest.json', 'sbom.cdx.json', 'sbom.spdx.json']) expect(existsSync(join(out, 'images/core-container', f)), f).toBe(true);
  });
});

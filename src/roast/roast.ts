/**
 * roast(): one input (raw disk or rootfs tree) → every requested artifact under `<outDir>/<Name>.<ext>`.
 * Planning (pure) resolves each request to a converter and an optional outer compressor and rejects
 * impossible combinations before any work starts; then each artifact is produced under a temporary
 * name and renamed when complete.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { run } from '../core/exec.js';
import { writeAtomically } from '../core/atomic.js';
import { ExitCode, KilnError } from '../core/errors.js';
import { info, stage, warn } from '../core/log.js';
import type { Scope } from '../core/scope.js';
import { type Compression, compressFile, compressorArgv, requireCompression } from './compress.js';
import { artifactNameProblem, converterFor, converters } from './registry.js';
import type { ArtifactRequest, Converter, DiskPartition, InputKind, RoastInput, RoastRequest } from './types.js';
import { copyRangeSparse } from './sparse.js';

export interface PlannedArtifact {
  request: ArtifactRequest;
  converter: Converter;
  /** What the converter reads: the disk, one extracted partition, or the tree. */
  inputKind: InputKind;
  partition?: DiskPartition;
  /** Outer compression of the converter's output (gz/xz/zst), if any. */
  compression?: Compression;
  /** Compression handled inside the format (initrd). */
  innerCompression?: Compression;
  fileName: string;
  baseImage?: string;
  /** Takes the input raw disk over by rename (RoastRequest.consumeInput); always made last. */
  consumes?: boolean;
}

const EXT_FAMILY = new Set(['ext2', 'ext3', 'ext4']);

function describe(a: ArtifactRequest): string {
  return `artifact "${a.Name}"${a.partitionId ? ` of partition "${a.partitionId}"` : ''}`;
}

function invalid(a: ArtifactRequest, what: string, todo: string): KilnError {
  return new KilnError(`${describe(a)}: ${what}`, ExitCode.InvalidConfig, [todo]);
}

/** Resolve every request against the input; throws (exit 1) on the first impossible one. */
export function planArtifacts(req: Pick<RoastRequest, 'input' | 'artifacts' | 'baseImages' | 'consumeInput'>): PlannedArtifact[] {
  const plans = req.artifacts.map((a) => planOne(a, req.input, req.baseImages));
  if (req.consumeInput && req.input.kind === 'disk') {
    // prefer a vhd (raw + footer) over a raw copy; only a whole-disk, uncompressed one can take it
    const takers = plans.filter((p) => !p.partition && !p.compression && (p.converter.name === 'vhd' || p.converter.name === 'raw'));
    const taker = takers.find((p) => p.converter.name === 'vhd') ?? takers[0];
    if (taker) taker.consumes = true;
  }
  const seen = new Map<string, ArtifactRequest>();
  for (const p of plans) {
    const other = seen.get(p.fileName);
    if (other) throw invalid(p.request, `writes ${p.fileName}, as does ${describe(other)}`, 'give the artifacts different Names');
    seen.set(p.fileName, p.request);
  }
  return plans;
}

function planOne(a: ArtifactRequest, input: RoastInput, baseImages: RoastRequest['baseImages']): PlannedArtifact {
  const badName = artifactNameProblem(a.Name ?? '');
  if (badName) throw invalid(a, `Name must be a plain file name: ${badName}`, 'fix the artifact Name');
  const type = a.Type?.trim().toLowerCase() || undefined;
  const comp = a.Compression?.trim().toLowerCase() || undefined;
  let converter: Converter | undefined;
  let compression: Compression | undefined;
  let innerCompression: Compression | undefined;

  if (comp?.startsWith('tar.')) {
    // upstream's rootfs tarball: { Name, Compression: "tar.gz" } (a Type of "tar" or none)
    if (type && type !== 'tar') throw invalid(a, `Compression "${comp}" makes a rootfs tarball; Type "${type}" cannot be one`, 'drop the Type, or use Compression gz/xz/zst');
    converter = converterFor(comp);
    if (!converter) throw invalid(a, `unknown Compression "${comp}"`, 'use tar.gz, tar.xz or tar.zst');
  } else {
    const name = type ?? (input.kind === 'tree' ? undefined : 'raw');
    if (!name) throw invalid(a, 'has no Type', 'set Type (squashfs, erofs, initrd) or Compression (tar.gz, tar.xz, tar.zst)');
    converter = converterFor(name);
    if (!converter) {
      throw invalid(a, `unknown Type "${name}"`, `use one of: ${converters.map((c) => c.name).join(', ')}`);
    }
    if (comp) {
      const c = requireCompression(comp, describe(a));
      if (converter.name === 'initrd') innerCompression = c;
      else compression = c;
    }
  }

  let inputKind: InputKind;
  let partition: DiskPartition | undefined;
  if (a.partitionId) {
    if (input.kind !== 'disk') throw invalid(a, 'a partition artifact needs a disk image as input', 'roast a raw disk image');
    partition = input.partitions?.find((p) => p.id === a.partitionId);
    if (!partition) {
      throw invalid(a, `the disk has no partition "${a.partitionId}"`, `known partitions: ${(input.partitions ?? []).map((p) => p.id).join(', ') || 'none given'}`);
    }
    inputKind = 'partition';
  } else {
    inputKind = input.kind;
  }
  if (!converter.accepts.includes(inputKind)) {
    const wants = converter.accepts.join(' or ');
    throw invalid(a, `Type "${converter.name}" is made from a ${wants}, but the input is a ${inputKind}`,
      converter.accepts.includes('partition') ? 'list it under Disks[].Partitions[].Artifacts' : converter.accepts.includes('tree') ? 'roast a root filesystem directory (or a rootfs tar) instead' : 'roast a raw disk image instead');
  }
  if (converter.name === 'ext4' && partition && !EXT_FAMILY.has(partition.fsType)) {
    throw invalid(a, `Type "ext4" but partition "${partition.id}" is ${partition.fsType}`, 'use Type "raw" for a partition of another filesystem');
  }
  let baseImage: string | undefined;
  if (converter.name === 'rdiff' || converter.name === 'diff') {
    const key = converter.name === 'rdiff' ? 'RdiffBaseImage' : 'OverlayBaseImage';
    baseImage = (a.partitionId ? baseImages?.[a.partitionId]?.[key] : undefined) ?? undefined;
    if (!baseImage) throw invalid(a, `Type "${converter.name}" needs PartitionSettings[].${key} for partition "${a.partitionId}"`, `set ${key} to the earlier build's partition image`);
  }
  const fileName = `${a.Name}.${converter.extension}${compression ? `.${compression}` : ''}`;
  return {
    request: a,
    converter,
    inputKind,
    fileName,
    ...(partition ? { partition } : {}),
    ...(compression ? { compression } : {}),
    ...(innerCompression ? { innerCompression } : {}),
    ...(baseImage ? { baseImage } : {}),
  };
}

/** Host programs the planned artifacts need (for ensureHostTools before any work starts). */
export function requiredTools(plans: PlannedArtifact[]): string[] {
  const tools = new Set<string>();
  for (const p of plans) {
    p.converter.tools.forEach((t) => tools.add(t));
    if (p.partition) tools.add('xfs_io');
    const c = p.compression ?? p.innerCompression;
    if (c) tools.add(compressorArgv(c)[0]!);
  }
  return [...tools].sort();
}

/** A scratch directory next to the outputs (same filesystem: reflinks and renames stay cheap). */
async function scratchDir(scope: Scope, outDir: string): Promise<{ dir: string; release: () => Promise<void> }> {
  const dir = await mkdtemp(join(outDir, '.roast-'));
  const release = scope.add(`scratch ${dir}`, () => rm(dir, { recursive: true, force: true }), { kind: 'path', path: dir });
  return { dir, release };
}

async function checkInput(input: RoastInput): Promise<void> {
  let st;
  try {
    st = await stat(input.path);
  } catch {
    throw new KilnError(`roast input ${input.path} does not exist`, ExitCode.Usage, [], 'INPUT_NOT_FOUND');
  }
  if (input.kind === 'disk' && !st.isFile()) throw new KilnError(`roast input ${input.path} is not a raw disk image file`, ExitCode.Usage);
  if (input.kind === 'tree' && !st.isDirectory() && !st.isFile()) throw new KilnError(`roast input ${input.path} is neither a directory nor a tar archive`, ExitCode.Usage);
}

/**
 * A raw still backed by a loop device may not hold its final bytes: a filesystem on it that is still
 * mounted somewhere (e.g. copied into another process's mount namespace before it was unmounted here)
 * keeps dirty data and an unflushed journal. Say so loudly: such an image may not boot.
 */
async function warnIfStillAttached(disk: string): Promise<void> {
  const r = await run('losetup', ['-j', disk], { allowFailure: true });
  const devices = r.code === 0 ? r.stdout.split('\n').map((l) => l.split(':')[0]!.trim()).filter(Boolean) : [];
  if (devices.length) {
    warn(`${disk} is still attached to ${devices.join(', ')}: a filesystem on it may still be mounted (in another mount namespace) with unwritten data; the artifacts may be incomplete`);
  }
}

/** Taking the input over is a rename: it must be a plain file on the output's filesystem. */
async function checkConsumable(input: string, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const [a, b] = await Promise.all([stat(input), stat(outDir)]);
  if (a.dev !== b.dev) throw new KilnError(`cannot consume ${input}: it is not on the filesystem of ${outDir}`, ExitCode.Usage, ['drop --consume-input, or write the artifacts next to the input']);
}

/** Produce every artifact; returns their final paths, in request order. */
export async function roast(req: RoastRequest): Promise<string[]> {
  const plans = planArtifacts(req);
  await checkInput(req.input);
  if (req.input.kind === 'disk') await warnIfStillAttached(req.input.path);
  if (plans.some((p) => p.consumes)) await checkConsumable(req.input.path, resolve(req.outDir));
  const outDir = resolve(req.outDir);
  await mkdir(outDir, { recursive: true });
  const { dir: work, release: releaseWork } = await scratchDir(req.scope, outDir);

  let source = resolve(req.input.path);
  if (req.input.kind === 'tree' && (await stat(source)).isFile()) {
    // a rootfs tarball: unpack once (as root, keeping owners and xattrs), roast from the directory
    const tree = join(work, 'tree');
    await mkdir(tree);
    await run('tar', ['--extract', '--file', source, '--numeric-owner', '--same-owner', '--preserve-permissions', '--xattrs', '--xattrs-include=*', '--acls', '-C', tree]);
    source = tree;
  }

  const extracted = new Map<string, string>();
  const results: string[] = new Array<string>(plans.length);
  // the artifact that consumes the input runs last, when nothing else needs the raw any more
  const order = [...plans.keys()].sort((a, b) => Number(plans[a]!.consumes ?? false) - Number(plans[b]!.consumes ?? false));
  for (const i of order) {
    const plan = plans[i]!;
    const finalPath = join(outDir, plan.fileName);
    stage(`roast ${plan.fileName} (${plan.converter.name}${plan.compression ? ` + ${plan.compression}` : ''})`);
    let from = source;
    if (plan.partition) {
      const p = plan.partition;
      from = extracted.get(p.id) ?? join(work, `partition-${p.id.replace(/[^A-Za-z0-9_-]/g, '_')}.raw`);
      if (!extracted.has(p.id)) {
        await copyRangeSparse(source, p.startBytes, p.sizeBytes, from);
        extracted.set(p.id, from);
      }
    }
    const jobDir = join(work, `job-${i}`);
    await mkdir(jobDir);
    await writeAtomically(req.scope, finalPath, async (temp) => {
      const job = {
        source: from,
        scope: req.scope,
        workDir: jobDir,
        name: plan.request.Name,
        ...(plan.innerCompression ? { compression: plan.innerCompression } : {}),
        ...(plan.baseImage ? { baseImage: resolve(plan.baseImage) } : {}),
        ...(plan.consumes ? { consumeSource: true } : {}),
        ...(req.reproducible ? { reproducible: req.reproducible } : {}),
      };
      if (plan.compression) {
        const intermediate = plan.converter.name === 'raw' ? from : join(jobDir, `out.${plan.converter.extension}`);
        if (intermediate !== from) await plan.converter.convert({ ...job, output: intermediate });
        await compressFile(plan.compression, intermediate, temp);
      } else {
        await plan.converter.convert({ ...job, output: temp });
      }
    });
    await rm(jobDir, { recursive: true, force: true });
    const { size } = await stat(finalPath);
    info(`  ${finalPath} (${formatSize(size)})`);
    results[i] = finalPath;
  }
  await releaseWork();
  return results;
}

function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u ? 1 : 0)} ${units[u]}`;
}


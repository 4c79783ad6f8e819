/**
 * Artifacts: what `kiln build` makes of Disks[].Artifacts and Disks[].Partitions[].Artifacts.
 * Upstream's parser does not check artifacts at all (its build fails on what it cannot make), so
 * everything here is a warning `kiln build` refuses, decided by the build's own planner
 * (roast/roast.ts planArtifacts) on the same input the build gives it: whatever `kiln validate`
 * passes without such a warning, the planner accepts. Names are the exception: a Name that is not
 * a plain file name is an error (schema), as it would write outside the output folder.
 * Type and Compression values come from the roast registry (schema enums).
 */
import { ExitCode, KilnError } from '../../core/errors.js';
import { ARTIFACT_COMPRESSIONS, ARTIFACT_TYPES, artifactNameProblem } from '../../roast/registry.js';
import { planArtifacts } from '../../roast/roast.js';
import { baseImagesFromConfig } from '../../roast/request.js';
import type { ArtifactRequest, RoastInput } from '../../roast/types.js';
import type { Artifact, Config, Disk } from '../model.js';
import type { Segment } from '../findings.js';
import type { RuleContext } from './context.js';

interface Located {
  artifact: Artifact;
  request: ArtifactRequest;
  at: Segment[];
}

/** Same decision as iso/isomaker.ts wantsIso: a TargetDisk, or an artifact of Type "iso", makes an installer ISO. */
export function configWantsIso(config: Config): boolean {
  return (config.Disks ?? []).some((d) => !!d.TargetDisk || (d.Artifacts ?? []).some((a) => a.Type === 'iso'));
}

function artifactsOf(disk: Disk, at: Segment[]): Located[] {
  return [
    ...(disk.Artifacts ?? []).map((a, i) => ({ artifact: a, request: { ...a }, at: [...at, 'Artifacts', i] })),
    ...(disk.Partitions ?? []).flatMap((p, pi) =>
      (p.Artifacts ?? []).map((a, i) => ({ artifact: a, request: { ...a, partitionId: p.ID }, at: [...at, 'Partitions', pi, 'Artifacts', i] })),
    ),
  ];
}

/** Only artifacts whose Name, Type and Compression the schema accepted reach the planner (the rest already have a finding). */
function schemaAccepted(a: Artifact): boolean {
  return (
    artifactNameProblem(a.Name) === undefined &&
    (a.Type === undefined || ARTIFACT_TYPES.includes(a.Type)) &&
    (a.Compression === undefined || ARTIFACT_COMPRESSIONS.includes(a.Compression))
  );
}

export function checkArtifacts(ctx: RuleContext): void {
  const disk = ctx.config.Disks?.[0];
  if (!disk) return; // the build makes the first disk only (checkDisks warns about the others)
  const located = artifactsOf(disk, ['Disks', 0]).filter((l) => schemaAccepted(l.artifact));
  checkInstallerKey(ctx, disk, artifactsOf(disk, ['Disks', 0]));
  if (configWantsIso(ctx.config)) return checkIsoArtifacts(ctx, disk, located);

  const parts = disk.Partitions ?? [];
  const input: RoastInput = parts.length
    ? { kind: 'disk', path: 'disk.raw', partitions: parts.map((p) => ({ id: p.ID, startBytes: 0, sizeBytes: 0, fsType: p.FsType })) }
    : { kind: 'tree', path: 'rootfs' };
  const baseImages = baseImagesFromConfig(ctx.config);
  const plannable: Located[] = [];
  for (const l of located) {
    const problem = planProblem(() => planArtifacts({ input, artifacts: [l.request], baseImages }));
    if (!problem) {
      plannable.push(l);
      continue;
    }
    // the planner's hints speak to `kiln roast` users; say what to change in the config instead
    if (/but the input is a tree/.test(problem.message)) problem.hint = 'this disk has no Partitions, so the build makes a root filesystem tree: add Partitions for a disk image, or use a tree artifact ("Compression": "tar.gz", or Type squashfs, erofs or initrd)';
    else if (/but the input is a disk/.test(problem.message) && !/Partitions\[\]\.Artifacts/.test(problem.hint ?? '')) problem.hint = 'a tree artifact is made by a config whose disk has no Partitions (a root filesystem)';
    ctx.kiln(l.artifact.Type !== undefined ? [...l.at, 'Type'] : l.at, problem.message, problem.hint);
  }
  // together: two artifacts writing the same file
  for (let n = 1; n <= plannable.length; n++) {
    const problem = planProblem(() => planArtifacts({ input, artifacts: plannable.slice(0, n).map((l) => l.request), baseImages }));
    if (problem) {
      ctx.kiln([...plannable[n - 1]!.at, 'Name'], problem.message, problem.hint);
      plannable.splice(n - 1, 1);
      n--;
    }
  }
}

/** An ISO config: the build makes the ISO from the disk image(s) and nothing else. */
function checkIsoArtifacts(ctx: RuleContext, disk: Disk, located: Located[]): void {
  let isoSeen = false;
  for (const l of located) {
    const onPartition = l.request.partitionId !== undefined;
    if (l.artifact.Type === 'iso' && !onPartition && !isoSeen) {
      isoSeen = true;
      continue;
    }
    ctx.kiln(
      l.at,
      l.artifact.Type === 'iso'
        ? onPartition
          ? 'an "iso" artifact is made from the whole disk, not from a partition'
          : 'only the first "iso" artifact is made'
        : `artifact "${l.artifact.Name}" is not made: this config builds an installer ISO (it has ${disk.TargetDisk ? 'a TargetDisk' : 'an "iso" artifact'}), and kiln build then makes the ISO only`,
      l.artifact.Type === 'iso' ? 'keep one "iso" artifact under Disks[0].Artifacts' : 'remove the artifact, or build it from a config without TargetDisk and "iso" artifacts',
    );
  }
  if (!(disk.Partitions ?? []).length) {
    ctx.kiln(['Disks', 0], 'an installer ISO installs a disk image, but this disk has no Partitions', 'add Partitions (and PartitionSettings)');
  }
}

/** Kiln's `Installer` key: only on the ISO artifact, and "graphical" only where the installer asks questions. */
function checkInstallerKey(ctx: RuleContext, disk: Disk, all: Located[]): void {
  for (const l of all) {
    const installer = l.artifact.Installer;
    if (installer === undefined) continue;
    const at = [...l.at, 'Installer'];
    if (l.artifact.Type !== 'iso' || l.request.partitionId !== undefined) {
      ctx.report(at, `"Installer" chooses the installer of an ISO, but this artifact is ${l.artifact.Type ? `of Type "${l.artifact.Type}"` : 'not an ISO'}`, 'move "Installer" to the artifact of "Type": "iso" under Disks[0].Artifacts, or remove it');
      continue;
    }
    if (installer === 'graphical' && disk.TargetDisk && ctx.config.SystemConfigs.length === 1) {
      ctx.report(
        at,
        'the graphical installer asks for the disk, host name and user, but this ISO installs unattended (Disks[0].TargetDisk with one SystemConfig) and asks nothing',
        'remove Disks[0].TargetDisk for an attended graphical install, or remove "Installer" (or set it to "terminal")',
      );
    }
  }
}

function planProblem(plan: () => unknown): { message: string; hint?: string } | undefined {
  try {
    plan();
    return undefined;
  } catch (e) {
    if (!(e instanceof KilnError) || e.exitCode !== ExitCode.InvalidConfig) throw e;
    return { message: e.message, ...(e.details.length ? { hint: e.details.join('; ') } : {}) };
  }
}

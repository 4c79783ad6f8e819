/**
 * Building a RoastRequest from what a user has: an input path, a config's Artifacts, or artifact
 * specs typed on the command line. Used by `kiln roast`; `kiln build` has its own plan and calls roast().
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { output } from '../core/exec.js';
import { ExitCode, KilnError, UsageError } from '../core/errors.js';
import type { Config, SystemConfig } from '../config/model.js';
import type { ArtifactRequest, BaseImages, DiskPartition, RoastInput } from './types.js';
import { partitionTableIfAny } from '../disk/sfdisk.js';

const TAR_NAME = /\.(tar|tar\.gz|tgz|tar\.xz|txz|tar\.zst|tzst)$/i;

/** A directory or a tar archive is a root tree; any other file is a raw disk. */
export async function detectInputKind(path: string): Promise<RoastInput['kind']> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new UsageError(`input ${path} does not exist`);
  }
  if (st.isDirectory()) return 'tree';
  if (!st.isFile()) throw new UsageError(`input ${path} is neither a raw disk image, a directory nor a tar archive`);
  return TAR_NAME.test(path) ? 'tree' : 'disk';
}

/** Default artifact name: the input's file name without its image/archive extension. */
export function defaultName(path: string): string {
  return basename(path.replace(/\/+$/, '')).replace(TAR_NAME, '').replace(/\.(raw|img)$/i, '') || 'image';
}

/**
 * `TYPE[:COMPRESSION][@PARTITION]`, e.g. `vhdx`, `raw:xz`, `tar.gz`, `initrd:zst`, `ext4:gz@rootfs`.
 * A bare `tar.gz`/`tar.xz`/`tar.zst` is the rootfs tarball (upstream's Compression-only artifact).
 */
export function parseArtifactSpec(spec: string, name: string): ArtifactRequest {
  const m = /^([A-Za-z0-9.]+)(?::([A-Za-z0-9.]+))?(?:@(.+))?$/.exec(spec.trim());
  if (!m) throw new UsageError(`--artifact "${spec}": expected TYPE[:COMPRESSION][@PARTITION], e.g. vhdx, raw:xz, tar.gz, ext4@rootfs`);
  const [, type, compression, partitionId] = m;
  const tarball = /^tar\.(gz|xz|zst)$/i.test(type!);
  return {
    Name: name,
    ...(tarball ? { Compression: type! } : { Type: type! }),
    ...(compression ? { Compression: compression } : {}),
    ...(partitionId ? { partitionId } : {}),
  };
}

/** The SystemConfig a build uses: the one marked IsDefault, else the first. */
function defaultSystemConfig(config: Config): SystemConfig | undefined {
  return config.SystemConfigs.find((s) => s.IsDefault) ?? config.SystemConfigs[0];
}

/** Every artifact a config asks for: Disks[].Artifacts and Disks[].Partitions[].Artifacts. */
export function artifactsFromConfig(config: Config, diskIndex = 0): ArtifactRequest[] {
  const disk = config.Disks?.[diskIndex];
  if (!disk) return [];
  const out: ArtifactRequest[] = (disk.Artifacts ?? []).map((a) => ({ ...a }));
  for (const p of disk.Partitions ?? []) for (const a of p.Artifacts ?? []) out.push({ ...a, partitionId: p.ID });
  return out;
}

/** RdiffBaseImage / OverlayBaseImage of the default SystemConfig's PartitionSettings. */
export function baseImagesFromConfig(config: Config): BaseImages {
  const out: BaseImages = {};
  for (const ps of defaultSystemConfig(config)?.PartitionSettings ?? []) {
    if (ps.RdiffBaseImage || ps.OverlayBaseImage) {
      out[ps.ID] = {
        ...(ps.RdiffBaseImage ? { RdiffBaseImage: ps.RdiffBaseImage } : {}),
        ...(ps.OverlayBaseImage ? { OverlayBaseImage: ps.OverlayBaseImage } : {}),
      };
    }
  }
  return out;
}


/**
 * The disk's partitions as sfdisk reads them from the image itself. Config partitions are matched by
 * position (Partitions[i] is table entry i+1, as the imager creates them), which gives them their ID
 * and filesystem; without a config, the IDs are the partition names or "1", "2", ...
 */
export async function diskPartitions(disk: string, configPartitions?: { ID: string; FsType: string }[]): Promise<DiskPartition[]> {
  const table = await partitionTableIfAny(disk);
  if (!table) return [];
  const sector = table.sectorsize ?? 512;
  const parts = table.partitions;
  if (configPartitions && configPartitions.length !== parts.length) {
    throw new KilnError(`${disk} has ${parts.length} partitions but the config lists ${configPartitions.length}`, ExitCode.InvalidConfig, [
      'roast the raw image that was built from this config',
    ]);
  }
  const out: DiskPartition[] = [];
  for (const [i, p] of parts.entries()) {
    const startBytes = p.start * sector;
    out.push({
      id: configPartitions?.[i]?.ID ?? (p.name || String(i + 1)),
      startBytes,
      sizeBytes: p.size * sector,
      fsType: configPartitions?.[i]?.FsType ?? (await probeFsType(disk, startBytes)),
    });
  }
  return out;
}

/** Filesystem type at a byte offset of the disk (blkid low-level probe), or "unknown". */
async function probeFsType(disk: string, offset: number): Promise<string> {
  const type = await output('blkid', ['-p', '-o', 'value', '-s', 'TYPE', '-O', String(offset), disk], { allowFailure: true });
  return type || 'unknown';
}

import type { Command } from 'commander';
import { resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { withScope } from '../../core/scope.js';
import { converters, planArtifacts, requiredTools, roast, type ArtifactRequest, type RoastInput } from '../../roast/index.js';
import { ensureHostTools } from '../../host/check.js';
import { stat } from 'node:fs/promises';
import { artifactsFromConfig, baseImagesFromConfig, defaultName, detectInputKind, diskPartitions, parseArtifactSpec } from '../../roast/request.js';

const HELP = `
Bakes a raw disk image (or a root filesystem: a directory or a tar archive) into its final formats.
The artifacts come from a config's Disks[0].Artifacts and Disks[0].Partitions[].Artifacts (--config),
or from --artifact specs, or both. Each is written as <out>/<Name>.<ext> under a temporary name and
renamed once complete.

Artifact spec: TYPE[:COMPRESSION][@PARTITION]
  vhd vhdx qcow2 vmdk ova raw      disk formats (raw:gz, raw:xz, raw:zst, qcow2:zst ... compress the result)
  ext4@ID  raw@ID  rdiff@ID  diff@ID  one partition (ID from the config, else its GPT name or number)
  tar.gz tar.xz tar.zst squashfs erofs initrd[:gz|xz|zst]   root filesystem formats

Examples:
  kiln roast out/images/core-efi/core-efi.raw -a vhdx -a qcow2 -a vhd
  kiln roast -c imageconfigs/core-efi.json out/images/core-efi/core-efi.raw -o out/images/core-efi
  kiln roast rootfs/ -a tar.zst -a squashfs -a initrd:xz --name installer
  kiln roast --list`;

interface Options {
  config?: string;
  artifact: string[];
  name?: string;
  out?: string;
  rdiffBase: string[];
  overlayBase: string[];
  list?: boolean;
  consumeInput?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRoast(program: Command): void {
  program
    .command('roast')
    .description('convert a raw disk image or a rootfs into vhd, vhdx, qcow2, vmdk, ova, tarballs, squashfs, erofs, initrd ... (alias: roast)')
    .argument('[input]', 'raw disk image, or root filesystem directory / tar archive')
    .option('-c, --config <file>', 'take the artifacts (and diff base images) from this image config')
    .option('-a, --artifact <spec>', 'an artifact to make, TYPE[:COMPRESSION][@PARTITION] (repeatable)', collect, [])
    .option('-n, --name <name>', 'artifact name for --artifact specs (default: the input file name)')
    .option('-o, --out <dir>', 'output directory (default: out/images/<name>)')
    .option('--rdiff-base <id=path>', 'base image for rdiff artifacts of partition ID (repeatable)', collect, [])
    .option('--overlay-base <id=path>', 'base image for diff artifacts of partition ID (repeatable)', collect, [])
    .option('--consume-input', 'the raw disk is a throwaway: a vhd or raw artifact takes it over by rename instead of copying it (the input is gone afterwards)')
    .option('--list', 'list the formats and exit')
    .addHelpText('after', HELP)
    .action(async (input: string | undefined, opts: Options) => {
      if (opts.list) {
        for (const c of converters) process.stdout.write(`${c.name.padEnd(9)} .${c.extension.padEnd(11)} ${c.accepts.join('|').padEnd(15)} ${c.description}\n`);
        return;
      }
      const paths = await runRoast(input, opts);
      for (const p of paths) process.stdout.write(`${p}\n`);
    });
}

function parseBases(values: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0 || i === v.length - 1) throw new UsageError(`${flag} "${v}": expected PARTITION_ID=PATH`);
    out[v.slice(0, i)] = resolve(v.slice(i + 1));
  }
  return out;
}

export async function runRoast(input: string | undefined, opts: Options): Promise<string[]> {
  if (!input) throw new UsageError('roast needs an input: a raw disk image, or a rootfs directory or tar archive');
  const kind = await detectInputKind(input);
  // loaded on demand: the config layer (schema compilation) costs startup time a plain roast does not need
  const loaded = opts.config ? await (await import('../../config/index.js')).loadConfig(opts.config) : undefined;
  const name = opts.name ?? loaded?.name ?? defaultName(input);
  const artifacts: ArtifactRequest[] = [
    ...(loaded ? artifactsFromConfig(loaded.config) : []),
    ...opts.artifact.map((spec) => parseArtifactSpec(spec, name)),
  ];
  if (artifacts.length === 0) {
    throw new UsageError(loaded ? `${loaded.file} lists no Artifacts; add --artifact TYPE` : 'nothing to make: pass --artifact TYPE (see --list) or --config FILE');
  }
  const baseImages = loaded ? baseImagesFromConfig(loaded.config) : {};
  for (const [id, path] of Object.entries(parseBases(opts.rdiffBase, '--rdiff-base'))) baseImages[id] = { ...baseImages[id], RdiffBaseImage: path };
  for (const [id, path] of Object.entries(parseBases(opts.overlayBase, '--overlay-base'))) baseImages[id] = { ...baseImages[id], OverlayBaseImage: path };

  let roastInput: RoastInput;
  if (kind === 'disk') {
    const needsTable = artifacts.some((a) => a.partitionId);
    const configParts = loaded?.config.Disks?.[0]?.Partitions;
    roastInput = { kind, path: resolve(input), ...(needsTable ? { partitions: await diskPartitions(input, configParts) } : {}) };
  } else {
    roastInput = { kind, path: resolve(input) };
  }
  const outDir = resolve(opts.out ?? `out/images/${name}`);
  const tools = requiredTools(planArtifacts({ input: roastInput, artifacts, baseImages }));
  if (kind === 'disk') tools.push('sfdisk', 'blkid');
  if (kind === 'tree' && (await stat(input)).isFile()) tools.push('tar');
  await ensureHostTools(tools);
  return withScope('roast', (scope) => roast({ input: roastInput, artifacts, outDir, scope, baseImages, consumeInput: opts.consumeInput ?? false }));
}

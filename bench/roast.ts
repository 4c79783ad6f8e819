/**
 * Roast benchmark: the same multi-GiB sparse raw image (half data, half holes) converted to vhdx,
 * vhd, qcow2 and tar.gz by `kiln roast` and by the reference tools in the same run:
 *   vhdx   qemu-img convert -O vhdx -o subformat=dynamic
 *   vhd    qemu-img convert -O vpc -o subformat=fixed,force_size=on
 *   qcow2  qemu-img convert -O qcow2
 *   tar.gz tar -cf - . | gzip        (of the tree the image's filesystem was made from)
 * Prints wall time, peak memory (max RSS of the process tree's largest member, /usr/bin/time -v)
 * and output size per format, and the Kiln/reference ratio. Targets: time ratio <= 1.0 for every
 * disk format, < 0.5 for vhd. Disk formats run REPS times, interleaved (ref, kiln, kiln, ref, ...)
 * so both see the same page cache and load; the median is reported. Kiln's time includes starting
 * node. An extra row, "vhd*", is `kiln roast --consume-input` (what a build does with its throwaway
 * raw: the VHD is the raw plus a footer) on a fresh copy of the disk (the copy is not measured).
 * Run: npx vite-node bench/roast.ts [dataGiB=2] [reps=3]   (root; ~5x dataGiB free under KILN_BENCH_DIR)
 * Results are also written to bench/results/roast-<timestamp>.json.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { output, run } from '../src/core/exec.js';

const REPO = resolve(import.meta.dirname, '..');
const KILN_JS = join(REPO, 'dist/cli/kiln.js');
const dataGiB = Number(process.argv[2] ?? '2');
const REPS = Number(process.argv[3] ?? '3');
const work = process.env.KILN_BENCH_DIR ?? '/var/tmp/kiln-bench-roast';
const GIB = 1024 ** 3;

interface Measure {
  seconds: number;
  maxRssMiB: number;
  bytes: number;
  allocatedBytes: number;
}

/**
 * Run argv under /usr/bin/time -v; returns wall time and peak RSS, plus the output's sizes.
 * The input is read once first, so every run starts with it in the page cache: on a shared machine
 * the previous run's output otherwise evicts it for whichever tool happens to run next.
 */
async function measure(argv: string[], outFile: string, input: string): Promise<Measure> {
  rmSync(outFile, { force: true });
  // write back and drop the previous run's output, so no run pays for another's writeback
  await run('sync', []);
  await run('sh', ['-c', 'echo 3 > /proc/sys/vm/drop_caches']);
  await run('sh', ['-c', 'if [ -d "$1" ]; then find "$1" -type f -exec cat {} + ; else cat "$1"; fi > /dev/null', 'sh', input]);
  const r = await run('/usr/bin/time', ['-v', ...argv], { captureStdout: false });
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderrTail);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderrTail);
  if (!wall || !rss) throw new Error(`cannot parse /usr/bin/time output:\n${r.stderrTail}`);
  const st = statSync(outFile);
  return {
    seconds: Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]),
    maxRssMiB: Number(rss[1]) / 1024,
    bytes: st.size,
    allocatedBytes: st.blocks * 512,
  };
}

/** A tree of real files (copies of /usr/share and /usr/lib) of about `gib` GiB. */
async function makeTree(tree: string, gib: number): Promise<void> {
  mkdirSync(tree, { recursive: true });
  for (let i = 0; ; i++) {
    const used = Number((await output('du', ['-sb', tree])).split(/\s/)[0]);
    if (used >= gib * GIB) break;
    const src = i % 2 === 0 ? '/usr/share' : '/usr/lib/x86_64-linux-gnu';
    await run('cp', ['-a', src, join(tree, `copy-${i}`)]);
  }
}

async function main(): Promise<void> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  await run(join(REPO, 'kiln'), ['--version'], { captureStdout: false }); // compile once, not measured
  const tree = join(work, 'tree');
  console.log(`bench roast: making a ${dataGiB} GiB tree and a ${dataGiB * 2} GiB disk from it (not measured)`);
  await makeTree(tree, dataGiB);
  const treeBytes = Number((await output('du', ['-sb', tree])).split(/\s/)[0]);
  const disk = join(work, 'disk.raw');
  const diskBytes = Math.ceil((treeBytes * 2) / (1 << 20)) * (1 << 20) + (2 << 20);
  await run('truncate', ['-s', String(diskBytes), disk]);
  await run('sfdisk', ['--quiet', disk], { input: 'label: gpt\nstart=2048, type=linux\n' });
  await run('mkfs.ext4', ['-q', '-F', '-d', tree, '-E', `offset=${1 << 20}`, disk, `${(diskBytes - (2 << 20)) / 1024}k`]);
  const diskAlloc = statSync(disk).blocks * 512;
  console.log(`disk: ${(diskBytes / GIB).toFixed(2)} GiB, ${(diskAlloc / GIB).toFixed(2)} GiB data; tree ${(treeBytes / GIB).toFixed(2)} GiB\n`);

  const out = join(work, 'out');
  mkdirSync(out);
  const kiln = (input: string, type: string) => ['node', KILN_JS, 'roast', input, '-a', type, '-n', 'k', '-o', out];
  const consumable = join(out, 'consumable.raw');
  const cases: { format: string; input: string; ref: string[]; refOut: string; kiln: string[]; kilnOut: string; reps: number; before?: () => Promise<void> }[] = [
    { format: 'vhdx', input: disk, ref: ['qemu-img', 'convert', '-f', 'raw', '-O', 'vhdx', '-o', 'subformat=dynamic', disk, join(out, 'r.vhdx')], refOut: join(out, 'r.vhdx'), kiln: kiln(disk, 'vhdx'), kilnOut: join(out, 'k.vhdx'), reps: REPS },
    { format: 'vhd', input: disk, ref: ['qemu-img', 'convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed,force_size=on', disk, join(out, 'r.vhd')], refOut: join(out, 'r.vhd'), kiln: kiln(disk, 'vhd'), kilnOut: join(out, 'k.vhd'), reps: REPS },
    {
      format: 'vhd*',
      input: disk,
      ref: ['qemu-img', 'convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed,force_size=on', disk, join(out, 'r.vhd')],
      refOut: join(out, 'r.vhd'),
      kiln: ['node', KILN_JS, 'roast', consumable, '-a', 'vhd', '-n', 'k', '-o', out, '--consume-input'],
      kilnOut: join(out, 'k.vhd'),
      reps: REPS,
      before: async () => {
        rmSync(consumable, { force: true });
        await run('cp', ['--sparse=always', disk, consumable]);
      },
    },
    { format: 'qcow2', input: disk, ref: ['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', disk, join(out, 'r.qcow2')], refOut: join(out, 'r.qcow2'), kiln: kiln(disk, 'qcow2'), kilnOut: join(out, 'k.qcow2'), reps: REPS },
    { format: 'tar.gz', input: tree, ref: ['sh', '-c', 'tar -C "$1" -cf - . | gzip > "$2"', 'sh', tree, join(out, 'r.tar.gz')], refOut: join(out, 'r.tar.gz'), kiln: kiln(tree, 'tar.gz'), kilnOut: join(out, 'k.tar.gz'), reps: 1 },
  ];
  const results = [];
  const mib = (b: number) => (b / (1 << 20)).toFixed(0).padStart(7);
  const median = (xs: Measure[]) => [...xs].sort((a, b) => a.seconds - b.seconds)[Math.floor(xs.length / 2)]!;
  // Kiln's fixed cost: starting node and loading the CLI (every verb), measured with a no-op roast
  const listOut = join(out, 'list.txt');
  const startups: Measure[] = [];
  for (let i = 0; i < 5; i++) startups.push(await measure(['sh', '-c', 'node "$1" roast --list > "$2"', 'sh', KILN_JS, listOut], listOut, KILN_JS));
  const startup = median(startups).seconds;
  console.log(`median of ${REPS} runs (tar.gz: 1); kiln CLI startup (node + module loading, no work): ${startup.toFixed(2)} s`);
  console.log('"net" = kiln s minus that startup: the conversion itself against the reference tool\n');
  console.log('format   ref s  kiln s  ratio  net ratio | ref RSS  kiln RSS MiB | ref size  kiln size MiB (allocated)');
  for (const c of cases) {
    const refs: Measure[] = [];
    const kilns: Measure[] = [];
    for (let i = 0; i < c.reps; i++) {
      const pair = i % 2 === 0 ? (['ref', 'kiln'] as const) : (['kiln', 'ref'] as const);
      for (const who of pair) {
        if (who === 'ref') refs.push(await measure(c.ref, c.refOut, c.input));
        else {
          await c.before?.();
          kilns.push(await measure(c.kiln, c.kilnOut, c.input));
        }
      }
    }
    rmSync(c.refOut, { force: true });
    rmSync(c.kilnOut, { force: true });
    const ref = median(refs);
    const k = median(kilns);
    const ratio = k.seconds / ref.seconds;
    const netRatio = Math.max(0, k.seconds - startup) / ref.seconds;
    results.push({ format: c.format, ref, kiln: k, timeRatio: ratio, netTimeRatio: netRatio, startupSeconds: startup, rssRatio: k.maxRssMiB / ref.maxRssMiB, refRuns: refs, kilnRuns: kilns });
    console.log(
      `${c.format.padEnd(7)} ${ref.seconds.toFixed(2).padStart(6)} ${k.seconds.toFixed(2).padStart(7)} ${ratio.toFixed(2).padStart(6)} ${netRatio.toFixed(2).padStart(10)} |` +
        ` ${ref.maxRssMiB.toFixed(0).padStart(7)} ${k.maxRssMiB.toFixed(0).padStart(9)}     |` +
        ` ${mib(ref.bytes)} (${mib(ref.allocatedBytes).trim()}) ${mib(k.bytes)} (${mib(k.allocatedBytes).trim()})`,
    );
  }
  const resultsDir = join(REPO, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `roast-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ dataGiB, diskBytes, diskAllocatedBytes: diskAlloc, treeBytes, results }, null, 2));
  console.log(`\nresults: ${file}`);
  rmSync(work, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { DEFAULT_MAX_BYTES, DEFAULT_TREE_CACHE, formatBytes, parseSize } from '../../cache/store.js';

interface CommonOpts {
  treeCache?: string;
}

function maxBytes(text: string | undefined): number {
  const t = text ?? process.env.KILN_CACHE_MAX_SIZE;
  if (t === undefined) return DEFAULT_MAX_BYTES;
  try {
    return parseSize(t);
  } catch (e) {
    throw new UsageError(`--max-size: ${(e as Error).message}`);
  }
}

export function registerCache(program: Command): void {
  const cache = program.command('cache').description(`the base-tree cache (default ${DEFAULT_TREE_CACHE}): list, bound, verify; see docs/caching.md`);
  const dirOption = (c: Command) => c.option('--tree-cache <dir>', `cache directory (default ${DEFAULT_TREE_CACHE})`);

  dirOption(cache.command('list').description('entries (base trees and initramfs images), least recently used first').option('--json', 'machine-readable, with each entry\'s key inputs')).action(
    async (opts: CommonOpts & { json?: boolean }) => {
      const { TreeStore } = await import('../../cache/store.js');
      const store = new TreeStore(opts.treeCache ?? DEFAULT_TREE_CACHE);
      const entries = store.list().reverse();
      if (opts.json) {
        process.stdout.write(JSON.stringify(entries, null, 1) + '\n');
        return;
      }
      const rows = entries.map((e) => [
        e.key.slice(0, e.kind === 'tree' ? 12 : 21),
        e.kind,
        e.meta?.distro ?? (e.kind === 'tree' ? '?' : ''),
        e.meta ? String(e.meta.packages) : '',
        formatBytes(e.bytes),
        e.lastUsed.toISOString().replace(/\.\d+Z$/, 'Z'),
        e.broken ? `DAMAGED: ${e.broken}` : (e.meta?.label ?? ''),
      ]);
      const head = ['KEY', 'KIND', 'DISTRO', 'PKGS', 'SIZE', 'LAST USED', 'STORED BY'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const r of [head, ...rows]) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n');
      const total = entries.reduce((n, e) => n + e.bytes, 0);
      process.stdout.write(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, ${formatBytes(total)} (bound ${formatBytes(maxBytes(undefined))}) in ${store.root}\n`);
    },
  );

  dirOption(
    cache
      .command('prune')
      .description('evict least recently used entries until the cache is within --max-size (entries in use by a running build are kept)')
      .option('--max-size <size>', 'e.g. 8G; 0 empties the cache (default: KILN_CACHE_MAX_SIZE, else 16G)')
      .option('--all', 'empty the cache (same as --max-size 0)'),
  ).action(async (opts: CommonOpts & { maxSize?: string; all?: boolean }) => {
    const { TreeStore } = await import('../../cache/store.js');
    const store = new TreeStore(opts.treeCache ?? DEFAULT_TREE_CACHE);
    const { removed, bytes } = await store.prune(opts.all ? 0 : maxBytes(opts.maxSize));
    for (const e of removed) process.stdout.write(`removed ${e.kind} ${e.key} (${formatBytes(e.bytes)}, last used ${e.lastUsed.toISOString()})\n`);
    process.stdout.write(`${removed.length} removed; ${formatBytes(bytes)} in use\n`);
  });

  dirOption(cache.command('verify').description('check every payload against its SHA-256 and remove damaged entries')).action(async (opts: CommonOpts) => {
    const { verifyStore } = await import('../../cache/verify.js');
    const report = await verifyStore(opts.treeCache ?? DEFAULT_TREE_CACHE);
    for (const line of report.lines) process.stdout.write(`${line}\n`);
    if (report.damaged) process.exitCode = 3;
  });
}

/** `kiln cache verify`: every payload against its recorded SHA-256; damaged entries are removed. */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileSha256, imageDigest } from './payload.js';
import { TreeStore } from './store.js';
import type { VariantMeta } from './initramfs.js';

export async function verifyStore(dir: string): Promise<{ lines: string[]; damaged: number }> {
  const store = new TreeStore(dir);
  const lines: string[] = [];
  let damaged = 0;
  for (const e of store.list()) {
    const lock = await store.lock(e.key, false, false);
    if (!lock) {
      lines.push(`${e.key}: in use by a running build, skipped`);
      continue;
    }
    try {
      const problem = e.kind === 'tree' ? await checkTree(store, e.key) : await checkVariant(store, e.key);
      if (problem) {
        damaged++;
        if (e.kind === 'tree') await store.remove(e.key);
        else await rm(store.initramfsDir(e.key), { recursive: true, force: true });
        lines.push(`${e.key}: DAMAGED (${problem}), removed`);
      } else lines.push(`${e.key}: ok`);
    } finally {
      await lock.release();
    }
  }
  lines.push(`${damaged} damaged entr${damaged === 1 ? 'y' : 'ies'} removed`);
  return { lines, damaged };
}

async function checkTree(store: TreeStore, key: string): Promise<string | undefined> {
  const { meta, broken } = store.read(key);
  if (!meta) return broken ?? 'no entry.json';
  for (const p of meta.payloads) {
    const file = join(store.entryDir(key), p.file);
    const actual = p.kind === 'fs-image' ? (await imageDigest(file, 0, p.sizeBytes)).sha256 : await fileSha256(file);
    if (actual !== p.sha256) return `${p.file}: SHA-256 mismatch`;
  }
  return undefined;
}

async function checkVariant(store: TreeStore, id: string): Promise<string | undefined> {
  try {
    const meta = JSON.parse(readFileSync(join(store.initramfsDir(id), 'variant.json'), 'utf8')) as VariantMeta;
    for (const [i, o] of meta.outputs.entries()) {
      if ((await fileSha256(join(store.initramfsDir(id), 'files', String(i)))) !== o.sha256) return `${o.path}: SHA-256 mismatch`;
    }
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

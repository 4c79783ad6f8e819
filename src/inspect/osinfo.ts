/** What a root filesystem says about itself: os-release, kernels, the package count (pure readers + small helpers). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../core/exec.js';
import { resolveInRoot } from '../system/paths.js';

export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    if (/^(["']).*\1$/.test(v)) v = v.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    out[m[1]!] = v;
  }
  return out;
}

/** Installed packages in a dpkg status file. */
export function countDpkgStatus(text: string): number {
  return text.split(/\n\s*\n/).filter((p) => /^Status: install ok installed$/m.test(p)).length;
}

export interface PackageCount {
  manager: 'dpkg' | 'rpm';
  count: number;
  /** Where the count comes from: the package database, or the manifest RemoveRpmDb leaves. */
  source: string;
}

export interface OsInfo {
  osRelease: Record<string, string>;
  kernels: string[];
  packages?: PackageCount;
}

async function readIn(root: string, path: string): Promise<string | undefined> {
  const host = await resolveInRoot(root, path);
  return existsSync(host) ? readFileSync(host, 'utf8') : undefined;
}

/** Read the OS facts of a mounted (read-only) root; `boot` is a separately mounted /boot, if any. */
export async function osInfo(root: string, boot?: string): Promise<OsInfo | undefined> {
  const text = (await readIn(root, '/etc/os-release')) ?? (await readIn(root, '/usr/lib/os-release'));
  if (text === undefined) return undefined;
  const kernelDirs = [join(root, 'boot'), ...(boot ? [boot] : [])];
  const kernels = new Set<string>();
  for (const d of kernelDirs) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (/^vmlinuz-/.test(f)) kernels.add(f.slice('vmlinuz-'.length));
  }
  // /lib/modules/<version> names kernels too (e.g. a UKI-only image with no vmlinuz in /boot)
  const modules = await resolveInRoot(root, '/usr/lib/modules');
  if (existsSync(modules)) for (const v of readdirSync(modules)) if (existsSync(join(modules, v, 'modules.dep')) || existsSync(join(modules, v, 'kernel'))) kernels.add(v);
  const info: OsInfo = { osRelease: parseOsRelease(text), kernels: [...kernels].sort().reverse() };
  const packages = await packageCount(root);
  if (packages) info.packages = packages;
  return info;
}

export async function packageCount(root: string): Promise<PackageCount | undefined> {
  const status = await readIn(root, '/var/lib/dpkg/status');
  if (status !== undefined) return { manager: 'dpkg', count: countDpkgStatus(status), source: '/var/lib/dpkg/status' };
  for (const db of ['/var/lib/rpm', '/usr/lib/sysimage/rpm']) {
    const dir = await resolveInRoot(root, db);
    if (!existsSync(dir) || readdirSync(dir).length === 0) continue;
    // a private copy: rpm may want to write lock or journal files next to its database, and the image is read-only
    const tmp = await mkdtemp(join(tmpdir(), 'kiln-rpmdb-'));
    try {
      await cp(dir, tmp, { recursive: true });
      const r = await run('rpm', ['--dbpath', tmp, '-qa', '--qf', '%{NAME}\\n'], { allowFailure: true });
      if (r.code === 0) return { manager: 'rpm', count: r.stdout.split('\n').filter((l) => l && l !== 'gpg-pubkey').length, source: db };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const manifest = await readIn(root, '/var/lib/rpmmanifest/container-manifest-1');
  if (manifest !== undefined) return { manager: 'rpm', count: manifest.split('\n').filter((l) => l.trim() && !l.startsWith('gpg-pubkey')).length, source: '/var/lib/rpmmanifest/container-manifest-1 (RemoveRpmDb)' };
  return undefined;
}

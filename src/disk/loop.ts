/**
 * Loop devices for a raw disk file. `losetup -P` does not create partition nodes on these hosts,
 * so partitions are added with `partx -a` (and removed with `partx -d` before detaching). There is
 * no udev: the kernel's devtmpfs creates /dev/loopNpM, which we wait for briefly.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, output } from '../core/exec.js';
import type { Scope } from '../core/scope.js';

export interface AttachedDisk {
  device: string;
  /** Partition device by 1-based number. */
  partition(n: number): string;
}

export function partitionDevice(device: string, n: number): string {
  return `${device}p${n}`;
}

/** Attach `file`, add its partitions, register detaching with the scope. */
export async function attachDisk(scope: Scope, file: string, partitions: number): Promise<AttachedDisk> {
  const device = await scope.acquire(
    `loop device for ${file}`,
    () => output('losetup', ['--find', '--show', file]),
    (dev) => detach(dev),
    (dev) => ({ kind: 'loop', device: dev, backingFile: file }),
  );
  if (partitions > 0) {
    // a loop device detached by someone without `partx -d` keeps its old partitions: drop them first
    await run('partx', ['-d', device], { allowFailure: true });
    await run('partx', ['-a', device]);
    for (let n = 1; n <= partitions; n++) await waitForNode(partitionDevice(device, n));
  }
  return { device, partition: (n) => partitionDevice(device, n) };
}

/** Remove partition nodes (if any) and detach. Safe to call twice. */
export async function detach(device: string): Promise<void> {
  if (!existsSync(device)) return;
  await run('partx', ['-d', device], { allowFailure: true });
  const r = await run('losetup', ['-d', device], { allowFailure: true });
  // "No such device or address": already detached (e.g. by a previous attempt)
  if (r.code !== 0 && !/No such device/.test(r.stderrTail)) {
    throw new Error(`losetup -d ${device} failed: ${r.stderrTail}`);
  }
}

async function waitForNode(node: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (existsSync(node)) return;
    await sleep(100);
  }
  throw new Error(`partition device ${node} did not appear after partx -a`);
}

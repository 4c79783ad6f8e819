/**
 * Is KVM usable? /dev/kvm can exist while KVM fails at the first vCPU run (these build machines:
 * "failed to set MSR 0x10a" and an assertion). The probe starts a tiny guest with KVM (SeaBIOS, no
 * disk): one that dies within the grace period means KVM does not work here; one still running
 * means it does (it is stopped then).
 */
import { accessSync, constants } from 'node:fs';
import { spawn } from 'node:child_process';
import { logToFile } from '../core/log.js';

let cached: Promise<{ usable: boolean; reason: string }> | undefined;

export function probeKvm(graceMs = 1500): Promise<{ usable: boolean; reason: string }> {
  cached ??= probe(graceMs);
  return cached;
}

async function probe(graceMs: number): Promise<{ usable: boolean; reason: string }> {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { usable: false, reason: '/dev/kvm is missing or not accessible' };
  }
  return await new Promise((resolve) => {
    const child = spawn('qemu-system-x86_64', ['-machine', 'q35,accel=kvm', '-cpu', 'host', '-m', '64', '-nodefaults', '-display', 'none', '-no-reboot', '-serial', 'none', '-monitor', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ usable: true, reason: 'a KVM guest ran' });
    }, graceMs);
    const failed = (why: string) => {
      clearTimeout(timer);
      const reason = `KVM does not work here: ${why}`;
      logToFile(reason);
      resolve({ usable: false, reason });
    };
    child.on('error', (e) => failed(e.message));
    child.on('exit', (code, signal) => {
      if (code === null && signal === 'SIGKILL') return; // our own kill after the grace period
      failed((stderr.trim().split('\n')[0] ?? '') || `qemu exited (${code ?? signal})`);
    });
  });
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { InterruptedError } from './errors.js';

/**
 * Process-wide interruption state. After SIGINT/SIGTERM no new work may start, except the
 * release steps that run inside `whileReleasing` (umount, losetup -d, ...).
 */
let abortedBy: NodeJS.Signals | undefined;
const releasing = new AsyncLocalStorage<boolean>();

export function markAborted(signal: NodeJS.Signals): void {
  abortedBy ??= signal;
}
export function abortedSignal(): NodeJS.Signals | undefined {
  return abortedBy;
}
export function whileReleasing<T>(fn: () => Promise<T>): Promise<T> {
  return releasing.run(true, fn);
}
/** Are we inside a release step (scope close, early release)? */
export function isReleasing(): boolean {
  return releasing.getStore() === true;
}
/** Throw if the build was interrupted and we are not cleaning up. Called before every command. */
export function throwIfAborted(): void {
  if (abortedBy && !releasing.getStore()) throw new InterruptedError(abortedBy);
}

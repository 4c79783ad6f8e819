/** Wall time per pipeline stage, for the build log and the benchmark (not for tests). */
import { stage, stageEnd } from '../core/log.js';

export class StageTimer {
  readonly stages: { name: string; seconds: number }[] = [];
  /** Facts about the build for the timings file (e.g. the tree cache's answer). */
  readonly notes: Record<string, unknown> = {};
  private readonly started = Date.now();

  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    stage(name);
    const t0 = Date.now();
    let ok = false;
    try {
      const value = await fn();
      ok = true;
      return value;
    } finally {
      const seconds = (Date.now() - t0) / 1000;
      this.stages.push({ name, seconds });
      stageEnd(name, seconds, ok);
    }
  }

  get totalSeconds(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** Also records the peak resident memory of Kiln's own process so far (children excluded). */
  toJSON(): { stages: { name: string; seconds: number }[]; totalSeconds: number; maxRssMiB: number; notes: Record<string, unknown> } {
    return { stages: this.stages, totalSeconds: this.totalSeconds, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 102.4) / 10, notes: this.notes };
  }
}

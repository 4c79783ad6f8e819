/** Pure text helpers of the console front ends: durations, sizes, the live frame, the summary table. */

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export function bar(done: number, total: number, width = 24): string {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

export interface LiveState {
  title?: string;
  stage?: string;
  /** When the current stage started (ms since epoch). */
  stageStarted?: number;
  stagesDone: number;
  /** Number of stages the previous build of this config had (for "stage 3/10"). */
  stagesExpected?: number;
  progress?: { what: string; done: number; total?: number; since: number };
  started: number;
  /** Expected total seconds (from the previous build's timings), when known. */
  estimateSeconds?: number;
  /** Expected seconds of the current stage, when known. */
  stageEstimate?: number;
}

const SPINNER = ['-', '\\', '|', '/'];

/** The live display: two or three lines, redrawn in place by log-update. */
export function renderLive(s: LiveState, now: number, tick = 0): string {
  const elapsed = (now - s.started) / 1000;
  const lines: string[] = [];
  const stageNo = s.stagesExpected ? ` (${Math.min(s.stagesDone + 1, s.stagesExpected)}/${s.stagesExpected})` : '';
  const stageElapsed = s.stageStarted !== undefined ? (now - s.stageStarted) / 1000 : 0;
  lines.push(`${SPINNER[tick % SPINNER.length]} ${s.stage ?? 'starting'}${stageNo}  ${formatDuration(stageElapsed)}`);
  const p = s.progress;
  if (p) {
    if (p.total) {
      const rate = p.done > 0 ? (now - p.since) / 1000 / p.done : 0;
      const left = p.done >= 5 && rate > 0 ? ` · ~${formatDuration(rate * (p.total - p.done))} left` : '';
      lines.push(`  ${bar(p.done, p.total)} ${p.what} ${p.done}/${p.total}${left}`);
    } else {
      lines.push(`  ${p.what} ${p.done}`);
    }
  }
  let overall = `  elapsed ${formatDuration(elapsed)}`;
  if (s.estimateSeconds) {
    const left = s.estimateSeconds - elapsed;
    overall += left > 0 ? ` · about ${formatDuration(left)} left (last build took ${formatDuration(s.estimateSeconds)})` : ` · longer than the last build (${formatDuration(s.estimateSeconds)})`;
  }
  if (s.title) overall += ` · ${s.title}`;
  lines.push(overall);
  return lines.join('\n');
}

export interface Summary {
  artifacts: { path: string; bytes: number }[];
  stages: { name: string; seconds: number; ok: boolean }[];
  totalSeconds: number;
}

/** The table printed when a command ends: artifacts with sizes, then the time of each stage. */
export function renderSummary(s: Summary, cwd = process.cwd()): string {
  const rows: [string, string][] = [];
  const rel = (p: string) => (p.startsWith(cwd + '/') ? p.slice(cwd.length + 1) : p);
  const out: string[] = [];
  if (s.artifacts.length) {
    for (const a of s.artifacts) rows.push([rel(a.path), formatBytes(a.bytes)]);
    out.push(table(['artifact', 'size'], rows));
  }
  if (s.stages.length) {
    const stageRows: [string, string][] = s.stages.map((st) => [st.ok ? st.name : `${st.name} (failed)`, formatDuration(st.seconds)]);
    stageRows.push(['total', formatDuration(s.totalSeconds)]);
    out.push(table(['stage', 'time'], stageRows));
  }
  return out.join('\n');
}

function table(head: [string, string], rows: [string, string][]): string {
  const w0 = Math.max(head[0].length, ...rows.map((r) => r[0].length));
  const w1 = Math.max(head[1].length, ...rows.map((r) => r[1].length));
  const line = (a: string, b: string) => `${a.padEnd(w0)}  ${b.padStart(w1)}`;
  return [line(head[0], head[1]), `${'-'.repeat(w0)}  ${'-'.repeat(w1)}`, ...rows.map((r) => line(r[0], r[1]))].join('\n');
}

// The hotspots and the layer rollup as plain text: what `npm run profile` prints, so a terminal or
// a CI log shows where the time went without opening a browser. Fixed-width columns, no colours.

import type { CpuProfileSummary } from './cpu-profile.js';

export interface ThreadProfile {
  /** V8's thread id from the file name: 0 is the main thread, the rest are worker threads. */
  readonly threadId: number;
  readonly file: string;
  readonly summary: CpuProfileSummary;
}

const ms = (value: number): string => Math.round(value).toLocaleString('en-US').replace(/,/g, ' ');
const pct = (value: number): string => value.toFixed(1);

export function renderHotspots(main: ThreadProfile, workers: readonly ThreadProfile[], samplingIntervalUs: number): string {
  const { summary } = main;
  const busyMs = summary.totalMs - summary.idleMs;
  const lines: string[] = [];
  lines.push(
    `Hotspots — main thread (${main.file}), node --cpu-prof sampling every ${samplingIntervalUs} µs: ` +
      `${ms(summary.totalMs)} ms sampled, ${ms(busyMs)} ms busy, idle ${pct(summary.totalMs === 0 ? 0 : (summary.idleMs / summary.totalMs) * 100)} %`,
  );
  lines.push('');
  lines.push(`${'self ms'.padStart(9)} ${'all %'.padStart(6)} ${'busy %'.padStart(6)}  ${'layer'.padEnd(14)}  ${'function'.padEnd(32)}  file:line`);
  for (const row of summary.top) {
    lines.push(`${ms(row.selfMs).padStart(9)} ${pct(row.selfPercent).padStart(6)} ${(row.layer === 'idle' ? '—' : pct(row.busyPercent)).padStart(6)}  ${row.layer.padEnd(14)}  ${row.functionName.padEnd(32)}  ${row.location}`);
  }
  lines.push('');
  lines.push('Time by layer — self: where the CPU was; by caller: node internals and dependencies charged to the innermost raftbench frame that called them');
  lines.push('');
  lines.push(`${'layer'.padEnd(16)} ${'self ms'.padStart(9)} ${'self %'.padStart(7)} ${'by caller %'.padStart(12)}`);
  for (const share of summary.layers) {
    lines.push(`${share.layer.padEnd(16)} ${ms(share.selfMs).padStart(9)} ${pct(share.selfPercent).padStart(7)} ${pct(share.byCallerPercent).padStart(12)}`);
  }
  const selfTotal = summary.layers.reduce((sum, share) => sum + share.selfPercent, 0);
  const callerTotal = summary.layers.reduce((sum, share) => sum + share.byCallerPercent, 0);
  lines.push(`${'total'.padEnd(16)} ${ms(summary.totalMs).padStart(9)} ${pct(selfTotal).padStart(7)} ${pct(callerTotal).padStart(12)}`);
  if (workers.length > 0) {
    lines.push('');
    lines.push(`Worker threads (${workers.length}; their time is not in the tables above):`);
    for (const worker of workers) {
      const busy = worker.summary.totalMs - worker.summary.idleMs;
      const top = worker.summary.top.find((row) => row.layer !== 'idle');
      const busyShare = worker.summary.totalMs === 0 ? 0 : (busy / worker.summary.totalMs) * 100;
      lines.push(`  thread ${worker.threadId}: ${ms(busy)} ms busy of ${ms(worker.summary.totalMs)} ms (${pct(busyShare)} %)${top === undefined ? '' : `; top: ${top.functionName} ${top.location} ${pct(top.busyPercent)} % of its busy time`}`);
    }
  }
  return lines.join('\n');
}

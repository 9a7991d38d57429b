// The side-by-side report of `npm run bench:etcd`: one Markdown page with every cell (target ×
// workload × connections × repetition), medians over repetitions with the raftbench / etcd ratio
// when both ran (the target: ≥ 3× etcd's puts/s at a lower p99), the machine
// and how loaded it was, and the caveats that decide how far the figures can be trusted — a
// closed loop (coordinated omission present), autocannon's whole-millisecond histogram, and a
// 2-core machine shared by the driver, every member and anything else running.

import type { CellResult, Environment } from '../results/schema.js';
import type { AutocannonSummary } from '../drive/http-autocannon.js';
import { DRIVER_LABEL } from '../drive/http-autocannon.js';
import { describeEnvironment } from '../run/environment.js';

export interface SideBySideRow {
  readonly target: string;
  readonly workload: string;
  readonly connections: number;
  readonly repetition: number;
  readonly cell: CellResult;
  readonly autocannon: AutocannonSummary;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** 1-minute load average just before and just after the cell. */
  readonly loadBefore: number;
  readonly loadAfter: number;
  /** CPU used during the cell as % of one core: the driver process, and the etcd members (null for raftbench or off Linux). */
  readonly driverCpuPercent: number;
  readonly etcdCpuPercent: number | null;
}

export interface SideBySideReport {
  readonly environment: Environment;
  readonly loadAverageAtEnd: readonly number[];
  readonly etcdVersion: string;
  readonly etcdDescription: string;
  readonly raftbenchDescription: string | null;
  readonly targeting: 'leader' | 'spread';
  readonly rows: readonly SideBySideRow[];
  readonly resultsFile: string;
  readonly interrupted: boolean;
}

const ms = (us: number): string => (us / 1000).toFixed(1);
const fixed0 = (value: number): string => value.toFixed(0);

function errorsText(cell: CellResult): string {
  const entries = Object.entries(cell.total.errors).filter(([, count]) => count > 0);
  return entries.length === 0 ? '0' : entries.map(([kind, count]) => `${count} ${kind}`).join(', ');
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Rows grouped by workload × connections, in the order they first ran. */
function groupByCell(rows: readonly SideBySideRow[]): SideBySideRow[][] {
  const groups = new Map<string, SideBySideRow[]>();
  for (const row of rows) {
    const key = `${row.workload}\u0000${row.connections}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()];
}

interface TargetSummary {
  readonly runs: number;
  readonly rate: number;
  readonly rateMin: number;
  readonly rateMax: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

function summarize(rows: readonly SideBySideRow[]): TargetSummary | null {
  if (rows.length === 0) return null;
  const rates = rows.map((row) => row.cell.total.throughputPerSecond);
  return {
    runs: rows.length,
    rate: median(rates),
    rateMin: Math.min(...rates),
    rateMax: Math.max(...rates),
    p50Us: median(rows.map((row) => row.cell.total.latencyUs.p50)),
    p99Us: median(rows.map((row) => row.cell.total.latencyUs.p99)),
  };
}

/** Medians over repetitions per target, and raftbench against etcd when both ran. */
function summaryLines(report: SideBySideReport): string[] {
  const lines = [
    '',
    '## Medians over repetitions',
    '',
    '| workload | conns | target | runs | req/s median (min – max) | p50 ms | p99 ms | × etcd req/s | p99 vs etcd |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const rows of groupByCell(report.rows)) {
    const targets = [...new Set(rows.map((row) => row.target))];
    const etcd = summarize(rows.filter((row) => row.target === 'etcd'));
    for (const target of targets) {
      const summary = summarize(rows.filter((row) => row.target === target))!;
      const against = target === 'etcd' || etcd === null || etcd.rate === 0 ? '' : (summary.rate / etcd.rate).toFixed(2);
      const p99Against = target === 'etcd' || etcd === null ? '' : summary.p99Us < etcd.p99Us ? 'lower' : 'not lower';
      lines.push(
        `| ${rows[0]!.workload} | ${rows[0]!.connections} | ${target} | ${summary.runs} | ${fixed0(summary.rate)} (${fixed0(summary.rateMin)} – ${fixed0(summary.rateMax)}) | ${ms(summary.p50Us)} | ${ms(summary.p99Us)} | ${against} | ${p99Against} |`,
      );
    }
  }
  return lines;
}

export function renderSideBySide(report: SideBySideReport): string {
  const env = report.environment;
  const lines = [
    `# etcd side by side — ${env.startedAt}${report.interrupted ? ' (INTERRUPTED: the cells that finished)' : ''}`,
    '',
    `**Driver: ${DRIVER_LABEL}.** Each connection sends its next request when the previous one is answered, and latency runs from the send: ` +
      'coordinated omission is present, so the percentiles understate what users arriving at a fixed rate would see. This is "what N connections ' +
      'push through", not an open-loop latency measurement.',
    '',
    `- etcd: ${report.etcdDescription}`,
    `- raftbench: ${report.raftbenchDescription ?? 'not run (no --raftbench URL given)'}`,
    '- Requests: the etcd v3 JSON gateway (`POST /v3/kv/put`, `/v3/kv/range`; base64 keys and values) built from the same workload ' +
      `and seed for both targets; sent ${report.targeting === 'leader' ? 'to the leader only' : 'spread over every member (connection i → member i mod n)'}.`,
    '- Latency columns: integer-µs HDR histograms timed on our clock per request, shown in ms. `ac p50/p99` is autocannon\'s own histogram: ' +
      'whole milliseconds (values cut to integer ms, sub-millisecond responses read as 0 ms).',
    '- CPU %: of one core, over the cell (driver = this process: autocannon and the recording; etcd = all members). The machine has ' +
      `${env.cores} cores shared by the driver, every member and any other job: a load average above ${env.cores} means the figures measure contention too.`,
    '',
    '| workload | conns | target | rep | req/s | p50 ms | p99 ms | max ms | errors | ac p50 / p99 ms | non-2xx | load 1m before → after | driver CPU % | etcd CPU % |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of report.rows) {
    const total = row.cell.total;
    lines.push(
      `| ${row.workload} | ${row.connections} | ${row.target} | ${row.repetition} | ${fixed0(total.throughputPerSecond)} | ${ms(total.latencyUs.p50)} | ${ms(total.latencyUs.p99)} | ${ms(total.latencyUs.max)} | ${errorsText(row.cell)} | ` +
        `${row.autocannon.latencyMs.p50} / ${row.autocannon.latencyMs.p99} | ${row.autocannon.non2xx} | ${row.loadBefore.toFixed(1)} → ${row.loadAfter.toFixed(1)} | ${fixed0(row.driverCpuPercent)} | ${row.etcdCpuPercent === null ? '—' : fixed0(row.etcdCpuPercent)} |`,
    );
  }
  lines.push(...summaryLines(report));
  const notes = report.rows.flatMap((row) => row.cell.notes.filter((note) => note.includes('failed')).map((note) => `- ${row.target} ${row.workload} ×${row.connections} #${row.repetition}: ${note}`));
  if (notes.length > 0) lines.push('', '## Notes', '', ...notes);
  lines.push(
    '',
    '## Environment',
    '',
    `- ${describeEnvironment(env)}`,
    `- load average (1, 5, 15 min): ${env.loadAverageAtStart.join(', ')} at start, ${report.loadAverageAtEnd.join(', ')} at the end`,
    `- OS ${env.os}; etcd ${report.etcdVersion}`,
    `- results file (every cell, encoded histograms): ${report.resultsFile}`,
    '',
    '## Caveats',
    '',
    `- ${DRIVER_LABEL}: coordinated omission present (see above). autocannon's rate mode would not fix it (it back-fills with a fixed 1 ms expected interval), so it is not used.`,
    '- One run of a few seconds per cell on a shared machine: differences within the spread of the repetitions (or without repetitions) are not evidence.',
    '- The driver shares the cores with the targets: at high request rates it can be the bottleneck (see driver CPU %).',
    '- Reads go through each system\'s default: etcd serves linearizable reads (ReadIndex); raftbench serves what its profile\'s read mode says.',
  );
  return `${lines.join('\n')}\n`;
}

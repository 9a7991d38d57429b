// The side-by-side report of `npm run bench:etcd`: one Markdown page with every cell (target ×
// workload × connections × repetition), the raftbench / etcd ratios when both ran, the machine
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

function ratioLines(report: SideBySideReport): string[] {
  if (report.raftbenchDescription === null) return [];
  const groups = new Map<string, SideBySideRow[]>();
  for (const row of report.rows) {
    const key = `${row.workload}\u0000${row.connections}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const lines = ['', '## raftbench against etcd (medians over repetitions)', '', '| workload | conns | etcd req/s | raftbench req/s | × | etcd p99 ms | raftbench p99 ms |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const rows of groups.values()) {
    const etcd = rows.filter((row) => row.target === 'etcd');
    const ours = rows.filter((row) => row.target !== 'etcd');
    if (etcd.length === 0 || ours.length === 0) continue;
    const etcdRate = median(etcd.map((row) => row.cell.total.throughputPerSecond));
    const ourRate = median(ours.map((row) => row.cell.total.throughputPerSecond));
    const etcdP99 = median(etcd.map((row) => row.cell.total.latencyUs.p99));
    const ourP99 = median(ours.map((row) => row.cell.total.latencyUs.p99));
    lines.push(`| ${rows[0]!.workload} | ${rows[0]!.connections} | ${fixed0(etcdRate)} | ${fixed0(ourRate)} | ${etcdRate > 0 ? (ourRate / etcdRate).toFixed(2) : '—'} | ${ms(etcdP99)} | ${ms(ourP99)} |`);
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
  lines.push(...ratioLines(report));
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

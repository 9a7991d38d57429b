#!/usr/bin/env node
// The switches benchmark: every switch end to end on the embedded 3-node cluster (real fsync),
// against the targets the design sources set. It runs `raftbench run` once per group below (each
// group's profiles interleaved, A B A B …), keeps every results file under results/, prints each
// group's full report, and ends with one summary table: per group and profile the median
// throughput and latency over the repetitions, the ratio each target is about, and whether the
// target was met on this machine.
//
// Usage: npm run bench:switches [-- --repetitions N --duration S --records N --groups a,b --quick]
//   --quick: 2 repetitions of 3 s (a smoke run, not numbers to quote)

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`bench-switches: ${name} needs a positive number, got '${args[at + 1]}'`);
    process.exit(2);
  }
  return value;
};
if (flag('--help') || flag('-h')) {
  console.log(readFileSync(new URL(import.meta.url)).toString().split('\n').slice(1, 12).map((line) => line.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const quick = flag('--quick');
const repetitions = option('--repetitions', quick ? 2 : 3);
const duration = option('--duration', quick ? 3 : 10);
const warmup = quick ? 1 : 2;
// Records loaded per cell: the load phase runs under each profile, and the baseline loads at a
// few thousand writes/s, so 10 000 records would cost more than the measurement itself.
const records = option('--records', 2000);

/** One `raftbench run` per group; `metric` says what the group's target compares. */
const GROUPS = [
  { id: 'writes-64', workload: 'writes-256', concurrency: 64, profiles: ['baseline', 'fsync-batched', 'pipelining', 'batching', 'log-lz4', 'all-on-fsync-always', 'all-on'] },
  { id: 'writes-256', workload: 'writes-256', concurrency: 256, profiles: ['baseline', 'fsync-batched', 'pipelining', 'batching', 'log-lz4', 'all-on-fsync-always', 'all-on'] },
  { id: 'reads-64', workload: 'reads-256', concurrency: 64, profiles: ['all-on-reads-log', 'all-on-reads-read-index', 'all-on', 'all-on-reads-follower'] },
  { id: 'reads-256', workload: 'reads-256', concurrency: 256, profiles: ['all-on-reads-log', 'all-on-reads-read-index', 'all-on', 'all-on-reads-follower'] },
  { id: 'locks', workload: 'reads-under-writes', concurrency: 256, profiles: ['all-on-mutex', 'all-on'] },
  { id: 'rtt-1ms', workload: 'writes-256', concurrency: 64, profiles: ['rtt1ms-stop-and-wait', 'rtt1ms-pipelined'] },
  { id: 'rtt-1ms-unbatched', workload: 'writes-256', concurrency: 64, profiles: ['rtt1ms-unbatched-stop-and-wait', 'rtt1ms-unbatched-pipelined'] },
  { id: 'reads-rtt-1ms', workload: 'reads-256', concurrency: 64, profiles: ['rtt1ms-reads-log', 'rtt1ms-reads-read-index', 'rtt1ms-pipelined'] },
  { id: 'codecs', workload: 'writes-256', concurrency: 256, profiles: ['all-on-uncompressed', 'all-on-lz4', 'all-on-zstd-snapshots'] },
];

const groupsAt = args.indexOf('--groups');
const chosen = groupsAt < 0 ? null : (args[groupsAt + 1] ?? '').split(',').filter((name) => name !== '');
if (chosen !== null) {
  const unknown = chosen.filter((name) => !GROUPS.some((group) => group.id === name));
  if (unknown.length > 0 || chosen.length === 0) {
    console.error(`bench-switches: --groups takes some of ${GROUPS.map((group) => group.id).join(', ')}; got '${args[groupsAt + 1] ?? ''}'`);
    process.exit(2);
  }
}
const selected = GROUPS.filter((group) => chosen === null || chosen.includes(group.id));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync('results', { recursive: true });
const results = new Map();
for (const group of selected) {
  const out = join('results', `switches-${group.id}-${stamp}.json`);
  console.error(`\n=== ${group.id}: ${group.profiles.join(', ')} on ${group.workload}, ${group.concurrency} clients, ${repetitions} × ${duration} s`);
  const run = spawnSync(
    process.execPath,
    ['dist/src/cli/main.js', 'run', '--profiles', group.profiles.join(','), '--workloads', group.workload, '--repetitions', String(repetitions), '--duration', String(duration), '--warmup', String(warmup), '--concurrency', String(group.concurrency), '--records', String(records), '--out', out],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (run.status !== 0) {
    console.error(`bench-switches: group ${group.id} failed (exit ${run.status})`);
    process.exit(1);
  }
  results.set(group.id, JSON.parse(readFileSync(out, 'utf8')));
}

/** Per profile of a group: medians over its repetitions. */
function summarize(groupId) {
  const byProfile = new Map();
  for (const cell of results.get(groupId).cells) {
    const rows = byProfile.get(cell.profile) ?? [];
    rows.push(cell);
    byProfile.set(cell.profile, rows);
  }
  const summary = new Map();
  for (const [profile, cells] of byProfile) {
    const readType = (cell) => cell.byType.read;
    summary.set(profile, {
      opsPerSecond: median(cells.map((cell) => cell.total.throughputPerSecond)),
      readsPerSecond: median(cells.map((cell) => readType(cell)?.throughputPerSecond ?? 0)),
      p50Ms: median(cells.map((cell) => cell.total.latencyUs.p50)) / 1000,
      p99Ms: median(cells.map((cell) => cell.total.latencyUs.p99)) / 1000,
      fsyncsPerOp: median(cells.map((cell) => cell.costs?.perOperation.fsyncs ?? 0)),
      logRatio: median(cells.map((cell) => cell.costs?.logCompressionRatio ?? 0)),
      snapshotRatio: median(cells.map((cell) => cell.costs?.snapshotCompressionRatio ?? 0)),
      runs: cells.length,
    });
  }
  return summary;
}

const lines = [];
const fmt = (value, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
lines.push(`# Switches benchmark, ${new Date().toISOString()}`);
lines.push('');
lines.push(`Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${fmt(totalmem() / 2 ** 30, 1)} GiB, load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}; Node ${process.version}.`);
lines.push(`Each cell: ${repetitions} runs of ${duration} s after ${warmup} s warm-up and a load phase of ${records} records, profiles interleaved; medians over the runs. Embedded 3-node cluster, real fsync, 256 B text-like values.`);
lines.push('');
for (const group of selected) {
  const summary = summarize(group.id);
  lines.push(`## ${group.id} (${group.workload}, ${group.concurrency} clients)`);
  lines.push('');
  lines.push('| profile | ops/s | reads/s | p50 ms | p99 ms | fsyncs/op | log raw/stored | snapshot raw/stored |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [profile, row] of summary) {
    lines.push(`| ${profile} | ${fmt(row.opsPerSecond)} | ${fmt(row.readsPerSecond)} | ${fmt(row.p50Ms, 2)} | ${fmt(row.p99Ms, 2)} | ${fmt(row.fsyncsPerOp, 3)} | ${row.logRatio > 0 ? `${fmt(row.logRatio, 2)}×` : '—'} | ${row.snapshotRatio > 0 ? `${fmt(row.snapshotRatio, 2)}×` : '—'} |`);
  }
  lines.push('');
}

const get = (groupId, profile) => (results.has(groupId) ? summarize(groupId).get(profile) : undefined);
const targets = [];
const target = (name, ratio, goal) => {
  if (Number.isFinite(ratio)) targets.push(`| ${name} | ${fmt(ratio, 2)}× | ≥ ${goal}× | ${ratio >= goal ? 'met' : 'MISSED'} |`);
};
for (const concurrency of [64, 256]) {
  const writes = `writes-${concurrency}`;
  const allOn = get(writes, 'all-on');
  if (allOn !== undefined) targets.push(`| all-on durable writes/s, ${concurrency} clients | ${fmt(allOn.opsPerSecond)} | ≥ 100 000 | ${allOn.opsPerSecond >= 100_000 ? 'met' : 'MISSED'} |`);
  target(`group commit vs one fsync per entry (all-on vs all-on-fsync-always), ${concurrency} clients`, get(writes, 'all-on')?.opsPerSecond / get(writes, 'all-on-fsync-always')?.opsPerSecond, 10);
  target(`fsync-batched alone vs baseline, ${concurrency} clients`, get(writes, 'fsync-batched')?.opsPerSecond / get(writes, 'baseline')?.opsPerSecond, 10);
  const reads = `reads-${concurrency}`;
  target(`lease vs ReadIndex reads/s, ${concurrency} clients`, get(reads, 'all-on')?.readsPerSecond / get(reads, 'all-on-reads-read-index')?.readsPerSecond, 3);
  target(`ReadIndex vs log reads/s, ${concurrency} clients`, get(reads, 'all-on-reads-read-index')?.readsPerSecond / get(reads, 'all-on-reads-log')?.readsPerSecond, 3);
}
target('pipelining vs stop-and-wait at 1 ms RTT, everything else on', get('rtt-1ms', 'rtt1ms-pipelined')?.opsPerSecond / get('rtt-1ms', 'rtt1ms-stop-and-wait')?.opsPerSecond, 2);
target('pipelining vs stop-and-wait at 1 ms RTT, batching off', get('rtt-1ms-unbatched', 'rtt1ms-unbatched-pipelined')?.opsPerSecond / get('rtt-1ms-unbatched', 'rtt1ms-unbatched-stop-and-wait')?.opsPerSecond, 2);
target('lease vs ReadIndex reads/s at 1 ms RTT', get('reads-rtt-1ms', 'rtt1ms-pipelined')?.readsPerSecond / get('reads-rtt-1ms', 'rtt1ms-reads-read-index')?.readsPerSecond, 3);
target('ReadIndex vs log reads/s at 1 ms RTT', get('reads-rtt-1ms', 'rtt1ms-reads-read-index')?.readsPerSecond / get('reads-rtt-1ms', 'rtt1ms-reads-log')?.readsPerSecond, 3);
target('rwlock vs mutex, reads/s under writes', get('locks', 'all-on')?.readsPerSecond / get('locks', 'all-on-mutex')?.readsPerSecond, 1);
target('LZ4 log: raw / stored bytes', get('codecs', 'all-on-lz4')?.logRatio, 2);
target('Zstd snapshots: raw / stored bytes', get('codecs', 'all-on-zstd-snapshots')?.snapshotRatio, 3);
lines.push('## Targets');
lines.push('');
lines.push('| target | measured | goal | |');
lines.push('| --- | ---: | ---: | --- |');
lines.push(...targets);
lines.push('');
lines.push(`Results files: results/switches-*-${stamp}.json (\`npm run report -- FILE\` for any group's full report).`);
const text = lines.join('\n');
const summaryFile = join('results', `switches-${stamp}.md`);
writeFileSync(summaryFile, `${text}\n`);
console.log(`\n${text}\n\nwritten to ${summaryFile}`);

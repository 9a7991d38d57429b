// The Markdown report of the synthetic runs: what must never be lost (UNSAFE on every row of an
// unsafe profile and its reasons, the coordinated-omission label next to the latencies, the
// environment, the too-few-samples warning), the hyperfine summary line, the verdict words, and
// tables that fit a 120-column terminal.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMarkdown } from '../../../src/bench/report/markdown.js';
import { buildReport } from '../../../src/bench/report/model.js';
import { mainScenarioCells, makeRun, UNSAFE_REASON } from './run-fixture.js';

const report = buildReport([{ path: 'results/run-1.json', run: makeRun(mainScenarioCells()) }], { bootstrapResamples: 500 });
const markdown = renderMarkdown(report);
const lines = markdown.split('\n');

/** The lines of one workload's section. */
function section(workload: string): string[] {
  const start = lines.indexOf(`## Workload ${workload}`);
  assert.ok(start >= 0, `no section for ${workload}`);
  const end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
  return lines.slice(start, end < 0 ? undefined : end);
}

test('the header shows the environment: CPU, cores, memory, load, Node, OS, commit and dirty flag, and the command', () => {
  for (const expected of ['Test CPU 3000, 2 cores', '24.0 GiB', '0.25 0.30 0.35', 'v20.20.2', 'Linux 6.1.0-test', 'abc123def456 (dirty: uncommitted changes)', '`raftbench run --profiles baseline,all-on --repetitions 5`']) {
    assert.ok(markdown.includes(expected), `missing "${expected}"`);
  }
});

test('every row that shows an unsafe profile says UNSAFE, and the reasons are printed', () => {
  const rows = lines.filter((line) => line.startsWith('| fsync-none') || line.includes('**fsync-none'));
  // Summary line, 5 comparison tables, the percentile table (3 rows), 2 cost tables, 2 error rows.
  assert.ok(rows.length >= 12, `only ${rows.length} rows`);
  for (const row of rows) assert.match(row, /UNSAFE/, row);
  assert.ok(section('kv-mix').some((line) => line.includes(UNSAFE_REASON)), 'reason missing from the workload section');
  assert.ok(!lines.some((line) => line.startsWith('| baseline') && line.includes('UNSAFE')));
});

test('latencies of the closed loop and of autocannon carry the coordinated-omission mark and caveat', () => {
  const mix = section('kv-mix');
  const latencyAt = mix.indexOf('### Latency');
  assert.ok(latencyAt > 0);
  assert.match(mix[latencyAt + 2]!, /^> † \*\*closed\*\*: latencies suffer from coordinated omission \(closed loop with 4 clients\)/);
  const latencyEnd = mix.findIndex((line, index) => index > latencyAt && line.startsWith('### '));
  const closedLatencyRows = mix.slice(latencyAt, latencyEnd).filter((line) => line.startsWith('| closed'));
  assert.equal(closedLatencyRows.length, 5 + 3, 'p50, p99, p99.9, p99 get, p99 put and 3 percentile rows');
  for (const row of closedLatencyRows) assert.match(row, /^\| closed † /, row);
  // The mark belongs to latencies: the throughput row of the closed loop stands unmarked.
  assert.ok(mix.slice(0, latencyAt).some((line) => /^\| closed +\|/.test(line)));

  const few = section('few-runs');
  assert.ok(few.some((line) => /^> † \*\*all-on\*\*: latencies suffer from coordinated omission \(driven by autocannon/.test(line)));
});

test('the hyperfine summary line and benchstat verdicts say which way is better', () => {
  assert.ok(markdown.includes('- **all-on**: 1.98 ± 0.02 × the throughput of baseline (95 % CI '), 'summary line');
  assert.match(markdown, /- \*\*all-on\*\*: 1\.98 ± 0\.02 × the throughput of baseline \(95 % CI [\d.]+ … [\d.]+\): faster, \+98\.0 % \(p=0\.008 n=5\+5\)/);
  assert.match(markdown, /- \*\*same\*\*: 1\.00 ± 0\.01 × the throughput of baseline .*: no significant difference, ~ \(p=1 n=5\+5\)/);
  // Throughput up is faster, latency down is faster.
  assert.match(markdown, /\| all-on +\| +404 \| +400 … 408 \| +±0\.5 % \| +1\.98× \([\d.]+–[\d.]+\) \| \+98\.0 % \(p=0\.008 n=5\+5\) faster +\|/);
  assert.match(markdown, /\| all-on +\| +0\.502 \| .* \| -49\.9 % \(p=0\.008 n=5\+5\) faster +\|/);
  assert.ok(markdown.includes('(baseline)'));
});

test('too few runs are flagged in the row and explained under the table', () => {
  const few = section('few-runs');
  assert.ok(few.some((line) => line.startsWith('| all-on') && line.includes('~ (p=0.333 n=2+2) ⚠')));
  assert.ok(few.includes('⚠ too few samples: n=2+2 cannot reach p<0.05 (smallest possible p=0.333); need at least 4+4'));
});

test('percentile, cost and error tables carry the numbers of the merged histograms and counters', () => {
  const mix = section('kv-mix');
  // Merged put histogram of the baseline: p50 1404 µs (see model.test.ts), max 1904 µs.
  assert.ok(mix.some((line) => /^\| baseline +\| put \| +5,100 \| +1,404 \| .* \| +1,904 \|$/.test(line)));
  assert.ok(mix.some((line) => /^\| all-on +\| +0\.0500 \(×0\.05\) \|/.test(line)), 'fsyncs/op with its ratio');
  assert.ok(mix.some((line) => /^\| same +\| +1\.00 \(~\) \|/.test(line)), 'no significant difference marked ~');
  assert.ok(mix.some((line) => /^\| fsync-none UNSAFE \| put \| +25 \/ 10,125 \| 0\.247 % \| timeout 25 \|$/.test(line)));
  assert.ok(mix.includes('- fsync-none: leader changed once during the run'));
});

test('every table line fits a 120-column terminal', () => {
  for (const line of lines.filter((candidate) => candidate.startsWith('|'))) assert.ok([...line].length <= 120, `${[...line].length}: ${line}`);
});

test('--metric picks the comparison tables', () => {
  const chosen = renderMarkdown(report, { metrics: ['fsyncs/op', 'p99:put'] });
  assert.ok(chosen.includes('**fsyncs per operation** (per operation; lower is better)'));
  assert.ok(chosen.includes('**p99 latency (put)**'));
  assert.ok(!chosen.includes('**p50 latency**'));
  assert.ok(!chosen.includes('**Throughput**'));
  assert.throws(() => renderMarkdown(report, { metrics: ['speed'] }), /unknown metric 'speed'/);
});

test('a report of no cells says so instead of printing empty tables', () => {
  const empty = renderMarkdown(buildReport([{ path: 'empty.json', run: makeRun([]) }]));
  assert.ok(empty.includes('No cells were recorded'));
  assert.ok(empty.includes('empty: no cells were recorded'));
});

// The CSV renderers, read back with csv-parse (a maintained RFC 4180 parser, a dev dependency, so
// the writer is not checked against a reader that shares its assumptions): one row per run and
// operation type with the raw numbers, one row per metric with the comparison, and quoting that
// survives commas, quotes and line breaks in names.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { csvField, renderRunsCsv, renderSummaryCsv, RUNS_CSV_COLUMNS, SUMMARY_CSV_COLUMNS } from '../../../src/bench/report/csv.js';
import { buildReport } from '../../../src/bench/report/model.js';
import { ladder, mainScenarioCells, makeCell, makeRun } from './run-fixture.js';

const report = buildReport([{ path: 'results/run-1.json', run: makeRun(mainScenarioCells()) }], { bootstrapResamples: 500 });

type Row = Record<string, string>;

function read(text: string): Row[] {
  return parse(text, { columns: true, skip_empty_lines: true }) as Row[];
}

function only(rows: readonly Row[], match: Row): Row {
  const found = rows.filter((row) => Object.entries(match).every(([key, value]) => row[key] === value));
  assert.equal(found.length, 1, `${found.length} rows match ${JSON.stringify(match)}`);
  return found[0]!;
}

test('runs CSV: one row per workload, profile, run and operation type, with the raw numbers', () => {
  const text = renderRunsCsv(report);
  const rows = read(text);
  assert.deepEqual(Object.keys(rows[0]!), [...RUNS_CSV_COLUMNS]);
  // kv-mix: 5 profiles × 5 runs × (all, get, put); few-runs: 2 profiles × 2 runs × (all, get).
  assert.equal(rows.length, 5 * 5 * 3 + 2 * 2 * 2);

  const baselineRun3 = only(rows, { workload: 'kv-mix', profile: 'baseline', repetition: '3', operation: 'all' });
  // Run 3: 2 types × 10 values × 103 in 10 s; p50 1003 µs; 1 fsync per operation.
  assert.equal(Number(baselineRun3['throughput_per_second']), 206);
  assert.equal(Number(baselineRun3['count']), 2060);
  assert.equal(Number(baselineRun3['latency_p50_us']), 1003);
  assert.equal(Number(baselineRun3['latency_max_us']), 1903);
  assert.equal(Number(baselineRun3['fsyncs_per_op']), 1);
  assert.equal(baselineRun3['unsafe'], 'false');
  assert.equal(baselineRun3['drive_mode'], 'open-loop');
  assert.equal(baselineRun3['snapshot_compression_ratio'], '', 'no snapshot: empty, not 0');

  const put = only(rows, { workload: 'kv-mix', profile: 'fsync-none', repetition: '1', operation: 'put' });
  assert.equal(Number(put['error_count']), 5);
  assert.equal(Number(put['error_rate_percent']), (5 / 2015) * 100);
  assert.equal(put['fsyncs_per_op'], '', 'costs only on the all row');
  assert.equal(put['unsafe'], 'true');
  assert.equal(only(rows, { workload: 'kv-mix', profile: 'closed', repetition: '0', operation: 'all' })['coordinated_omission'], 'present');

  // Every number round-trips exactly: the CSV holds the model's values, not rounded ones.
  const mean = report.workloads[0]!.configurations.find((item) => item.label === 'all-on')!.repetitions[2]!.byType['get']!.latencyUs!.mean;
  assert.equal(Number(only(rows, { workload: 'kv-mix', profile: 'all-on', repetition: '2', operation: 'get' })['latency_mean_us']), mean);
});

test('summary CSV: one row per workload, configuration and metric with median, range, ratio, interval, p and verdict', () => {
  const rows = read(renderSummaryCsv(report));
  assert.deepEqual(Object.keys(rows[0]!), [...SUMMARY_CSV_COLUMNS]);
  const throughput = only(rows, { workload: 'kv-mix', configuration: 'all-on', metric: 'throughput' });
  assert.equal(Number(throughput['median']), 404);
  assert.equal(Number(throughput['min']), 400);
  assert.equal(Number(throughput['max']), 408);
  assert.equal(Number(throughput['n']), 5);
  assert.equal(throughput['reference'], 'baseline');
  assert.equal(Number(throughput['ratio']), 404 / 204);
  assert.ok(Number(throughput['ci_low']) >= 400 / 208 && Number(throughput['ci_high']) <= 408 / 200);
  assert.ok(Math.abs(Number(throughput['p']) - 2 / 252) < 1e-12);
  assert.equal(throughput['significant'], 'true');
  assert.equal(throughput['assessment'], 'better');
  assert.equal(throughput['better'], 'higher');
  assert.equal(throughput['verdict'], '+98.0 % (p=0.008 n=5+5)');

  const reference = only(rows, { workload: 'kv-mix', configuration: 'baseline', metric: 'p99:put' });
  assert.equal(Number(reference['median']), 1902);
  assert.equal(reference['ratio'], '');
  assert.equal(reference['verdict'], '');

  const few = only(rows, { workload: 'few-runs', configuration: 'all-on', metric: 'p50' });
  assert.equal(few['coordinated_omission'], 'true');
  assert.match(few['warnings']!, /too few samples: n=2\+2/);
  assert.equal(only(rows, { workload: 'kv-mix', configuration: 'fsync-none', metric: 'error-rate:put' })['verdict'], 'up from 0 (p=0.008 n=5+5)');
});

test('fields with commas, quotes and line breaks are quoted and read back intact', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField(' padded'), '" padded"');
  assert.equal(csvField(null), '');
  assert.equal(csvField(0.1 + 0.2), '0.30000000000000004');

  const awkward = 'odd, "quoted"\nprofile';
  const run = makeRun([0, 1, 2].flatMap((r) => [
    makeCell({ profile: 'baseline', workload: 'w, 1', repetition: r, types: { 'get,all': { valuesUs: ladder(100, 10, r), countEach: 10 } } }),
    makeCell({ profile: awkward, workload: 'w, 1', repetition: r, types: { 'get,all': { valuesUs: ladder(100, 10, r), countEach: 10 } } }),
  ]));
  const data = buildReport([{ path: 'a "file".json', run }], { bootstrapResamples: 200 });
  const runs = read(renderRunsCsv(data));
  assert.equal(runs.filter((row) => row['profile'] === awkward && row['workload'] === 'w, 1' && row['operation'] === 'get,all').length, 3);
  assert.equal(runs[0]!['source'], 'a "file"');
  const summary = read(renderSummaryCsv(data));
  assert.equal(only(summary, { configuration: awkward, metric: 'p50:get,all' })['verdict'], '~ (p=1 n=3+3)');
});

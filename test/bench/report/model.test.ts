// The report model against numbers computed by hand from the synthetic runs (run-fixture.ts):
// samples, medians, merged-histogram percentiles, ratios with their intervals, verdicts, the
// baseline chosen, unsafe marks and coordinated-omission labels, and that it is plain JSON.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, type ConfigurationData, type MetricComparison, type ReportData, type WorkloadData } from '../../../src/bench/report/model.js';
import { ladder, mainScenarioCells, makeCell, makeRun, nearestRank, UNSAFE_REASON } from './run-fixture.js';

const RESAMPLES = 2000;

function mainReport(): ReportData {
  return buildReport([{ path: 'results/run-1.json', run: makeRun(mainScenarioCells()) }], { bootstrapResamples: RESAMPLES });
}

const report = mainReport();

function workload(data: ReportData, name: string): WorkloadData {
  const found = data.workloads.find((candidate) => candidate.workload === name);
  assert.ok(found, `no workload ${name}`);
  return found;
}

function configuration(data: WorkloadData, label: string): ConfigurationData {
  const found = data.configurations.find((candidate) => candidate.label === label);
  assert.ok(found, `no configuration ${label}`);
  return found;
}

function compared(data: WorkloadData, label: string, metric: string): MetricComparison {
  const row = data.rows.find((candidate) => candidate.configuration === label);
  assert.ok(row, `no row ${label}`);
  const comparison = row.metrics[metric];
  assert.ok(comparison?.status === 'compared', `${label} ${metric} not compared`);
  return comparison;
}

const mix = workload(report, 'kv-mix');
const few = workload(report, 'few-runs');

test('the baseline is the profile named baseline even though all-on comes first in the file', () => {
  assert.equal(mix.baseline, 'baseline');
  assert.deepEqual(mix.configurations.map((item) => item.label), ['baseline', 'all-on', 'same', 'fsync-none', 'closed']);
  assert.ok(mix.rows.every((row) => row.reference === 'baseline'));
  assert.equal(mix.rows.length, 4);
});

test('throughput samples are count / window per run, in run order', () => {
  // Run r records 2 types × 10 values × (100 + r) operations in 10 s.
  const baseline = configuration(mix, 'baseline').samples['throughput']!;
  assert.deepEqual(baseline.values, [200, 202, 204, 206, 208]);
  assert.deepEqual(baseline.repetitions, [0, 1, 2, 3, 4]);
  assert.equal(baseline.summary.median, 204);
  assert.equal(baseline.summary.min, 200);
  assert.equal(baseline.summary.max, 208);
  // MAD of 200…208 in steps of 2 around 204: deviations 4 2 0 2 4 → 2.
  assert.equal(baseline.summary.spreadRelative, 2 / 204);
  assert.deepEqual(configuration(mix, 'all-on').samples['throughput:put']!.values, [200, 201, 202, 203, 204]);
});

test('latency samples are each run’s percentile; the merged spectrum is the percentile of all runs together', () => {
  const baseline = configuration(mix, 'baseline');
  // Run r, all operations: get 200…1100 and put 1000…1900 (+r); rank 10·(100+r) of 20·(100+r) is the
  // second 1000 + r (get's 9th value and put's 1st tie), so p50 = 1000 + r.
  assert.deepEqual(baseline.samples['p50']!.values, [1000, 1001, 1002, 1003, 1004]);
  assert.equal(baseline.samples['p50']!.summary.median, 1002);
  // put alone: rank ⌈0.99 · 10·(100+r)⌉ falls in the last value, 1900 + r.
  assert.deepEqual(baseline.samples['p99:put']!.values, [1900, 1901, 1902, 1903, 1904]);
  assert.deepEqual(baseline.samples['max']!.values, [1900, 1901, 1902, 1903, 1904]);

  // Merged put histogram: value 1000 + 100k + r recorded 100 + r times, for k < 10 and r < 5.
  const weighted = [0, 1, 2, 3, 4].flatMap((r) => ladder(1000, 100, r).map((value) => [value, 100 + r] as const));
  const merged = baseline.latency.byType['put']!;
  assert.equal(merged.count, 10 * (100 + 101 + 102 + 103 + 104));
  // By hand: 5100 operations, rank 2550 = 5 · 510 is the last of the k = 4 group: 1404 (the
  // median of the runs' p50s would be 1402: merging is not averaging).
  assert.equal(merged.p50Us, 1404);
  for (const point of merged.spectrum) {
    assert.equal(point.valueUs, point.percentile === 0 ? 1000 : nearestRank(weighted, point.percentile), `p${point.percentile}`);
  }
  assert.deepEqual(merged.spectrum.map((point) => point.percentile), [0, 50, 75, 90, 99, 99.9, 99.99, 99.999, 100]);
  assert.equal(merged.maxUs, 1904);
});

test('a clear 2× difference with n=5+5 is significant, with the ratio, its interval and the direction read as better', () => {
  const throughput = compared(mix, 'all-on', 'throughput');
  // all-on run r: 2 · (200 + r) ops/s → median 404; baseline median 204.
  assert.equal(throughput.ratio, 404 / 204);
  assert.equal(throughput.deltaPercent, (404 / 204 - 1) * 100);
  assert.equal(throughput.verdict, '+98.0 % (p=0.008 n=5+5)');
  // Every all-on run beats every baseline run: exact p = 2 / C(10, 5) = 2 / 252.
  assert.ok(Math.abs(throughput.p - 2 / 252) < 1e-12, String(throughput.p));
  assert.equal(throughput.significant, true);
  assert.equal(throughput.direction, 'increase');
  assert.equal(throughput.assessment, 'better');
  assert.deepEqual(throughput.warnings, []);
  // Resampled medians stay within the samples: 400/208 ≤ ratio ≤ 408/200.
  const interval = throughput.interval!;
  assert.ok(interval.low >= 400 / 208 && interval.low <= 404 / 204, String(interval.low));
  assert.ok(interval.high <= 408 / 200 && interval.high >= 404 / 204, String(interval.high));
  assert.equal(interval.resamples, RESAMPLES);
  // hyperfine's ±: ratio · √(s_a² + s_b²), s = MAD / median (all-on: MAD 2 of median 404).
  assert.ok(Math.abs(throughput.ratioSpread! - (404 / 204) * Math.hypot(2 / 204, 2 / 404)) < 1e-12);

  // Lower latency is better: all-on p50 median 502 (500 + r) vs 1002.
  const p50 = compared(mix, 'all-on', 'p50');
  assert.equal(p50.ratio, 502 / 1002);
  assert.equal(p50.direction, 'decrease');
  assert.equal(p50.assessment, 'better');
  assert.equal(p50.verdict, '-49.9 % (p=0.008 n=5+5)');
});

test('identical distributions are ~ with p=1', () => {
  for (const metric of ['throughput', 'p50', 'p99', 'p99:get', 'fsyncs/op']) {
    const comparison = compared(mix, 'same', metric);
    assert.equal(comparison.verdict, '~ (p=1 n=5+5)', metric);
    assert.equal(comparison.significant, false);
    assert.equal(comparison.assessment, 'no-difference');
    assert.equal(comparison.ratio, 1);
    // Not "too few samples": fsyncs/op is 1 in every run of both, nothing could differ.
    assert.deepEqual(comparison.warnings, [], metric);
  }
  // Constant samples: the interval is exactly the ratio, without resampling.
  assert.deepEqual(compared(mix, 'same', 'fsyncs/op').interval, { low: 1, high: 1, confidence: 0.95, resamples: 0 });
});

test('n=2+2 warns that no difference could be significant, however large', () => {
  const throughput = compared(few, 'all-on', 'throughput');
  // all-on has twice the operations per run: 1000 vs 500 in 10 s.
  assert.equal(throughput.ratio, 2);
  assert.equal(throughput.significant, false);
  assert.equal(throughput.verdict, '~ (p=0.333 n=2+2)');
  assert.equal(throughput.warnings.length, 1);
  assert.match(throughput.warnings[0]!, /too few samples: n=2\+2 cannot reach p<0\.05 .*need at least 4\+4/);
});

test('costs per operation are compared and lower is better; missing counters give no samples, not zeros', () => {
  const fsyncs = compared(mix, 'all-on', 'fsyncs/op');
  assert.equal(fsyncs.ratio, 0.05);
  assert.equal(fsyncs.assessment, 'better');
  assert.equal(compared(mix, 'all-on', 'log-compression').assessment, 'better');
  assert.equal(compared(mix, 'all-on', 'entries/append').assessment, 'changed');
  // No snapshot was taken (snapshotBytesRaw 0): no sample at all.
  assert.equal(configuration(mix, 'baseline').samples['snapshot-compression'], undefined);
  assert.ok(!mix.metrics.some((metric) => metric.id === 'snapshot-compression'));
  // The few-runs target has no counters.
  assert.ok(!few.metrics.some((metric) => metric.kind === 'cost'));
  // fsync-none: fsyncs 0 vs 1 per operation.
  assert.equal(compared(mix, 'fsync-none', 'fsyncs/op').ratio, 0);
});

test('error rates: fsync-none loses 5 puts of 2 000 + 5 per run; a zero baseline gives no ratio but a direction', () => {
  const fsyncNone = configuration(mix, 'fsync-none');
  assert.deepEqual(fsyncNone.samples['error-rate:put']!.values, [0, 1, 2, 3, 4].map((r) => (5 / (10 * (200 + r) + 5)) * 100));
  assert.equal(fsyncNone.errors.total.errorCount, 25);
  assert.deepEqual(fsyncNone.errors.byType['put']!.byKind, { timeout: 25 });
  const rate = compared(mix, 'fsync-none', 'error-rate:put');
  assert.equal(rate.ratio, null);
  assert.equal(rate.interval, null);
  assert.equal(rate.assessment, 'worse');
  assert.equal(rate.verdict, 'up from 0 (p=0.008 n=5+5)');
});

test('unsafe profiles carry their reasons; closed-loop and autocannon cells carry the coordinated-omission caveat', () => {
  const fsyncNone = configuration(mix, 'fsync-none');
  assert.equal(fsyncNone.unsafe, true);
  assert.deepEqual(fsyncNone.unsafeReasons, [UNSAFE_REASON]);
  assert.deepEqual(report.unsafe, [{ label: 'fsync-none', reasons: [UNSAFE_REASON] }]);
  assert.equal(configuration(mix, 'baseline').unsafe, false);

  assert.match(configuration(mix, 'closed').latencyCaveat!, /coordinated omission \(closed loop with 4 clients\)/);
  assert.equal(configuration(mix, 'baseline').latencyCaveat, null);
  // autocannon measures from the send even when the cell says the omission was avoided.
  const cannon = configuration(few, 'all-on');
  assert.equal(cannon.drives[0]!.coordinatedOmission, 'avoided');
  assert.match(cannon.latencyCaveat!, /coordinated omission \(driven by autocannon/);
  assert.deepEqual(configuration(mix, 'fsync-none').notes, ['leader changed once during the run']);
});

test('the model is plain JSON: it survives a round trip unchanged', () => {
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  // Series for charts: one per run, one bucket per second of the 10 s window.
  const series = configuration(mix, 'baseline').repetitions[0]!.total.series;
  assert.equal(series.completed.length, 10);
  assert.equal(series.completed.reduce((sum, count) => sum + count, 0), 2000);
});

test('an explicit baseline is honoured; one that no run has is an input error', () => {
  const data = buildReport([{ path: 'r.json', run: makeRun(mainScenarioCells()) }], { baseline: 'all-on', bootstrapResamples: 200 });
  const kv = workload(data, 'kv-mix');
  assert.equal(kv.baseline, 'all-on');
  assert.equal(kv.configurations[0]!.label, 'all-on');
  assert.equal(compared(kv, 'baseline', 'throughput').ratio, 204 / 404);
  assert.throws(() => buildReport([{ path: 'r.json', run: makeRun(mainScenarioCells()) }], { baseline: 'nope' }), /baseline 'nope' is not a profile of any run given; they are: all-on, baseline/);
});

test('two files with the same profiles: labelled by file; across-files pairs each profile with its first file', () => {
  const old = makeRun(mainScenarioCells().filter((cell) => cell.workload === 'kv-mix' && (cell.profile === 'baseline' || cell.profile === 'all-on')));
  const newer = makeRun(
    [0, 1, 2, 3, 4].flatMap((r) => [
      makeCell({ profile: 'baseline', workload: 'kv-mix', repetition: r, types: { get: { valuesUs: ladder(200, 100, r), countEach: 100 + r }, put: { valuesUs: ladder(1000, 100, r), countEach: 100 + r } } }),
      // all-on got 10 % faster between the files: each value 220 + r times.
      makeCell({ profile: 'all-on', workload: 'kv-mix', repetition: r, types: { get: { valuesUs: ladder(100, 50, r), countEach: 220 + r }, put: { valuesUs: ladder(500, 50, r), countEach: 220 + r } } }),
    ]),
    { gitCommit: 'fedcba9876543210fedcba9876543210fedcba98' },
  );
  const sources = [{ path: 'a/old.json', run: old }, { path: 'b/new.json', run: newer }];
  const across = workload(buildReport(sources, { pairing: 'across-files', bootstrapResamples: 200 }), 'kv-mix');
  assert.deepEqual(across.configurations.map((item) => item.label), ['baseline@old', 'baseline@new', 'all-on@old', 'all-on@new']);
  assert.deepEqual(across.rows.map((row) => [row.configuration, row.reference]), [['baseline@new', 'baseline@old'], ['all-on@old', 'baseline@old'], ['all-on@new', 'all-on@old']]);
  assert.equal(compared(across, 'all-on@new', 'throughput').ratio, 444 / 404);
  assert.equal(compared(across, 'baseline@new', 'throughput').verdict, '~ (p=1 n=5+5)');

  const againstBaseline = workload(buildReport(sources, { pairing: 'baseline', baseline: 'baseline', bootstrapResamples: 200 }), 'kv-mix');
  assert.ok(againstBaseline.rows.every((row) => row.reference === 'baseline@old'));
  // Same base name in two folders: the path tells them apart.
  const sameName = buildReport([{ path: 'a/run.json', run: old }, { path: 'b/run.json', run: newer }], { bootstrapResamples: 200 });
  assert.deepEqual(sameName.sources.map((source) => source.label), ['a/run.json', 'b/run.json']);
  // Same machine fields: no warning about different machines, although the commits differ.
  assert.deepEqual(buildReport(sources, { bootstrapResamples: 200 }).environmentDifferences, []);
});

test('warnings: a busy machine, a different machine, an interrupted run', () => {
  const busy = makeRun(mainScenarioCells().slice(0, 2), { loadAverageAtStart: [3.5, 2, 1] });
  const other = { ...makeRun(mainScenarioCells().slice(0, 2), { cpuModel: 'Other CPU', cores: 8 }), interrupted: true };
  const data = buildReport([{ path: 'busy.json', run: busy }, { path: 'other.json', run: other }], { bootstrapResamples: 200 });
  assert.deepEqual(data.environmentDifferences, ['cpuModel', 'cores']);
  assert.ok(data.warnings.some((warning) => /different machines or software \(cpuModel, cores differ\)/.test(warning)));
  assert.ok(data.warnings.some((warning) => /busy: load average 3\.50 on 2 cores/.test(warning)));
  assert.ok(data.warnings.some((warning) => /other: the run was interrupted/.test(warning)));
});

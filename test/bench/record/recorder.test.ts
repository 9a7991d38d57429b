// The Recorder: warm-up cut by start time, percentiles, clamping, the throughput series, plain-JSON
// results, and the encode / decode / merge round trips of the histograms.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Recorder } from '../../../src/bench/record/recorder.js';
import { LATENCY_US_MAX, decodeLatencyHistogram, mergeEncodedLatencies, summarizeLatency } from '../../../src/bench/record/latency-histogram.js';

test('operations whose start falls in the warm-up are not recorded, however late they finish', () => {
  const recorder = new Recorder({ measureFromUs: 10_000, latencyFrom: 'intended-start' });
  recorder.recordSuccess('get', 9_999, 50_000); // started in warm-up: dropped
  recorder.recordError('get', 'timeout', 5_000, 20_000); // likewise
  recorder.recordSuccess('get', 10_000, 10_250); // first measured operation
  recorder.recordError('put', 'unavailable', 12_000, 12_100);
  const result = recorder.result(20_000);
  assert.equal(result.warmupDiscarded, 2);
  assert.equal(result.total.count, 1);
  assert.equal(result.total.latencyUs.max, 250);
  assert.deepEqual(result.total.errors, { unavailable: 1 });
  assert.equal(result.byType['get']!.errorCount, 0);
  assert.equal(result.windowUs, 10_000);
  assert.equal(result.latencyFrom, 'intended-start');
});

test('percentiles, mean and max of 1..1000 µs are exact (1 µs resolution below 2048 µs)', () => {
  const recorder = new Recorder({ measureFromUs: 0, latencyFrom: 'actual-start' });
  for (let latency = 1000; latency >= 1; latency--) recorder.recordSuccess('get', 0, latency);
  const latencyUs = recorder.result(1_000_000).total.latencyUs;
  assert.equal(latencyUs.count, 1000);
  assert.equal(latencyUs.min, 1);
  assert.equal(latencyUs.p50, 500);
  assert.equal(latencyUs.p90, 900);
  assert.equal(latencyUs.p99, 990);
  assert.equal(latencyUs.p999, 999);
  assert.equal(latencyUs.max, 1000);
  assert.equal(latencyUs.mean, 500.5);
});

test('latency is rounded to whole µs; above 60 s it is clamped and counted', () => {
  const recorder = new Recorder({ measureFromUs: 0, latencyFrom: 'intended-start' });
  recorder.recordSuccess('get', 0.2, 100.6);
  recorder.recordSuccess('get', 0, 90_000_000);
  const result = recorder.result(100_000_000);
  assert.equal(result.clampedHigh, 1);
  assert.equal(result.total.latencyUs.min, 100);
  assert.ok(Math.abs(result.total.latencyUs.max - LATENCY_US_MAX) <= LATENCY_US_MAX * 1e-3);
});

test('the throughput series counts completions per bucket, per type and in total, errors apart', () => {
  const recorder = new Recorder({ measureFromUs: 1_000, seriesBucketUs: 1_000, latencyFrom: 'intended-start' });
  // bucket 0 = [1000, 2000), bucket 1 = [2000, 3000), bucket 2 = [3000, 4000)
  recorder.recordSuccess('get', 1_000, 1_500);
  recorder.recordSuccess('get', 1_100, 1_999);
  recorder.recordSuccess('put', 1_200, 2_000);
  recorder.recordSuccess('get', 1_300, 3_999);
  recorder.recordError('put', 'timeout', 1_400, 3_000);
  recorder.recordError('put', 'dropped-overload', 1_500, 1_500);
  const result = recorder.result(5_000);
  assert.deepEqual(result.byType['get']!.series, { completed: [2, 0, 1, 0], failed: [0, 0, 0, 0] });
  assert.deepEqual(result.byType['put']!.series, { completed: [0, 1, 0, 0], failed: [1, 0, 1, 0] });
  assert.deepEqual(result.total.series, { completed: [2, 1, 1, 0], failed: [1, 0, 1, 0] });
  assert.deepEqual(result.byType['put']!.errors, { timeout: 1, 'dropped-overload': 1 });
  assert.equal(result.total.errorCount, 2);
  // 4 successes in a 4 ms window
  assert.equal(result.total.throughputPerSecond, 1000);
  assert.equal(result.byType['get']!.throughputPerSecond, 750);
});

test('the result is plain JSON: it survives a round trip unchanged', () => {
  const recorder = new Recorder({ measureFromUs: 0, latencyFrom: 'intended-start' });
  recorder.recordSuccess('scan', 0, 1234);
  recorder.recordError('scan', 'rejected', 0, 10);
  const result = recorder.result(2_000_000);
  assert.deepEqual(JSON.parse(JSON.stringify(result)), result);
});

test('an encoded histogram decodes to the same distribution', () => {
  const recorder = new Recorder({ measureFromUs: 0, latencyFrom: 'intended-start' });
  for (let i = 0; i < 5000; i++) recorder.recordSuccess('get', 0, 100 + ((i * 7919) % 50_000));
  const summary = recorder.result(1e6).total.latencyUs;
  const decoded = summarizeLatency(decodeLatencyHistogram(summary.encoded));
  assert.deepEqual({ ...decoded, encoded: '' }, { ...summary, encoded: '' });
});

test('merging encoded histograms equals recording everything in one', () => {
  const first = new Recorder({ measureFromUs: 0, latencyFrom: 'intended-start' });
  const second = new Recorder({ measureFromUs: 0, latencyFrom: 'intended-start' });
  const both = new Recorder({ measureFromUs: 0, latencyFrom: 'intended-start' });
  for (let i = 0; i < 3000; i++) {
    const latency = 50 + ((i * 104729) % 900_000);
    (i % 3 === 0 ? first : second).recordSuccess('get', 0, latency);
    both.recordSuccess('get', 0, latency);
  }
  const merged = mergeEncodedLatencies([first.result(1e6).total.latencyUs.encoded, second.result(1e6).total.latencyUs.encoded]);
  const expected = both.result(1e6).total.latencyUs;
  assert.equal(merged.count, 3000);
  assert.deepEqual({ ...merged, encoded: '' }, { ...expected, encoded: '' });
  assert.throws(() => mergeEncodedLatencies(['not base64 hdr']), /histogram \[0\]/);
});

test('bad options are rejected naming the field', () => {
  assert.throws(() => new Recorder({ measureFromUs: Number.NaN, latencyFrom: 'intended-start' }), /measureFromUs/);
  assert.throws(() => new Recorder({ measureFromUs: 0, seriesBucketUs: 0, latencyFrom: 'intended-start' }), /seriesBucketUs/);
  const recorder = new Recorder({ measureFromUs: 0, seriesBucketUs: 1, latencyFrom: 'intended-start' });
  assert.throws(() => recorder.recordSuccess('get', 0, 1e9), /series buckets; is the clock in µs/);
});

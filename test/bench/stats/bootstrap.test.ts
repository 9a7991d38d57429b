// The ratio-of-medians bootstrap interval: coverage of a known ratio, of 1 for one distribution,
// and replay from the seed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapMedianRatio } from '../../../src/bench/stats/bootstrap.js';
import { createPrng } from '../../../src/random/prng.js';

/** `count` values around `centre` with multiplicative noise uniform in ±`noise`. */
function noisy(seed: number, count: number, centre: number, noise: number): number[] {
  const prng = createPrng(seed);
  return Array.from({ length: count }, () => centre * (1 + noise * (2 * prng.nextFloat() - 1)));
}

test('with a known ratio and small noise the interval contains the true ratio and excludes 1', () => {
  const a = noisy(1, 20, 100, 0.02);
  const b = noisy(2, 20, 125, 0.02);
  const interval = bootstrapMedianRatio(a, b);
  assert.ok(interval.low <= 1.25 && 1.25 <= interval.high, `[${interval.low}, ${interval.high}] misses 1.25`);
  assert.ok(interval.low > 1.2 && interval.high < 1.3, `[${interval.low}, ${interval.high}] is too wide for 2 % noise`);
  assert.ok(interval.low <= interval.ratio && interval.ratio <= interval.high);
  assert.equal(interval.resamples, 10_000);
  assert.equal(interval.confidence, 0.95);
});

test('for samples from one distribution the interval contains 1', () => {
  for (let seed = 10; seed < 15; seed++) {
    const interval = bootstrapMedianRatio(noisy(seed, 15, 50, 0.1), noisy(seed + 100, 15, 50, 0.1));
    assert.ok(interval.low <= 1 && 1 <= interval.high, `seed ${seed}: [${interval.low}, ${interval.high}] misses 1`);
  }
});

test('the same seed gives the same interval; another seed a different one', () => {
  const a = noisy(3, 12, 10, 0.2);
  const b = noisy(4, 12, 11, 0.2);
  assert.deepEqual(bootstrapMedianRatio(a, b, { seed: 7 }), bootstrapMedianRatio(a, b, { seed: 7 }));
  const other = bootstrapMedianRatio(a, b, { seed: 8 });
  const first = bootstrapMedianRatio(a, b, { seed: 7 });
  assert.ok(other.low !== first.low || other.high !== first.high, 'seed does not reach the resampling');
});

test('a higher confidence gives a wider interval', () => {
  const a = noisy(5, 20, 10, 0.2);
  const b = noisy(6, 20, 10, 0.2);
  const narrow = bootstrapMedianRatio(a, b, { confidence: 0.8 });
  const wide = bootstrapMedianRatio(a, b, { confidence: 0.99 });
  assert.ok(wide.low < narrow.low && wide.high > narrow.high);
});

test('bad input is rejected naming the field', () => {
  assert.throws(() => bootstrapMedianRatio([1, 0], [1]), /a\[1\] is 0/);
  assert.throws(() => bootstrapMedianRatio([1], [1], { resamples: 10 }), /resamples/);
  assert.throws(() => bootstrapMedianRatio([1], [1], { confidence: 1 }), /confidence/);
});

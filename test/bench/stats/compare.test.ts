// summarize, compareSamples and the benchstat-style line, including the too-few-samples warning.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareSamples, formatComparison, formatP } from '../../../src/bench/stats/compare.js';
import { summarize } from '../../../src/bench/stats/summary.js';

const BASE = [102.1, 99.8, 101.5, 100.2, 98.9, 103.0, 100.7, 99.1, 101.9, 100.4];
const SLOWER = [104.2, 103.1, 105.8, 102.6, 104.9, 103.7, 106.1, 102.2, 105.0, 103.3];

test('summarize: median, mean, sample stdev, range and MAD / median', () => {
  const summary = summarize([1, 2, 3, 4, 100]);
  assert.equal(summary.n, 5);
  assert.equal(summary.median, 3);
  assert.equal(summary.mean, 22);
  // Σ(x − 22)² = 441 + 400 + 361 + 324 + 6084 = 7610; / (n − 1) = 1902.5
  assert.ok(Math.abs(summary.stdev - Math.sqrt(1902.5)) < 1e-12);
  assert.equal(summary.min, 1);
  assert.equal(summary.max, 100);
  // |x − 3| = 2, 1, 0, 1, 97 → median 1
  assert.equal(summary.mad, 1);
  assert.equal(summary.spreadRelative, 1 / 3);
  assert.equal(summarize([4]).stdev, 0);
  assert.throws(() => summarize([1, Number.POSITIVE_INFINITY], 'runs'), /runs\[1\] is Infinity/);
});

test('a significant slowdown prints as benchstat does: signed delta of the medians, p and n', () => {
  const comparison = compareSamples(BASE, SLOWER);
  // medians 100.55 and 103.95; exact p = 4.33e-5 (SciPy, see mann-whitney.test.ts)
  assert.equal(comparison.significant, true);
  assert.equal(comparison.direction, 'increase');
  assert.ok(Math.abs(comparison.ratioOfMedians - 103.95 / 100.55) < 1e-12);
  assert.equal(formatComparison(comparison), '+3.4 % (p<0.001 n=10+10)');
  assert.ok(comparison.interval !== null && comparison.interval.low > 1 && comparison.interval.low <= comparison.ratioOfMedians);
  assert.deepEqual(comparison.warnings, []);

  const faster = compareSamples(SLOWER, BASE);
  assert.equal(faster.direction, 'decrease');
  assert.equal(formatComparison(faster), '-3.3 % (p<0.001 n=10+10)');
});

test('an insignificant difference prints ~ with p and n', () => {
  // R's ?wilcox.test example: exact two-sided p = 0.2544
  const comparison = compareSamples([0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46], [1.15, 0.88, 0.9, 0.74, 1.21]);
  assert.equal(comparison.significant, false);
  assert.equal(comparison.direction, 'no-difference');
  assert.equal(formatComparison(comparison), '~ (p=0.254 n=10+5)');
});

test('alpha decides significance: p = 0.2544 is significant at alpha 0.3', () => {
  const comparison = compareSamples([0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46], [1.15, 0.88, 0.9, 0.74, 1.21], { alpha: 0.3 });
  assert.equal(comparison.significant, true);
  assert.equal(comparison.direction, 'decrease');
  assert.match(formatComparison(comparison), /^-\d+\.\d % \(p=0\.254 n=10\+5\)$/);
});

test('too few runs: 3 + 3 cannot reach p < 0.05 however far apart, and the verdict says so', () => {
  const comparison = compareSamples([1, 2, 3], [10, 20, 30]);
  assert.equal(comparison.significant, false);
  assert.equal(comparison.test.pMinAchievable, 0.1);
  assert.equal(comparison.samplesNeededEach, 4);
  assert.equal(
    formatComparison(comparison),
    '~ (p=0.1 n=3+3) ⚠ too few samples: n=3+3 cannot reach p<0.05 (smallest possible p=0.1); need at least 4+4',
  );
  // 4 + 4 can: no warning, and a clean separation is significant.
  const enough = compareSamples([1, 2, 3, 4], [10, 20, 30, 40]);
  assert.deepEqual(enough.warnings, []);
  assert.equal(enough.significant, true);
  // At alpha = 0.2, 3 + 3 is enough.
  assert.deepEqual(compareSamples([1, 2, 3], [10, 20, 30], { alpha: 0.2 }).warnings, []);
});

test('p formatting: three decimals without trailing zeros, <0.001 below', () => {
  assert.equal(formatP(0.002), '=0.002');
  assert.equal(formatP(0.41), '=0.41');
  assert.equal(formatP(1), '=1');
  assert.equal(formatP(0.0004), '<0.001');
});

test('a baseline with zeros gets no ratio interval and says why', () => {
  const comparison = compareSamples([0, 1, 2, 3], [1, 2, 3, 4]);
  assert.equal(comparison.interval, null);
  assert.match(comparison.warnings.join(), /baseline sample has values ≤ 0/);
  assert.throws(() => compareSamples([1], [2], { alpha: 0 }), /alpha/);
});

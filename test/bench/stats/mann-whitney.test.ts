// The Mann–Whitney U test against SciPy / R reference values, a hand computation, and brute-force
// enumeration of every rank assignment (the only independent check of exact p-values with ties).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mannWhitneyU, pMinWithoutTies } from '../../../src/bench/stats/mann-whitney.js';
import { createPrng } from '../../../src/random/prng.js';

// Reference values. Source: SciPy 1.17.1, run on this machine (R is not installed here):
//   scipy.stats.mannwhitneyu(x, y, alternative='two-sided', method=M, use_continuity=True)
// whose 'asymptotic' method is R's wilcox.test(x, y, exact = FALSE, correct = TRUE) (normal
// approximation, tie-corrected variance, continuity correction) and whose 'exact' method is R's
// wilcox.test(x, y, exact = TRUE) — for samples WITHOUT ties only: with ties SciPy's exact method
// ignores them (it gives 0.005512 for the 'ties' case below where the exact permutation
// distribution gives 0.005183), so exact p-values with ties are checked by brute force below.
// SciPy reports U of the first sample, the same convention as ours.
const SCIPY = {
  // R's own ?wilcox.test example (Hollander & Wolfe): R prints W = 35, p-value = 0.1272 for
  // alternative = "greater"; two-sided exact is twice that.
  rDocumentation: {
    x: [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46],
    y: [1.15, 0.88, 0.9, 0.74, 1.21],
    u: 35,
    exact: 0.2544122544122544,
    asymptotic: 0.24462360512698333,
  },
  separated3: { x: [1, 2, 3], y: [4, 5, 6], u: 0, exact: 0.1, asymptotic: 0.08085559837005224 },
  benchmark10: {
    x: [102.1, 99.8, 101.5, 100.2, 98.9, 103.0, 100.7, 99.1, 101.9, 100.4],
    y: [104.2, 103.1, 105.8, 102.6, 104.9, 103.7, 106.1, 102.2, 105.0, 103.3],
    u: 2,
    exact: 4.330035289787612e-5,
    asymptotic: 0.00032983852077799353,
  },
  ties: { x: [1, 2, 2, 3, 3, 3, 4, 5], y: [3, 4, 4, 5, 5, 6, 7, 7, 8], u: 7.5, asymptotic: 0.006373133838085873 },
  tiesSmall: { x: [1, 2, 2, 3], y: [2, 3, 4, 4, 5], u: 2.5, asymptotic: 0.07854585095119067 },
} as const;

// numpy default_rng(7), normal(100, 3) and normal(102, 3), rounded to 0.1: 60 values, 48 distinct.
const N30_X = [100.0, 100.9, 99.2, 97.3, 98.6, 97.0, 100.2, 104.0, 98.5, 98.1, 101.5, 101.1, 100.3, 97.2, 99.9, 102.1, 96.0, 98.6, 94.3, 96.1, 94.5, 99.3, 96.2, 100.8, 100.5, 99.4, 92.4, 98.4, 99.9, 100.3];
const N30_Y = [97.4, 100.6, 99.1, 99.6, 105.2, 99.6, 101.9, 104.7, 100.2, 101.7, 102.3, 102.2, 98.3, 102.2, 106.1, 97.4, 104.6, 102.4, 100.1, 108.0, 104.3, 98.4, 102.2, 103.7, 101.4, 104.0, 101.8, 104.0, 106.3, 100.0];
const N30_SCIPY = { u: 175.5, asymptotic: 5.081786334758188e-5 };

/** The normal CDF we use has ~1e-7 relative error (simple-statistics' erf). */
function assertCloseRelative(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.abs(expected), `${what}: ${actual} is not within ${tolerance * 100} % of ${expected}`);
}

test('exact p-values without ties match SciPy / R (exact = TRUE)', () => {
  for (const [name, c] of Object.entries(SCIPY)) {
    if (!('exact' in c)) continue;
    const result = mannWhitneyU(c.x, c.y);
    assert.equal(result.method, 'exact', name);
    assert.equal(result.ties, false, name);
    assert.equal(result.u, c.u, `${name} U`);
    assertCloseRelative(result.p, c.exact, 1e-12, `${name} p`);
  }
});

test('normal-approximation p-values with and without ties match SciPy / R (exact = FALSE, correct = TRUE)', () => {
  for (const [name, c] of Object.entries(SCIPY)) {
    const result = mannWhitneyU(c.x, c.y, { exactSizeMax: 0 });
    assert.equal(result.method, 'normal', name);
    assert.equal(result.u, c.u, `${name} U`);
    assertCloseRelative(result.p, c.asymptotic, 1e-6, `${name} p`);
  }
  const large = mannWhitneyU(N30_X, N30_Y);
  assert.equal(large.method, 'normal', 'n = 30 + 30 is above the exact limit');
  assert.equal(large.ties, true);
  assert.equal(large.u, N30_SCIPY.u);
  assertCloseRelative(large.p, N30_SCIPY.asymptotic, 1e-6, 'n30 p');
});

test('the normal approximation with ties, by hand', () => {
  // x = [1, 2, 2, 3], y = [2, 3, 4, 4, 5]; N = 9.
  //   pooled, sorted: 1x 2x 2x 2y 3x 3y 4y 4y 5y
  //   midranks: 1 → 1; the three 2s share ranks 2, 3, 4 → 3; the two 3s share 5, 6 → 5.5;
  //             the two 4s share 7, 8 → 7.5; 5 → 9
  //   R1 = 1 + 3 + 3 + 5.5 = 12.5;  U1 = R1 − n1(n1+1)/2 = 12.5 − 10 = 2.5
  //   μ = n1·n2 / 2 = 10
  //   ties: groups of 3, 2, 2 → Σ(t³ − t) = 24 + 6 + 6 = 36
  //   σ² = n1·n2/12 · ((N + 1) − Σ(t³ − t) / (N(N − 1))) = 20/12 · (10 − 36/72) = 5/3 · 9.5 = 15.8333…
  //   σ = 3.979112
  //   continuity: U1 − μ = −7.5 → −7.5 + 0.5 = −7.0;  z = −7.0 / 3.979112 = −1.759187
  //   p = 2 Φ(−1.759187) = 0.078546
  const result = mannWhitneyU([1, 2, 2, 3], [2, 3, 4, 4, 5], { exactSizeMax: 0 });
  assert.equal(result.u, 2.5);
  assert.equal(result.ties, true);
  assertCloseRelative(result.p, 0.078546, 1e-5, 'hand-computed p');
});

/** U of the first sample by its definition: pairs with x > y, plus one half per tie. */
function uByPairs(a: readonly number[], b: readonly number[]): number {
  let u = 0;
  for (const x of a) for (const y of b) u += x > y ? 1 : x === y ? 0.5 : 0;
  return u;
}

/**
 * The exact two-sided p by brute force: every way of choosing which n1 of the pooled values form
 * the first sample is equally likely under the null; count those with a U at least as extreme.
 */
function bruteForceP(a: readonly number[], b: readonly number[]): { p: number; pMin: number } {
  const pooled = [...a, ...b];
  const observed = uByPairs(a, b);
  const n1 = a.length;
  const us: number[] = [];
  const choose = (start: number, chosen: number[]): void => {
    if (chosen.length === n1) {
      const set = new Set(chosen);
      const first = chosen.map((i) => pooled[i]!);
      const second = pooled.filter((_, i) => !set.has(i));
      us.push(uByPairs(first, second));
      return;
    }
    for (let i = start; i <= pooled.length - (n1 - chosen.length); i++) choose(i + 1, [...chosen, i]);
  };
  choose(0, []);
  const atOrBelow = us.filter((u) => u <= observed).length;
  const atOrAbove = us.filter((u) => u >= observed).length;
  const lowest = Math.min(...us);
  return {
    p: Math.min(1, (2 * Math.min(atOrBelow, atOrAbove)) / us.length),
    pMin: Math.min(1, (2 * us.filter((u) => u === lowest).length) / us.length),
  };
}

test('exact p-values, with and without ties, equal brute-force enumeration of all rank assignments', () => {
  const prng = createPrng(2024);
  let withTies = 0;
  for (let round = 0; round < 60; round++) {
    const n1 = prng.nextInt(1, 8);
    const n2 = prng.nextInt(1, 8);
    const tied = round % 2 === 0;
    // Tied rounds draw from 5 values so ties are frequent; others from a continuum.
    const draw = (): number => (tied ? prng.nextInt(0, 5) : Math.round(prng.nextFloat() * 1e6) / 1e3);
    const a = Array.from({ length: n1 }, draw);
    const b = Array.from({ length: n2 }, draw);
    const result = mannWhitneyU(a, b);
    const expected = bruteForceP(a, b);
    if (result.ties) withTies++;
    assert.equal(result.method, 'exact');
    assert.equal(result.u, uByPairs(a, b), `U for ${a} | ${b}`);
    assertCloseRelative(result.p, expected.p, 1e-12, `p for ${a} | ${b}`);
    assertCloseRelative(result.pMinAchievable, expected.pMin, 1e-12, `smallest p for ${a} | ${b}`);
  }
  assert.ok(withTies >= 25, `only ${withTies} rounds had ties`);
});

test('the smallest achievable p: 3 + 3 runs cannot reach 0.05, 4 + 4 can', () => {
  assert.equal(pMinWithoutTies(3, 3), 0.1);
  assert.equal(pMinWithoutTies(4, 4), 2 / 70);
  const separated = mannWhitneyU([1, 2, 3], [10, 20, 30]);
  assert.equal(separated.p, 0.1);
  assert.equal(separated.pMinAchievable, 0.1);
  assert.equal(mannWhitneyU([1, 2, 3, 4], [10, 20, 30, 40]).p, 2 / 70);
});

test('U of the two samples add up to n1·n2, and p does not depend on the order', () => {
  const a = [5, 3, 9, 3, 1];
  const b = [4, 8, 8, 2];
  const forward = mannWhitneyU(a, b);
  const backward = mannWhitneyU(b, a);
  assert.equal(forward.u + backward.u, a.length * b.length);
  assert.equal(forward.p, backward.p);
});

test('identical samples give p = 1 in both methods', () => {
  assert.equal(mannWhitneyU([7, 7, 7], [7, 7]).p, 1);
  assert.equal(mannWhitneyU([7, 7, 7], [7, 7], { exactSizeMax: 0 }).p, 1);
  assert.equal(mannWhitneyU([1, 2, 3], [1, 2, 3]).p, 1);
});

test('bad input is rejected naming the sample and index', () => {
  assert.throws(() => mannWhitneyU([], [1]), /sample a is empty/);
  assert.throws(() => mannWhitneyU([1], [2, Number.NaN]), /sample b\[1\] is NaN/);
  assert.throws(() => mannWhitneyU([1], [2], { exactSizeMax: 26 }), /exactSizeMax/);
});

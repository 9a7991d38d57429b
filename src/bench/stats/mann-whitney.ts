// The Mann–Whitney U test (two-sided), the test benchstat uses to say whether two sets of runs
// differ: it compares ranks, not values, so one outlier run cannot make a difference significant.
//
// The subtle part is small samples. The normal approximation is poor there and, worse, hides that
// some sample sizes can never reach significance (3 + 3 runs: the most extreme arrangement has
// p = 0.1). So up to `exactSizeMax` values per sample the p-value comes from the exact permutation
// distribution of U *given the observed tie pattern* (counted by dynamic programming over doubled
// midranks, which are integers), as benchstat does; above it, from the normal approximation with
// the tie-corrected variance and a continuity correction, as R's wilcox.test(exact = FALSE,
// correct = TRUE) does. With both samples at most 25 the permutation counts stay below 2^53
// (C(50, 25) ≈ 1.3e14), so they are exact in a float64.

import { errorFunction } from 'simple-statistics';
import { checkFiniteSample } from './summary.js';

export type MannWhitneyMethod = 'exact' | 'normal';

export interface MannWhitneyResult {
  readonly n1: number;
  readonly n2: number;
  /**
   * U of the first sample: the number of pairs (x from the first, y from the second) with x > y,
   * plus one half for each tied pair. U of the second sample is n1·n2 − U.
   */
  readonly u: number;
  /** Two-sided p-value. */
  readonly p: number;
  readonly method: MannWhitneyMethod;
  /** Whether any value occurs more than once in the pooled samples. */
  readonly ties: boolean;
  /**
   * The smallest two-sided p any assignment of these pooled values to two samples of these sizes
   * could give. When it is not below alpha, no difference could ever be called significant.
   */
  readonly pMinAchievable: number;
}

export interface MannWhitneyOptions {
  /** Largest sample size (each sample) for which the exact distribution is used. Default 25. */
  readonly exactSizeMax?: number;
}

export const EXACT_SIZE_MAX_DEFAULT = 25;
/** Above this the permutation counts could exceed 2^53 and stop being exact. */
const EXACT_SIZE_LIMIT = 25;

/** Doubled midranks of the pooled values (so they are integers) and the sizes of the tie groups. */
interface PooledRanks {
  /** ranksDoubled[i] is twice the midrank of pooled value i, first sample's values first. */
  readonly ranksDoubled: Int32Array;
  readonly tieGroupSizes: readonly number[];
}

function pooledRanks(a: readonly number[], b: readonly number[]): PooledRanks {
  const pooled = [...a, ...b];
  const order = pooled.map((_, index) => index).sort((i, j) => pooled[i]! - pooled[j]!);
  const ranksDoubled = new Int32Array(pooled.length);
  const tieGroupSizes: number[] = [];
  let start = 0;
  while (start < order.length) {
    let end = start + 1;
    while (end < order.length && pooled[order[end]!] === pooled[order[start]!]) end++;
    // Positions start..end-1 (0-based) hold ranks start+1..end; twice their mean is start+1+end.
    const midrankDoubled = start + 1 + end;
    for (let k = start; k < end; k++) ranksDoubled[order[k]!] = midrankDoubled;
    tieGroupSizes.push(end - start);
    start = end;
  }
  return { ranksDoubled, tieGroupSizes };
}

/** P(Z ≥ z) for a standard normal Z, z ≥ 0. */
function normalUpperTail(z: number): number {
  return 0.5 * (1 - errorFunction(z / Math.SQRT2));
}

export function mannWhitneyU(a: readonly number[], b: readonly number[], options: MannWhitneyOptions = {}): MannWhitneyResult {
  checkFiniteSample(a, 'a');
  checkFiniteSample(b, 'b');
  const exactSizeMax = options.exactSizeMax ?? EXACT_SIZE_MAX_DEFAULT;
  if (!Number.isInteger(exactSizeMax) || exactSizeMax < 0 || exactSizeMax > EXACT_SIZE_LIMIT) {
    throw new RangeError(`Mann–Whitney: exactSizeMax must be an integer in [0, ${EXACT_SIZE_LIMIT}], got ${exactSizeMax}`);
  }
  const n1 = a.length;
  const n2 = b.length;
  const { ranksDoubled, tieGroupSizes } = pooledRanks(a, b);
  let rankSumDoubled = 0;
  for (let i = 0; i < n1; i++) rankSumDoubled += ranksDoubled[i]!;
  const uDoubled = rankSumDoubled - n1 * (n1 + 1);
  const ties = tieGroupSizes.some((size) => size > 1);
  const common = { n1, n2, u: uDoubled / 2, ties };
  if (n1 <= exactSizeMax && n2 <= exactSizeMax) {
    return { ...common, method: 'exact', ...exactPValue(ranksDoubled, n1, uDoubled) };
  }
  return { ...common, method: 'normal', ...normalPValue(n1, n2, uDoubled / 2, tieGroupSizes) };
}

/**
 * Counts, for every doubled rank sum, the subsets of size n1 of the pooled ranks that have it: the
 * permutation distribution of U under "both samples come from one population", conditional on the
 * ties observed (Klotz 1966 computes the same distribution).
 */
function exactPValue(ranksDoubled: Int32Array, n1: number, uDoubled: number): { p: number; pMinAchievable: number } {
  let sumMax = 0;
  for (const rank of ranksDoubled) sumMax += rank;
  const width = sumMax + 1;
  // counts[k * width + s]: subsets of size k among the ranks seen so far with doubled rank sum s.
  const counts = new Float64Array((n1 + 1) * width);
  counts[0] = 1;
  let sumSoFar = 0;
  ranksDoubled.forEach((rank, index) => {
    sumSoFar += rank;
    for (let k = Math.min(index + 1, n1); k >= 1; k--) {
      const row = k * width;
      const previousRow = (k - 1) * width;
      for (let s = sumSoFar; s >= rank; s--) counts[row + s]! += counts[previousRow + s - rank]!;
    }
  });
  const offset = n1 * (n1 + 1);
  const row = n1 * width;
  let total = 0;
  let atOrBelow = 0;
  let atOrAbove = 0;
  let lowestSum = -1;
  for (let s = 0; s < width; s++) {
    const count = counts[row + s]!;
    if (count === 0) continue;
    if (lowestSum < 0) lowestSum = s;
    total += count;
    if (s - offset <= uDoubled) atOrBelow += count;
    if (s - offset >= uDoubled) atOrAbove += count;
  }
  const p = Math.min(1, (2 * Math.min(atOrBelow, atOrAbove)) / total);
  // The distribution is symmetric (reversing the order maps every midrank r to N + 1 − r and keeps
  // the tie pattern), so the lowest attainable U is as extreme as the highest.
  const pMinAchievable = Math.min(1, (2 * counts[row + lowestSum]!) / total);
  return { p, pMinAchievable };
}

function normalPValue(n1: number, n2: number, u: number, tieGroupSizes: readonly number[]): { p: number; pMinAchievable: number } {
  const total = n1 + n2;
  const tieSum = tieGroupSizes.reduce((sum, size) => sum + (size * size * size - size), 0);
  const mean = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (total + 1 - tieSum / (total * (total - 1))));
  // Every value equal: every arrangement gives the same U, nothing can differ.
  if (sigma === 0) return { p: 1, pMinAchievable: 1 };
  const pAt = (uValue: number): number => {
    const distance = Math.abs(uValue - mean);
    const corrected = Math.max(0, distance - 0.5);
    return Math.min(1, 2 * normalUpperTail(corrected / sigma));
  };
  return { p: pAt(u), pMinAchievable: pAt(0) };
}

/**
 * The smallest two-sided exact p two samples of these sizes can give without ties: both extreme
 * arrangements together have probability 2 / C(n1 + n2, n1).
 */
export function pMinWithoutTies(n1: number, n2: number): number {
  let binomial = 1;
  for (let k = 1; k <= n1; k++) binomial = (binomial * (n2 + k)) / k;
  return Math.min(1, 2 / binomial);
}

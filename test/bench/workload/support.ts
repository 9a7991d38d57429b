// Shared by the workload tests: where the fixture and workload files are, and the statistics the
// distribution tests use. The subtle thing: every test samples at a fixed seed, so a statistical
// threshold decides once whether that sample passes; the thresholds are set at p = 0.001 (or 5σ)
// so that a correct generator would pass for nearly every seed, while the planted bugs each test
// is named for move the statistic far past them.

import { fileURLToPath } from 'node:url';

/** The repository root (tests run compiled, from dist/test/bench/workload/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const FIXTURES = `${REPO_ROOT}test/bench/workload/fixtures/`;
export const WORKLOADS = `${REPO_ROOT}workloads/`;

/** Pearson's χ² statistic of observed counts against expected counts. */
export function chiSquare(observed: readonly number[], expected: readonly number[]): number {
  let statistic = 0;
  observed.forEach((count, i) => {
    const mean = expected[i]!;
    statistic += ((count - mean) * (count - mean)) / mean;
  });
  return statistic;
}

/**
 * The χ² value exceeded with probability 0.001 at `degrees` degrees of freedom, by the
 * Wilson–Hilferty approximation (within 1 % of the tables for 3 or more degrees of freedom).
 */
export function chiSquareCritical001(degrees: number): number {
  const z = 3.0902; // upper 0.001 point of the standard normal
  const a = 2 / (9 * degrees);
  return degrees * Math.pow(1 - a + z * Math.sqrt(a), 3);
}

/** How many standard deviations `observed` hits out of `draws` lie from probability `p`. */
export function binomialDeviations(observed: number, draws: number, p: number): number {
  return Math.abs(observed - draws * p) / Math.sqrt(draws * p * (1 - p));
}

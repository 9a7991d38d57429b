// Two sets of runs of one metric (A = baseline, B = candidate) → a verdict, and the one-line form
// benchstat prints: `+23.1 % (p=0.002 n=10+10)` when the difference is significant at alpha,
// `~ (p=0.41 n=10+10)` when it is not.
//
// The subtle thing: "not significant" has two very different causes, and a report must not
// confuse them. Either the runs really overlap, or there were too few of them for any difference
// to be detectable — with 3 + 3 runs the exact test cannot go below p = 0.1, so at alpha = 0.05
// it answers "~" even for a tenfold slowdown. The verdict carries the smallest p the samples could
// have reached and warns (in the object and in the printed line) when it is not below alpha.

import { bootstrapMedianRatio, type BootstrapOptions, type RatioInterval } from './bootstrap.js';
import { mannWhitneyU, pMinWithoutTies, type MannWhitneyResult } from './mann-whitney.js';
import { summarize, type SampleSummary } from './summary.js';

export const ALPHA_DEFAULT = 0.05;
const SAMPLES_NEEDED_SEARCH_MAX = 100;

export interface CompareOptions {
  /** Significance level: a difference is called significant when p < alpha. Default 0.05. */
  readonly alpha?: number;
  /** See MannWhitneyOptions.exactSizeMax. */
  readonly exactSizeMax?: number;
  /** The ratio-of-medians interval; false to skip it (it needs a positive baseline). */
  readonly bootstrap?: BootstrapOptions | false;
}

export type ComparisonDirection = 'increase' | 'decrease' | 'no-difference';

export interface Comparison {
  readonly a: SampleSummary;
  readonly b: SampleSummary;
  /** median(b) / median(a); NaN when median(a) is 0. */
  readonly ratioOfMedians: number;
  /** (ratioOfMedians − 1) · 100. */
  readonly deltaPercent: number;
  readonly test: MannWhitneyResult;
  readonly alpha: number;
  /** p < alpha. */
  readonly significant: boolean;
  /** The direction of the median's change when significant, otherwise 'no-difference'. */
  readonly direction: ComparisonDirection;
  readonly interval: RatioInterval | null;
  /**
   * Samples per side (equal sizes) from which a difference could be significant at alpha; set
   * when the samples given are too few for that.
   */
  readonly samplesNeededEach: number | null;
  readonly warnings: readonly string[];
}

/** The smallest n such that n + n runs can reach p < alpha with the exact test (no ties). */
function samplesNeededEach(alpha: number): number | null {
  for (let n = 1; n <= SAMPLES_NEEDED_SEARCH_MAX; n++) if (pMinWithoutTies(n, n) < alpha) return n;
  return null;
}

export function compareSamples(a: readonly number[], b: readonly number[], options: CompareOptions = {}): Comparison {
  const alpha = options.alpha ?? ALPHA_DEFAULT;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`compare: alpha must be in (0, 1), got ${alpha}`);
  const summaryA = summarize(a, 'a');
  const summaryB = summarize(b, 'b');
  const test = mannWhitneyU(a, b, options.exactSizeMax === undefined ? {} : { exactSizeMax: options.exactSizeMax });
  const ratioOfMedians = summaryA.median === 0 ? Number.NaN : summaryB.median / summaryA.median;
  const significant = test.p < alpha;
  const direction: ComparisonDirection = !significant || summaryB.median === summaryA.median
    ? 'no-difference'
    : summaryB.median > summaryA.median ? 'increase' : 'decrease';

  const warnings: string[] = [];
  let needed: number | null = null;
  if (test.pMinAchievable >= alpha) {
    needed = samplesNeededEach(alpha);
    warnings.push(
      `too few samples: n=${test.n1}+${test.n2} cannot reach p<${alpha} (smallest possible p${formatP(test.pMinAchievable)})` +
        (needed === null ? '' : `; need at least ${needed}+${needed}`),
    );
  }
  const positiveBaseline = a.every((value) => value > 0);
  if (!positiveBaseline && options.bootstrap !== false) warnings.push('no ratio interval: the baseline sample has values ≤ 0');
  const interval = options.bootstrap === false || !positiveBaseline ? null : bootstrapMedianRatio(a, b, options.bootstrap ?? {});
  return {
    a: summaryA,
    b: summaryB,
    ratioOfMedians,
    deltaPercent: (ratioOfMedians - 1) * 100,
    test,
    alpha,
    significant,
    direction,
    interval,
    samplesNeededEach: needed,
    warnings,
  };
}

/** p as benchstat reads it, after "p": "=0.002", "=0.41", "=1", and "<0.001" for anything smaller. */
export function formatP(p: number): string {
  return p < 0.0005 ? '<0.001' : `=${Number(p.toFixed(3))}`;
}

/** The benchstat-style cell for one comparison, with any warning after it. */
export function formatComparison(comparison: Comparison): string {
  const { test } = comparison;
  const delta = comparison.significant && Number.isFinite(comparison.deltaPercent)
    ? `${comparison.deltaPercent >= 0 ? '+' : '-'}${Math.abs(comparison.deltaPercent).toFixed(1)} %`
    : '~';
  const warning = comparison.warnings.length === 0 ? '' : ` ⚠ ${comparison.warnings.join('; ')}`;
  return `${delta} (p${formatP(test.p)} n=${test.n1}+${test.n2})${warning}`;
}

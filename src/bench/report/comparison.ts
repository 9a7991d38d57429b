// One metric of two configurations compared: the reference's runs against the candidate's, by the
// Mann–Whitney test and the bootstrap interval of the ratio of medians (../stats), turned into the
// plain data a report carries — ratio, interval, p, the benchstat verdict, and the direction read
// with the metric's "better" (faster / slower, cheaper / costlier).
//
// The subtle thing is the edges a benchmark hits all the time: deterministic counters give two
// constant samples (their interval is exactly the ratio, no resampling needed, and "too few
// samples" would be a false alarm when both are the same value), and error rates give a reference
// median of 0 (no ratio exists; the verdict states the direction instead of benchstat's "~").

import { BOOTSTRAP_CONFIDENCE_DEFAULT } from '../stats/bootstrap.js';
import { compareSamples, formatComparison, formatP, type ComparisonDirection } from '../stats/compare.js';
import type { MannWhitneyMethod } from '../stats/mann-whitney.js';
import type { SampleSummary } from '../stats/summary.js';
import type { MetricDefinition } from './metrics.js';

export interface MetricSamples {
  /** One value per repetition that has one, in repetition order. */
  readonly values: readonly number[];
  /** The repetition each value came from. */
  readonly repetitions: readonly number[];
  readonly summary: SampleSummary;
}

export type Assessment = 'better' | 'worse' | 'changed' | 'no-difference';

export interface MetricComparison {
  readonly status: 'compared';
  /** median(candidate) / median(reference); null when the reference median is 0. */
  readonly ratio: number | null;
  /**
   * hyperfine's "±" for the ratio: ratio · √(s_ref² + s_cand²) with s = MAD / median of each side
   * (error propagation of the relative spreads). A descriptive spread, not a confidence interval.
   */
  readonly ratioSpread: number | null;
  /** (ratio − 1) · 100. */
  readonly deltaPercent: number | null;
  /** Percentile-bootstrap interval of the ratio; null when the reference has values ≤ 0. */
  readonly interval: { readonly low: number; readonly high: number; readonly confidence: number; readonly resamples: number } | null;
  readonly p: number;
  readonly pMinAchievable: number;
  readonly method: MannWhitneyMethod;
  readonly n1: number;
  readonly n2: number;
  readonly significant: boolean;
  readonly direction: ComparisonDirection;
  /** direction read with the metric's `better`: 'changed' for metrics where neither way is better. */
  readonly assessment: Assessment;
  /** benchstat's cell: `+23.1 % (p=0.002 n=10+10)` or `~ (p=0.41 n=10+10)`, warnings apart. */
  readonly verdict: string;
  /** e.g. too few samples to reach alpha at all. */
  readonly warnings: readonly string[];
}

export interface MetricNotCompared {
  readonly status: 'unavailable';
  readonly reason: string;
}

export type MetricComparisonResult = MetricComparison | MetricNotCompared;

function isConstant(values: readonly number[]): boolean {
  return values.every((value) => value === values[0]);
}

export interface CompareSettings {
  readonly alpha: number;
  readonly bootstrapResamples: number;
}

export function compareMetric(metric: MetricDefinition, reference: MetricSamples | undefined, candidate: MetricSamples | undefined, settings: CompareSettings): MetricComparisonResult {
  if (reference === undefined) return { status: 'unavailable', reason: `the reference has no ${metric.id} samples` };
  if (candidate === undefined) return { status: 'unavailable', reason: `no ${metric.id} samples` };
  const a = reference.values;
  const b = candidate.values;
  const positiveReference = a.every((value) => value > 0);
  // Two constant samples (deterministic counters often are) bootstrap to exactly their ratio;
  // skipping 10 000 resamples of them changes nothing but the time.
  const constant = isConstant(a) && isConstant(b);
  const comparison = compareSamples(a, b, {
    alpha: settings.alpha,
    bootstrap: !positiveReference || constant ? false : { resamples: settings.bootstrapResamples },
  });
  const ratio = Number.isFinite(comparison.ratioOfMedians) ? comparison.ratioOfMedians : null;
  let interval: MetricComparison['interval'] = null;
  if (comparison.interval !== null) {
    interval = { low: comparison.interval.low, high: comparison.interval.high, confidence: comparison.interval.confidence, resamples: comparison.interval.resamples };
  } else if (constant && positiveReference && ratio !== null) {
    interval = { low: ratio, high: ratio, confidence: BOOTSTRAP_CONFIDENCE_DEFAULT, resamples: 0 };
  }
  const { test } = comparison;
  // benchstat prints "~" when the delta is not finite even if the test says significant; from a
  // median of 0 the honest statement is the direction.
  const verdict = ratio === null && comparison.significant && comparison.direction !== 'no-difference'
    ? `${comparison.direction === 'increase' ? 'up' : 'down'} from 0 (p${formatP(test.p)} n=${test.n1}+${test.n2})`
    : formatComparison({ ...comparison, warnings: [] });
  const assessment: Assessment = comparison.direction === 'no-difference'
    ? 'no-difference'
    : metric.better === 'neither'
      ? 'changed'
      : (comparison.direction === 'increase') === (metric.better === 'higher') ? 'better' : 'worse';
  return {
    status: 'compared',
    ratio,
    ratioSpread: ratio === null ? null : ratio * Math.hypot(reference.summary.spreadRelative, candidate.summary.spreadRelative),
    deltaPercent: ratio === null ? null : comparison.deltaPercent,
    interval,
    p: test.p,
    pMinAchievable: test.pMinAchievable,
    method: test.method,
    n1: test.n1,
    n2: test.n2,
    significant: comparison.significant,
    direction: comparison.direction,
    assessment,
    verdict,
    // Every value equal on both sides: the exact test can reach no p below 1, and the stats module
    // calls that "too few samples" — but there is simply no difference, and more runs would not
    // find one. (The bootstrap warning cannot occur: the interval is skipped above when it would.)
    warnings: constant && a[0] === b[0] ? [] : comparison.warnings,
  };
}


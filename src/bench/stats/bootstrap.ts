// A bootstrap confidence interval for "B is this many times A": the ratio of the medians,
// median(b) / median(a), by the percentile method. Each resample draws both samples again with
// replacement, so the interval carries the noise of both sides.
//
// The one subtle thing: with small samples the bootstrap distribution of a median is lumpy (it can
// only take values that are sample points or midpoints of two), so the interval's ends jump
// between a few values rather than shrinking smoothly; and the percentile interval of a ratio is
// only as good as the samples are representative. It is printed beside the rank test, never
// instead of it. The resampling stream comes from the seeded PRNG, so one seed gives one interval.

import { medianSorted, quantileSorted } from 'simple-statistics';
import { createPrng, type Prng } from '../../random/prng.js';
import { checkFiniteSample } from './summary.js';

export interface BootstrapOptions {
  /** Resamples drawn. Default 10 000. */
  readonly resamples?: number;
  /** Coverage of the interval, in (0, 1). Default 0.95. */
  readonly confidence?: number;
  /** Seed of the resampling stream. Default 1. */
  readonly seed?: number;
}

export interface RatioInterval {
  /** median(b) / median(a) of the samples themselves. */
  readonly ratio: number;
  readonly low: number;
  readonly high: number;
  readonly confidence: number;
  readonly resamples: number;
  readonly seed: number;
  readonly method: 'percentile-bootstrap';
}

export const BOOTSTRAP_RESAMPLES_DEFAULT = 10_000;
export const BOOTSTRAP_CONFIDENCE_DEFAULT = 0.95;
export const BOOTSTRAP_SEED_DEFAULT = 1;

/** The median of a resample of `sample` (same size, drawn with replacement), sorted in `scratch`. */
function resampledMedian(sample: readonly number[], prng: Prng, scratch: number[]): number {
  for (let i = 0; i < sample.length; i++) scratch[i] = sample[prng.nextInt(0, sample.length)]!;
  scratch.sort((x, y) => x - y);
  return medianSorted(scratch);
}

export function bootstrapMedianRatio(a: readonly number[], b: readonly number[], options: BootstrapOptions = {}): RatioInterval {
  checkFiniteSample(a, 'a');
  checkFiniteSample(b, 'b');
  a.forEach((value, index) => {
    // Every resampled median of a must be positive for the ratio to mean anything.
    if (value <= 0) throw new RangeError(`bootstrap ratio: a[${index}] is ${value}; the baseline sample must be positive`);
  });
  const resamples = options.resamples ?? BOOTSTRAP_RESAMPLES_DEFAULT;
  const confidence = options.confidence ?? BOOTSTRAP_CONFIDENCE_DEFAULT;
  const seed = options.seed ?? BOOTSTRAP_SEED_DEFAULT;
  if (!Number.isInteger(resamples) || resamples < 100) throw new RangeError(`bootstrap: resamples must be an integer ≥ 100, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`bootstrap: confidence must be in (0, 1), got ${confidence}`);

  const prng = createPrng(seed);
  const scratchA = new Array<number>(a.length).fill(0);
  const scratchB = new Array<number>(b.length).fill(0);
  const ratios = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) {
    ratios[r] = resampledMedian(b, prng, scratchB) / resampledMedian(a, prng, scratchA);
  }
  ratios.sort((x, y) => x - y);
  const tail = (1 - confidence) / 2;
  const sortedA = [...a].sort((x, y) => x - y);
  const sortedB = [...b].sort((x, y) => x - y);
  return {
    ratio: medianSorted(sortedB) / medianSorted(sortedA),
    low: quantileSorted(ratios, tail),
    high: quantileSorted(ratios, 1 - tail),
    confidence,
    resamples,
    seed,
    method: 'percentile-bootstrap',
  };
}

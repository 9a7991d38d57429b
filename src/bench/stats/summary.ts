// What one set of measurements looks like, in the figures a report prints: centre (median and
// mean), spread and range. The relative spread is the median absolute deviation divided by the
// median (MAD / median): it is robust to the one slow run that every benchmark has, and it is on
// the same footing as the median-based comparison (compare.ts), unlike σ / mean.

import { max, mean, medianAbsoluteDeviation, median, min, sampleStandardDeviation } from 'simple-statistics';

export interface SampleSummary {
  readonly n: number;
  readonly median: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 when n = 1. */
  readonly stdev: number;
  readonly min: number;
  readonly max: number;
  /** Median absolute deviation from the median (not scaled to estimate σ). */
  readonly mad: number;
  /** mad / |median|; 0 when the median is 0. */
  readonly spreadRelative: number;
  readonly spreadMeasure: 'mad/median';
}

export function checkFiniteSample(sample: readonly number[], name: string): void {
  if (sample.length === 0) throw new RangeError(`sample ${name} is empty`);
  sample.forEach((value, index) => {
    if (!Number.isFinite(value)) throw new RangeError(`sample ${name}[${index}] is ${value}, not a finite number`);
  });
}

export function summarize(samples: readonly number[], name = 'samples'): SampleSummary {
  checkFiniteSample(samples, name);
  const centre = median(samples);
  const mad = medianAbsoluteDeviation(samples);
  return {
    n: samples.length,
    median: centre,
    mean: mean(samples),
    stdev: samples.length < 2 ? 0 : sampleStandardDeviation(samples),
    min: min(samples),
    max: max(samples),
    mad,
    spreadRelative: centre === 0 ? 0 : mad / Math.abs(centre),
    spreadMeasure: 'mad/median',
  };
}

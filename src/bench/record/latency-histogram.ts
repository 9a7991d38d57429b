// The latency histogram every result carries: HDR (hdr-histogram-js), integer microseconds from
// 1 µs to 60 s at 3 significant digits (a value is stored within 0.1 % of itself), and its
// encoded form (HdrHistogram's compressed base64, the format other HDR tools read) so a result
// file can be merged with others and re-plotted without the raw samples.
//
// The subtle thing: a percentile read from an HDR histogram is the *highest* value equivalent to
// the bucket holding that rank (so p99 is never under-reported), and ranks are rounded up
// (nearest-rank: p99 of 1000 values is the 990th smallest). Ground-truth tests compute their
// expected percentiles the same way.

import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/** 60 s: anything slower is recorded as 60 s and counted as clamped. */
export const LATENCY_US_MAX = 60_000_000;
const SIGNIFICANT_DIGITS = 3;

export interface LatencySummaryUs {
  /** Values recorded. */
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly stdev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  /** The whole histogram, HdrHistogram compressed base64. */
  readonly encoded: string;
}

export function createLatencyHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_US_MAX,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    // Fixed range: a value out of range is the caller's to clamp and count, not a silent resize.
    autoResize: false,
  });
}

export function summarizeLatency(histogram: Histogram): LatencySummaryUs {
  const empty = histogram.totalCount === 0;
  return {
    count: histogram.totalCount,
    // Percentile 0 reads the lowest equivalent value of the first non-empty bucket (0 included).
    min: empty ? 0 : histogram.getValueAtPercentile(0),
    mean: empty ? 0 : histogram.mean,
    stdev: empty ? 0 : histogram.stdDeviation,
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    // Like the percentiles, the bucket's highest equivalent value: the exact maximum is not in the
    // encoded form, and a summary must read the same before and after a round trip.
    max: histogram.getValueAtPercentile(100),
    encoded: encodeIntoCompressedBase64(histogram),
  };
}

/** A histogram decoded from `encoded` into the standard latency range. */
export function decodeLatencyHistogram(encoded: string): Histogram {
  let decoded: Histogram;
  try {
    decoded = decodeFromCompressedBase64(encoded);
  } catch (error) {
    throw new RangeError(`not an encoded HDR histogram (${error instanceof Error ? error.message : String(error)})`);
  }
  if (decoded.maxValue > LATENCY_US_MAX) throw new RangeError(`encoded histogram holds ${decoded.maxValue} µs, above the ${LATENCY_US_MAX} µs range`);
  const histogram = createLatencyHistogram();
  histogram.add(decoded);
  return histogram;
}

/** Several encoded histograms (runs, nodes, operation types) as one, summarised. */
export function mergeEncodedLatencies(encodedHistograms: readonly string[]): LatencySummaryUs {
  const merged = createLatencyHistogram();
  encodedHistograms.forEach((encoded, index) => {
    try {
      merged.add(decodeLatencyHistogram(encoded));
    } catch (error) {
      throw new RangeError(`histogram [${index}]: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  return summarizeLatency(merged);
}

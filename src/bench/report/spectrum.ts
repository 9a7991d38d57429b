// The latency of one configuration over all its repetitions: the repetitions' encoded histograms
// merged into one, read at the standard HDR percentile points (the "percentile spectrum" an HDR
// plot draws) and summarised.
//
// The subtle thing: merging histograms is not averaging percentiles. The merged p99 is the p99 of
// every operation of every repetition — one slow repetition moves it more than it moves the
// median of the repetitions' p99s, which is what the statistics compare. A report shows both and
// says which is which.

import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { createLatencyHistogram, decodeLatencyHistogram } from '../record/latency-histogram.js';

/** The points HdrHistogram's percentile plots use, and 100 (the maximum). */
export const SPECTRUM_PERCENTILES = [0, 50, 75, 90, 99, 99.9, 99.99, 99.999, 100] as const;

export interface SpectrumPoint {
  readonly percentile: number;
  readonly valueUs: number;
}

export interface MergedLatency {
  /** Successful operations in all repetitions together. */
  readonly count: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  /** The merged histogram at SPECTRUM_PERCENTILES (each the highest value equivalent to its bucket). */
  readonly spectrum: readonly SpectrumPoint[];
  /** The merged histogram itself (HdrHistogram compressed base64), so a renderer can read any point. */
  readonly encoded: string;
}

/** Merges encoded histograms; `describe(i)` names histogram i in an error ("run.json ycsb-a/baseline #2 read"). */
export function mergeLatency(encodedHistograms: readonly string[], describe: (index: number) => string): MergedLatency {
  const merged = createLatencyHistogram();
  encodedHistograms.forEach((encoded, index) => {
    try {
      merged.add(decodeLatencyHistogram(encoded));
    } catch (error) {
      throw new RangeError(`${describe(index)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  const empty = merged.totalCount === 0;
  const at = (percentile: number): number => (empty ? 0 : merged.getValueAtPercentile(percentile));
  return {
    count: merged.totalCount,
    meanUs: empty ? 0 : merged.mean,
    p50Us: at(50),
    p90Us: at(90),
    p99Us: at(99),
    p999Us: at(99.9),
    maxUs: at(100),
    spectrum: SPECTRUM_PERCENTILES.map((percentile) => ({ percentile, valueUs: at(percentile) })),
    encoded: encodeIntoCompressedBase64(merged),
  };
}

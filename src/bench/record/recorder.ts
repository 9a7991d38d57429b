// What a load driver writes down about each finished operation: per operation type a latency
// histogram (integer µs), errors counted by kind, and a throughput series (operations finished
// per time bucket), cut to the measurement window; `result()` turns it into plain JSON.
//
// The subtle thing is *which* start an operation has. The driver passes the start it measures
// latency from — the intended start for an open-loop driver, the actual send for a closed loop —
// and the same start decides the warm-up cut: an operation whose start falls in the warm-up is
// not recorded at all, even if it finishes long after, so a backlog built during warm-up is
// seen in the latencies of the operations queued behind it, not in its own.
//
// Cost: one Map lookup, one histogram increment and one array increment per operation (measured
// by src/bench/record/record-cost.ts; see the README).

import type { Histogram } from 'hdr-histogram-js';
import { LATENCY_US_MAX, createLatencyHistogram, summarizeLatency, type LatencySummaryUs } from './latency-histogram.js';

export type LatencyStart = 'intended-start' | 'actual-start';

export interface RecorderOptions {
  /** Operations starting before this time (driver clock, µs) are warm-up and not recorded. */
  readonly measureFromUs: number;
  /** Width of one throughput-series bucket. Default 1 s. */
  readonly seriesBucketUs?: number;
  /** Which start the driver measures latency from; copied into the result as a label. */
  readonly latencyFrom: LatencyStart;
}

export interface ThroughputSeries {
  /** Operations that finished successfully in each bucket (bucket i covers [i·w, (i+1)·w) after measureFromUs). */
  readonly completed: readonly number[];
  /** Operations that finished with an error (any kind) in each bucket. */
  readonly failed: readonly number[];
}

export interface OperationTypeResult {
  /** Operations that succeeded; their latencies are in `latencyUs`. */
  readonly count: number;
  readonly errorCount: number;
  /** Errors by kind (driver-assigned kinds such as 'dropped-overload' included). */
  readonly errors: Readonly<Record<string, number>>;
  /** Latency of the successful operations only. */
  readonly latencyUs: LatencySummaryUs;
  /** count / window length. */
  readonly throughputPerSecond: number;
  readonly series: ThroughputSeries;
}

export interface RecordingResult {
  readonly schema: 'raftbench.recording/1';
  readonly latencyUnit: 'us';
  readonly latencyFrom: LatencyStart;
  /** The measurement window, µs after measureFromUs: [0, windowUs). */
  readonly windowUs: number;
  readonly seriesBucketUs: number;
  /** Operations not recorded because they started in the warm-up. */
  readonly warmupDiscarded: number;
  /** Latencies above 60 s, recorded as 60 s. */
  readonly clampedHigh: number;
  readonly total: OperationTypeResult;
  readonly byType: Readonly<Record<string, OperationTypeResult>>;
}

/** A growable count per bucket. */
class BucketCounts {
  readonly counts: number[] = [];

  increment(bucket: number): void {
    while (this.counts.length <= bucket) this.counts.push(0);
    this.counts[bucket]! += 1;
  }

  padded(length: number): number[] {
    const copy = this.counts.slice();
    while (copy.length < length) copy.push(0);
    return copy;
  }
}

class TypeRecord {
  readonly histogram: Histogram = createLatencyHistogram();
  readonly errors = new Map<string, number>();
  readonly completed = new BucketCounts();
  readonly failed = new BucketCounts();
  errorCount = 0;
}

export const SERIES_BUCKET_US_DEFAULT = 1_000_000;
/** A series longer than this (a day of 1 s buckets) means a clock or unit mistake, not a run. */
const SERIES_BUCKETS_MAX = 86_400;

export class Recorder {
  private readonly measureFromUs: number;
  private readonly seriesBucketUs: number;
  private readonly latencyFrom: LatencyStart;
  private readonly types = new Map<string, TypeRecord>();
  private warmupDiscarded = 0;
  private clampedHigh = 0;

  constructor(options: RecorderOptions) {
    if (!Number.isFinite(options.measureFromUs)) throw new RangeError(`Recorder: measureFromUs must be finite, got ${options.measureFromUs}`);
    const bucketUs = options.seriesBucketUs ?? SERIES_BUCKET_US_DEFAULT;
    if (!Number.isInteger(bucketUs) || bucketUs < 1) throw new RangeError(`Recorder: seriesBucketUs must be a positive integer, got ${bucketUs}`);
    this.measureFromUs = options.measureFromUs;
    this.seriesBucketUs = bucketUs;
    this.latencyFrom = options.latencyFrom;
  }

  /** A successful operation of `type` that started at `startUs` and finished at `endUs` (driver clock, µs). */
  recordSuccess(type: string, startUs: number, endUs: number): void {
    if (startUs < this.measureFromUs) {
      this.warmupDiscarded++;
      return;
    }
    const record = this.typeRecord(type);
    let latencyUs = Math.round(endUs - startUs);
    if (latencyUs > LATENCY_US_MAX) {
      latencyUs = LATENCY_US_MAX;
      this.clampedHigh++;
    } else if (latencyUs < 0) {
      // Only a non-monotonic clock does this; record it as instantaneous rather than crash a run.
      latencyUs = 0;
    }
    record.histogram.recordValue(latencyUs);
    record.completed.increment(this.bucketOf(endUs));
  }

  /** A failed operation; `kind` names why ('timeout', 'dropped-overload', …). */
  recordError(type: string, kind: string, startUs: number, endUs: number): void {
    if (startUs < this.measureFromUs) {
      this.warmupDiscarded++;
      return;
    }
    const record = this.typeRecord(type);
    record.errorCount++;
    record.errors.set(kind, (record.errors.get(kind) ?? 0) + 1);
    record.failed.increment(this.bucketOf(endUs));
  }

  /** Everything recorded, as plain data; `windowEndUs` (driver clock) closes the window for throughput. */
  result(windowEndUs: number): RecordingResult {
    const windowUs = Math.max(0, windowEndUs - this.measureFromUs);
    const seriesLength = Math.max(
      Math.ceil(windowUs / this.seriesBucketUs),
      ...[...this.types.values()].flatMap((record) => [record.completed.counts.length, record.failed.counts.length]),
    );
    const windowSeconds = windowUs / 1e6;
    const describe = (records: readonly TypeRecord[]): OperationTypeResult => {
      const histogram = createLatencyHistogram();
      const errors: Record<string, number> = {};
      const completed = new Array<number>(seriesLength).fill(0);
      const failed = new Array<number>(seriesLength).fill(0);
      let errorCount = 0;
      for (const record of records) {
        histogram.add(record.histogram);
        errorCount += record.errorCount;
        for (const [kind, count] of record.errors) errors[kind] = (errors[kind] ?? 0) + count;
        record.completed.padded(seriesLength).forEach((count, bucket) => (completed[bucket]! += count));
        record.failed.padded(seriesLength).forEach((count, bucket) => (failed[bucket]! += count));
      }
      return {
        count: histogram.totalCount,
        errorCount,
        errors,
        latencyUs: summarizeLatency(histogram),
        throughputPerSecond: windowSeconds > 0 ? histogram.totalCount / windowSeconds : 0,
        series: { completed, failed },
      };
    };
    const byType: Record<string, OperationTypeResult> = {};
    for (const type of [...this.types.keys()].sort()) byType[type] = describe([this.types.get(type)!]);
    return {
      schema: 'raftbench.recording/1',
      latencyUnit: 'us',
      latencyFrom: this.latencyFrom,
      windowUs,
      seriesBucketUs: this.seriesBucketUs,
      warmupDiscarded: this.warmupDiscarded,
      clampedHigh: this.clampedHigh,
      total: describe([...this.types.values()]),
      byType,
    };
  }

  private typeRecord(type: string): TypeRecord {
    let record = this.types.get(type);
    if (record === undefined) {
      record = new TypeRecord();
      this.types.set(type, record);
    }
    return record;
  }

  private bucketOf(endUs: number): number {
    const bucket = Math.floor(Math.max(0, endUs - this.measureFromUs) / this.seriesBucketUs);
    if (bucket >= SERIES_BUCKETS_MAX) {
      throw new RangeError(`Recorder: an operation ended ${endUs - this.measureFromUs} µs into the run, beyond ${SERIES_BUCKETS_MAX} series buckets; is the clock in µs?`);
    }
    return bucket;
  }
}

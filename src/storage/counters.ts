// What the storage layer did, for results files and reports: plain counters plus an HDR histogram
// of sync latency (microseconds) that can be encoded and merged with others.

import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

export interface StorageCountersSnapshot {
  /** append() calls accepted. */
  readonly appends: number;
  /** Framed records written: one per append call that stores anything (entries and hard state together), plus segment headers, the hard state that starts each segment, and snapshot markers. */
  readonly records: number;
  readonly entries: number;
  /** Record payload bytes before compression. */
  readonly payloadBytesRaw: number;
  /** Record payload bytes after compression (what the codec produced). */
  readonly payloadBytesStored: number;
  /** Everything written to WAL files, headers included. */
  readonly bytesWritten: number;
  /** Syncs of WAL segments: one per group commit (or per append under 'always'); creating a segment adds one. */
  readonly syncs: number;
  readonly syncLatencyUs: {
    readonly count: number;
    readonly mean: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
    /** The whole histogram, HDR compressed base64 (mergeable). */
    readonly encoded: string;
  };
}

export class StorageCounters {
  appends = 0;
  records = 0;
  entries = 0;
  payloadBytesRaw = 0;
  payloadBytesStored = 0;
  bytesWritten = 0;
  syncs = 0;
  readonly syncLatencyUs: Histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  recordSync(durationUs: number): void {
    this.syncs++;
    this.syncLatencyUs.recordValue(Math.max(1, Math.min(60_000_000, Math.round(durationUs))));
  }

  snapshot(): StorageCountersSnapshot {
    const h = this.syncLatencyUs;
    return {
      appends: this.appends,
      records: this.records,
      entries: this.entries,
      payloadBytesRaw: this.payloadBytesRaw,
      payloadBytesStored: this.payloadBytesStored,
      bytesWritten: this.bytesWritten,
      syncs: this.syncs,
      syncLatencyUs: {
        count: h.totalCount,
        mean: h.mean,
        p50: h.getValueAtPercentile(50),
        p99: h.getValueAtPercentile(99),
        max: h.maxValue,
        encoded: encodeIntoCompressedBase64(h),
      },
    };
  }
}

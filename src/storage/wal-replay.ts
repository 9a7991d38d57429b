// Replay of write-ahead-log records into an in-memory Raft log on open: the overwrite, gap and
// snapshot-marker rules described at the top of wal.ts, kept apart from file handling so they can
// be read (and reasoned about) on their own.

import type { Entry, HardState } from '../raft/types.js';
import type { SnapshotMarker } from './record.js';

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

/** The snapshot the log sits on: entries at or below `index` live in the snapshot, not the log. */
export interface LogBase {
  readonly index: number;
  readonly term: number;
}

/** Where a replayed append record lies on disk (shared by every entry it holds). */
export interface RecordRef {
  /** The first entry index the record holds on disk. */
  readonly firstIndex: number;
  readonly segmentSequence: number;
  readonly offsetBytes: number;
  readonly framedBytes: number;
}

/** The replayed log: entries contiguous from base.index + 1, each with the record it came from. */
export interface ReplayedLog {
  readonly entries: Entry[];
  readonly records: RecordRef[];
}

/** In-memory replay of records into a log, applying the rules described at the top of wal.ts. */
export class Replay {
  entries: Entry[] = [];
  /** records[k] is the record entries[k] was read from. */
  records: RecordRef[] = [];
  hardState: HardState = EMPTY_HARD_STATE;
  lastMarker: LogBase | null = null;

  constructor(private readonly base: LogBase) {}

  lastIndex(): number {
    return this.entries.length === 0 ? 0 : this.entries[this.entries.length - 1]!.index;
  }

  /** Returns a reason string if the batch cannot follow the log (a gap above the covered part). */
  applyEntries(batch: Entry[], record: RecordRef): string | null {
    if (batch.length === 0) return null;
    const firstIndex = batch[0]!.index;
    if (this.entries.length === 0) {
      this.entries = batch;
      this.records = batch.map(() => record);
      return null;
    }
    const logFirst = this.entries[0]!.index;
    const logLast = this.lastIndex();
    const coverIndex = Math.max(this.base.index, this.lastMarker?.index ?? 0);
    if (firstIndex > logLast + 1) {
      if (logLast > coverIndex) return `entries start at index ${firstIndex} but the log ends at ${logLast} (gap)`;
      this.entries = batch;
      this.records = batch.map(() => record);
      return null;
    }
    if (firstIndex <= logLast) {
      this.entries.length = Math.max(0, firstIndex - logFirst);
      this.records.length = this.entries.length;
    }
    for (const entry of batch) {
      this.entries.push(entry);
      this.records.push(record);
    }
    return null;
  }

  applyMarker(marker: SnapshotMarker): void {
    if (!marker.keepSuffix) {
      this.entries = [];
      this.records = [];
    }
    this.lastMarker = { index: marker.index, term: marker.term };
  }

  /**
   * The log after replay, on top of the snapshot: entries at or below base.index dropped, the
   * rest contiguous from base.index + 1. Returns a reason string if entries are missing.
   */
  finish(): ReplayedLog | string {
    let entries = this.entries;
    let records = this.records;
    const base = this.base;
    // A snapshot saved without its marker (a crash between the two): apply the marker rule now.
    if (base.index > 0 && (this.lastMarker === null || this.lastMarker.index < base.index)) {
      const first = entries[0]?.index ?? 0;
      const atBase = base.index >= first ? entries[base.index - first] : undefined;
      const keepSuffix = entries.length > 0 && (atBase?.term === base.term || first === base.index + 1);
      if (!keepSuffix) {
        entries = [];
        records = [];
      }
    }
    const firstIndex = entries[0]?.index ?? 0;
    if (firstIndex !== 0 && firstIndex <= base.index) {
      const drop = Math.min(entries.length, base.index + 1 - firstIndex);
      entries = entries.slice(drop);
      records = records.slice(drop);
    }
    if (entries.length > 0 && entries[0]!.index !== base.index + 1) {
      return `the log starts at index ${entries[0]!.index} but the snapshot covers only up to ${base.index}: entries are missing`;
    }
    return { entries, records };
  }
}

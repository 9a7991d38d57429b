// What the write-ahead log keeps in memory about the entries it holds on disk — not the entries:
// the term of every entry (as runs: terms change rarely, so a million entries of one term cost one
// run) and where each append record lies (segment, byte offset, length), so that entries the Raft
// core has let go of can be read back from disk when a lagging follower needs them.
//
// A record stays "unwritten" (holding its entries in memory) from append() until the writer has
// put it in a segment; then it holds only its location. Memory: ~100 bytes per append record plus
// one run per term change — with group commit, records carry many entries each.

import type { Entry } from '../raft/types.js';

/** An append record's entries on disk (or, until written, in memory). */
export interface RecordLocation {
  readonly firstIndex: number;
  /** Entries of this record still in the log (an overwrite may cut a record's tail). */
  count: number;
  /** Set once written: the segment's sequence and the record's byte offset and framed length there. */
  segmentSequence: number;
  offsetBytes: number;
  framedBytes: number;
  /** The entries themselves until the record is written, then null. */
  unwritten: readonly Entry[] | null;
}

interface TermRun {
  readonly firstIndex: number;
  readonly term: number;
}

export class LogIndex {
  private records: RecordLocation[] = [];
  private runs: TermRun[] = [];
  private lastIndexValue: number;

  /** An empty index on top of a snapshot at `baseIndex`. */
  constructor(private baseIndex: number) {
    this.lastIndexValue = baseIndex;
  }

  get recordCount(): number {
    return this.records.length;
  }

  get termRunCount(): number {
    return this.runs.length;
  }

  /** Records whose entries are still held in memory (appended, not yet written). */
  unwrittenRecordCount(): number {
    let count = 0;
    for (const record of this.records) if (record.unwritten !== null) count++;
    return count;
  }

  firstIndex(): number {
    return this.baseIndex + 1;
  }

  lastIndex(): number {
    return this.lastIndexValue;
  }

  /** The term of the entry at `index`, or null if the log does not hold it. */
  term(index: number): number | null {
    if (index <= this.baseIndex || index > this.lastIndexValue) return null;
    const runs = this.runs;
    let low = 0;
    let high = runs.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (runs[middle]!.firstIndex <= index) low = middle;
      else high = middle - 1;
    }
    return runs[low]!.term;
  }

  /**
   * Records `entries` (contiguous, starting at most at lastIndex + 1; an earlier start overwrites
   * the suffix) as one new, not yet written record; returns it so the writer can locate it.
   */
  append(entries: readonly Entry[]): RecordLocation {
    const firstIndex = entries[0]!.index;
    if (firstIndex <= this.lastIndexValue) this.truncateFrom(firstIndex);
    let lastTerm = this.runs.length === 0 ? -1 : this.runs[this.runs.length - 1]!.term;
    for (const entry of entries) {
      if (entry.term !== lastTerm) {
        this.runs.push({ firstIndex: entry.index, term: entry.term });
        lastTerm = entry.term;
      }
    }
    const record: RecordLocation = { firstIndex, count: entries.length, segmentSequence: 0, offsetBytes: 0, framedBytes: 0, unwritten: entries };
    this.records.push(record);
    this.lastIndexValue = firstIndex + entries.length - 1;
    return record;
  }

  /**
   * A record recovered from disk (replay order; overwrites already resolved by the caller) whose
   * live entries are `entries`. The record itself may start earlier (`storedFirstIndex`: entries
   * below the snapshot are dead but still in it); reads index into it from there.
   */
  appendRecovered(entries: readonly Entry[], storedFirstIndex: number, segmentSequence: number, offsetBytes: number, framedBytes: number): void {
    const lastIndex = entries[entries.length - 1]!.index;
    let lastTerm = this.runs.length === 0 ? -1 : this.runs[this.runs.length - 1]!.term;
    for (const entry of entries) {
      if (entry.term !== lastTerm) {
        this.runs.push({ firstIndex: entry.index, term: entry.term });
        lastTerm = entry.term;
      }
    }
    this.records.push({ firstIndex: storedFirstIndex, count: lastIndex - storedFirstIndex + 1, segmentSequence, offsetBytes, framedBytes, unwritten: null });
    this.lastIndexValue = lastIndex;
  }

  /** Drops every entry at or above `index` (an overwrite by a new leader). */
  truncateFrom(index: number): void {
    if (index > this.lastIndexValue) return;
    while (this.records.length > 0) {
      const last = this.records[this.records.length - 1]!;
      if (last.firstIndex >= index) {
        this.records.pop();
        continue;
      }
      last.count = Math.min(last.count, index - last.firstIndex);
      break;
    }
    while (this.runs.length > 0 && this.runs[this.runs.length - 1]!.firstIndex >= index) this.runs.pop();
    this.lastIndexValue = Math.max(this.baseIndex, index - 1);
  }

  /**
   * The snapshot moved to (index, term): entries at or below it leave the index. `keepSuffix`
   * false discards the whole log (a snapshot that conflicts with it).
   */
  rebase(index: number, keepSuffix: boolean): void {
    this.baseIndex = index;
    if (!keepSuffix || index >= this.lastIndexValue) {
      this.records = [];
      this.runs = [];
      this.lastIndexValue = index;
      return;
    }
    let dropRecords = 0;
    while (dropRecords < this.records.length && this.records[dropRecords]!.firstIndex + this.records[dropRecords]!.count - 1 <= index) dropRecords++;
    if (dropRecords > 0) this.records = this.records.slice(dropRecords);
    let dropRuns = 0;
    while (dropRuns + 1 < this.runs.length && this.runs[dropRuns + 1]!.firstIndex <= index + 1) dropRuns++;
    if (dropRuns > 0) this.runs = this.runs.slice(dropRuns);
  }

  /** The records holding [fromIndex, toIndexExclusive), in order (the first may start before fromIndex). */
  recordsCovering(fromIndex: number, toIndexExclusive: number): RecordLocation[] {
    const records = this.records;
    let low = 0;
    let high = records.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (records[middle]!.firstIndex <= fromIndex) low = middle;
      else high = middle - 1;
    }
    const covering: RecordLocation[] = [];
    for (let k = low; k < records.length && records[k]!.firstIndex < toIndexExclusive; k++) covering.push(records[k]!);
    return covering;
  }
}

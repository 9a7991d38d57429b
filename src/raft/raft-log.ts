// The in-memory Raft log of one node: a snapshot prefix (index, term, config) followed by the
// entries after it, plus the bookkeeping that ties the log to the host's storage:
//   handedOutIndex  — entries up to here were handed to the host in a Ready for persisting;
//                     entries above it are "unstable" and go out in the next Ready.
//   persistedIndex  — entries up to here are durable (the host called advance() for them).
// Truncation (only on a real conflict) pulls both marks back, so a rewritten suffix is handed out
// and persisted again.
//
// Every mutation checks the log's invariants: indexes contiguous, terms non-decreasing along the
// log, commit never decreasing and never above the last index, a committed entry never truncated.

import type { Entry, SnapshotMeta } from './types.js';

/** Reports a broken invariant; the owner turns it into a RaftInvariantError with its id and term. */
export type InvariantFailure = (index: number, invariant: string) => never;

export class RaftLog {
  private snapshotMeta: SnapshotMeta;
  /** entries[k] has index snapshotMeta.index + 1 + k. */
  private entries: Entry[];
  private commitIndexValue: number;
  handedOutIndex: number;
  persistedIndex: number;

  constructor(
    snapshot: SnapshotMeta,
    durableEntries: readonly Entry[],
    commitIndex: number,
    private readonly fail: InvariantFailure,
  ) {
    this.snapshotMeta = snapshot;
    this.entries = [];
    this.commitIndexValue = snapshot.index;
    this.handedOutIndex = snapshot.index;
    this.persistedIndex = snapshot.index;
    this.append(durableEntries);
    this.handedOutIndex = this.lastIndex();
    this.persistedIndex = this.lastIndex();
    this.commitTo(commitIndex);
  }

  get snapshot(): SnapshotMeta {
    return this.snapshotMeta;
  }

  get commitIndex(): number {
    return this.commitIndexValue;
  }

  firstIndex(): number {
    return this.snapshotMeta.index + 1;
  }

  lastIndex(): number {
    return this.snapshotMeta.index + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.length === 0 ? this.snapshotMeta.term : this.entries[this.entries.length - 1]!.term;
  }

  /** The term at `index`: the snapshot's term at its index, undefined if compacted away or beyond the end. */
  termAt(index: number): number | undefined {
    if (index === this.snapshotMeta.index) return this.snapshotMeta.term;
    const entry = this.entryAt(index);
    return entry === undefined ? undefined : entry.term;
  }

  entryAt(index: number): Entry | undefined {
    if (index <= this.snapshotMeta.index) return undefined;
    return this.entries[index - this.snapshotMeta.index - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.termAt(index) === term;
  }

  /**
   * Entries from `fromIndex` up to the last index, at most `entriesMax` of them and at most
   * `maxBytes` of payload — except that the first entry always goes, even alone over the limit,
   * so one large entry cannot stall replication.
   */
  slice(fromIndex: number, entriesMax: number, maxBytes: number): Entry[] {
    if (fromIndex <= this.snapshotMeta.index) this.fail(fromIndex, 'slice below the snapshot');
    const startOffset = fromIndex - this.snapshotMeta.index - 1;
    const endOffset = Math.min(this.entries.length, startOffset + entriesMax);
    const result: Entry[] = [];
    let bytes = 0;
    for (let offset = startOffset; offset < endOffset; offset++) {
      const entry = this.entries[offset]!;
      bytes += entry.data.length;
      if (result.length > 0 && bytes > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  /** Entries in [fromIndex, toIndex], both inclusive and inside the log. */
  range(fromIndex: number, toIndex: number): Entry[] {
    if (fromIndex <= this.snapshotMeta.index || toIndex > this.lastIndex()) {
      this.fail(fromIndex, `range [${fromIndex}, ${toIndex}] outside the log (${this.firstIndex()}..${this.lastIndex()})`);
    }
    return this.entries.slice(fromIndex - this.snapshotMeta.index - 1, toIndex - this.snapshotMeta.index);
  }

  /** Entries not yet handed to the host for persisting. */
  unstableEntries(): Entry[] {
    if (this.handedOutIndex >= this.lastIndex()) return [];
    return this.entries.slice(this.handedOutIndex - this.snapshotMeta.index);
  }

  /** Append at the end; each entry must follow the last one and not lower the term. */
  append(newEntries: readonly Entry[]): void {
    for (const entry of newEntries) {
      const expectedIndex = this.lastIndex() + 1;
      if (entry.index !== expectedIndex) this.fail(entry.index, `log not contiguous: appended index ${entry.index}, expected ${expectedIndex}`);
      if (entry.term < this.lastTerm()) this.fail(entry.index, `terms decrease along the log: ${entry.term} after ${this.lastTerm()}`);
      this.entries.push(entry);
    }
  }

  /**
   * The position in `incoming` of the first entry that is not already in the log with the same
   * term — either a real conflict (same index, different term) or the first entry past the end.
   * `incoming.length` if every entry is already held (a duplicate or stale append).
   */
  findFirstNew(incoming: readonly Entry[]): number {
    for (let position = 0; position < incoming.length; position++) {
      const entry = incoming[position]!;
      if (!this.matchTerm(entry.index, entry.term)) return position;
    }
    return incoming.length;
  }

  /** Drop every entry above `index`. Only uncommitted entries may go. */
  truncateAfter(index: number): void {
    if (index < this.commitIndexValue) {
      this.fail(index + 1, `would truncate committed entries (commit ${this.commitIndexValue})`);
    }
    if (index >= this.lastIndex()) return;
    this.entries.length = index - this.snapshotMeta.index;
    this.handedOutIndex = Math.min(this.handedOutIndex, index);
    this.persistedIndex = Math.min(this.persistedIndex, index);
  }

  commitTo(index: number): void {
    if (index <= this.commitIndexValue) return;
    if (index > this.lastIndex()) this.fail(index, `commit above the last index ${this.lastIndex()}`);
    this.commitIndexValue = index;
  }

  /** The first index at or after `floorIndex` from which the log holds `term` continuously up to `index`. */
  firstIndexOfTermAt(index: number, floorIndex: number): number {
    const term = this.termAt(index);
    let first = index;
    while (first - 1 >= floorIndex && first - 1 >= this.snapshotMeta.index && this.termAt(first - 1) === term) first -= 1;
    return first;
  }

  /** The last index at or below `atOrBelow` whose term is `term`, or undefined if the log has no such entry there. */
  lastIndexOfTerm(term: number, atOrBelow: number): number | undefined {
    let index = Math.min(atOrBelow, this.lastIndex());
    while (index >= this.snapshotMeta.index) {
      const termHere = this.termAt(index)!;
      if (termHere === term) return index;
      if (termHere < term) return undefined;
      index -= 1;
    }
    return undefined;
  }

  /** Replace the whole log by a snapshot received from the leader (its bytes are the host's). */
  resetToSnapshot(snapshot: SnapshotMeta): void {
    if (snapshot.index <= this.commitIndexValue) this.fail(snapshot.index, `snapshot at or below commit ${this.commitIndexValue}`);
    this.snapshotMeta = snapshot;
    this.entries = [];
    this.commitIndexValue = snapshot.index;
    this.handedOutIndex = snapshot.index;
    this.persistedIndex = Math.min(this.persistedIndex, snapshot.index);
  }

  /** Drop the prefix up to `snapshot.index`, which the host has captured in a snapshot. */
  compact(snapshot: SnapshotMeta): void {
    const termThere = this.termAt(snapshot.index);
    if (termThere !== snapshot.term) this.fail(snapshot.index, `snapshot term ${snapshot.term} does not match the log's ${termThere}`);
    if (snapshot.index > this.persistedIndex) this.fail(snapshot.index, `snapshot above the persisted index ${this.persistedIndex}`);
    this.entries = this.entries.slice(snapshot.index - this.snapshotMeta.index);
    this.snapshotMeta = snapshot;
  }
}

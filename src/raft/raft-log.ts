// The Raft log of one node: a snapshot prefix (index, term, config), then the entries after it —
// the older ones durable on storage only (read back through the host's LogReader), the newer ones
// cached in memory — plus the bookkeeping that ties the log to the host's storage:
//   handedOutIndex  — entries up to here were handed to the host in a Ready for persisting;
//                     entries above it are "unstable" and go out in the next Ready.
//   persistedIndex  — entries up to here are durable (the host called advance() for them).
// Truncation (only on a real conflict) pulls both marks back, so a rewritten suffix is handed out
// and persisted again.
//
// MEMORY. The cache holds (cacheOffset, lastIndex]. The owner drops a prefix with dropCacheTo once
// those entries are durable, applied and no longer needed by a follower; everything above the
// persisted index and above the applied index always stays, so Readies and the apply path never
// touch storage. Without a LogReader nothing is ever dropped.
//
// Every mutation checks the log's invariants: indexes contiguous, terms non-decreasing along the
// log, commit never decreasing and never above the last index, a committed entry never truncated.

import type { Entry, LogReader, SnapshotMeta } from './types.js';

/** Reports a broken invariant; the owner turns it into a RaftInvariantError with its id and term. */
export type InvariantFailure = (index: number, invariant: string) => never;

/** Entries below the cache could not be read back (compacted, disk error, codec): send a snapshot. */
export class LogUnavailableError extends Error {
  override readonly name = 'LogUnavailableError';
  constructor(
    readonly index: number,
    reason: string,
  ) {
    super(`log entry ${index} unavailable: ${reason}`);
  }
}

/** Compact the cache array once this many dropped slots sit at its head. */
const CACHE_HEAD_SLACK = 4096;

export class RaftLog {
  private snapshotMeta: SnapshotMeta;
  /** cache[cacheHead + k] has index cacheOffset + 1 + k. */
  private cache: Entry[] = [];
  private cacheHead = 0;
  private cacheOffset: number;
  private cachedBytesValue = 0;
  private commitIndexValue: number;
  handedOutIndex: number;
  persistedIndex: number;

  constructor(
    snapshot: SnapshotMeta,
    durableEntries: readonly Entry[],
    commitIndex: number,
    private readonly fail: InvariantFailure,
    private readonly reader: LogReader | null,
  ) {
    this.snapshotMeta = snapshot;
    this.cacheOffset = snapshot.index;
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

  get cachedEntries(): number {
    return this.cache.length - this.cacheHead;
  }

  get cachedBytes(): number {
    return this.cachedBytesValue;
  }

  /** The lowest index still held in memory (lastIndex + 1 when the cache is empty). */
  get cacheFirstIndex(): number {
    return this.cacheOffset + 1;
  }

  firstIndex(): number {
    return this.snapshotMeta.index + 1;
  }

  lastIndex(): number {
    return this.cacheOffset + this.cache.length - this.cacheHead;
  }

  lastTerm(): number {
    return this.cache.length === this.cacheHead ? this.termAtOrSnapshot(this.cacheOffset) : this.cache[this.cache.length - 1]!.term;
  }

  /** The term at `index`: the snapshot's term at its index, undefined if compacted away, beyond the end, or unreadable. */
  termAt(index: number): number | undefined {
    if (index === this.snapshotMeta.index) return this.snapshotMeta.term;
    if (index < this.snapshotMeta.index || index > this.lastIndex()) return undefined;
    if (index > this.cacheOffset) return this.cache[this.cacheHead + index - this.cacheOffset - 1]!.term;
    return this.reader?.term(index) ?? undefined;
  }

  private termAtOrSnapshot(index: number): number {
    return this.termAt(index) ?? this.fail(index, 'the last entry below the cache has no term in storage');
  }

  /** The entry at `index` from memory or storage; undefined if compacted, beyond the end, or unreadable. */
  entryAt(index: number): Entry | undefined {
    if (index <= this.snapshotMeta.index || index > this.lastIndex()) return undefined;
    if (index > this.cacheOffset) return this.cache[this.cacheHead + index - this.cacheOffset - 1];
    try {
      return this.readStored(index, index + 1, Number.POSITIVE_INFINITY)[0];
    } catch (error) {
      if (error instanceof LogUnavailableError) return undefined;
      throw error;
    }
  }

  matchTerm(index: number, term: number): boolean {
    return this.termAt(index) === term;
  }

  /**
   * Entries from `fromIndex` up to the last index, at most `entriesMax` of them and at most
   * `bytesMax` of payload — except that the first entry always goes, even alone over the limit,
   * so one large entry cannot stall replication. Throws LogUnavailableError when entries below the
   * cache cannot be read back.
   */
  slice(fromIndex: number, entriesMax: number, bytesMax: number): Entry[] {
    if (fromIndex <= this.snapshotMeta.index) this.fail(fromIndex, 'slice below the snapshot');
    const result: Entry[] = [];
    let bytes = 0;
    let index = fromIndex;
    if (index <= this.cacheOffset) {
      const stored = this.readStored(index, Math.min(this.cacheOffset + 1, index + entriesMax), bytesMax);
      for (const entry of stored) {
        result.push(entry);
        bytes += entry.data.length;
      }
      index += stored.length;
      if (index <= this.cacheOffset || bytes >= bytesMax) return result;
    }
    const endIndex = Math.min(this.lastIndex(), fromIndex + entriesMax - 1);
    for (let position = this.cacheHead + index - this.cacheOffset - 1; index <= endIndex; index++, position++) {
      const entry = this.cache[position]!;
      bytes += entry.data.length;
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  private readStored(fromIndex: number, toIndexExclusive: number, bytesMax: number): Entry[] {
    if (this.reader === null) this.fail(fromIndex, 'entries below the cache but no LogReader');
    let stored: Entry[];
    try {
      stored = this.reader.entries(fromIndex, toIndexExclusive, bytesMax);
    } catch (error) {
      throw new LogUnavailableError(fromIndex, error instanceof Error ? error.message : String(error));
    }
    if (stored.length === 0 || stored[0]!.index !== fromIndex) throw new LogUnavailableError(fromIndex, 'the LogReader returned no entry at that index');
    return stored;
  }

  /** Entries in [fromIndex, toIndex], both inclusive, from memory (the apply path never reads storage). */
  range(fromIndex: number, toIndex: number): Entry[] {
    if (fromIndex <= this.cacheOffset || toIndex > this.lastIndex()) {
      this.fail(fromIndex, `range [${fromIndex}, ${toIndex}] outside the cached log (${this.cacheFirstIndex}..${this.lastIndex()})`);
    }
    const start = this.cacheHead + fromIndex - this.cacheOffset - 1;
    return this.cache.slice(start, start + toIndex - fromIndex + 1);
  }

  /** Entries not yet handed to the host for persisting (always cached). */
  unstableEntries(): Entry[] {
    if (this.handedOutIndex >= this.lastIndex()) return [];
    return this.cache.slice(this.cacheHead + this.handedOutIndex - this.cacheOffset);
  }

  /** Payload bytes of the entries in (fromIndexExclusive, toIndex], which must be cached. */
  payloadBytes(fromIndexExclusive: number, toIndex: number): number {
    let bytes = 0;
    const start = this.cacheHead + Math.max(fromIndexExclusive, this.cacheOffset) - this.cacheOffset;
    const end = this.cacheHead + toIndex - this.cacheOffset;
    for (let position = start; position < end; position++) bytes += this.cache[position]!.data.length;
    return bytes;
  }

  /** Append at the end; each entry must follow the last one and not lower the term. */
  append(newEntries: readonly Entry[]): void {
    let lastTerm = this.lastTerm();
    for (const entry of newEntries) {
      const expectedIndex = this.lastIndex() + 1;
      if (entry.index !== expectedIndex) this.fail(entry.index, `log not contiguous: appended index ${entry.index}, expected ${expectedIndex}`);
      if (entry.term < lastTerm) this.fail(entry.index, `terms decrease along the log: ${entry.term} after ${lastTerm}`);
      this.cache.push(entry);
      this.cachedBytesValue += entry.data.length;
      lastTerm = entry.term;
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

  /** Drop every entry above `index`. Only uncommitted (hence cached) entries may go. */
  truncateAfter(index: number): void {
    if (index < this.commitIndexValue) {
      this.fail(index + 1, `would truncate committed entries (commit ${this.commitIndexValue})`);
    }
    if (index >= this.lastIndex()) return;
    if (index < this.cacheOffset) this.fail(index + 1, `would truncate below the cache (${this.cacheFirstIndex})`);
    const keep = this.cacheHead + index - this.cacheOffset;
    for (let position = keep; position < this.cache.length; position++) this.cachedBytesValue -= this.cache[position]!.data.length;
    this.cache.length = keep;
    this.handedOutIndex = Math.min(this.handedOutIndex, index);
    this.persistedIndex = Math.min(this.persistedIndex, index);
  }

  commitTo(index: number): void {
    if (index <= this.commitIndexValue) return;
    if (index > this.lastIndex()) this.fail(index, `commit above the last index ${this.lastIndex()}`);
    this.commitIndexValue = index;
  }

  /**
   * Forget cached entries up to `index` (they stay on storage). The caller guarantees they are
   * durable and applied; a node without a LogReader keeps everything.
   */
  dropCacheTo(index: number): void {
    if (this.reader === null || index <= this.cacheOffset) return;
    if (index > this.persistedIndex) this.fail(index, `would drop entries not yet durable (persisted ${this.persistedIndex})`);
    const dropCount = Math.min(index, this.lastIndex()) - this.cacheOffset;
    for (let k = 0; k < dropCount; k++) {
      this.cachedBytesValue -= this.cache[this.cacheHead + k]!.data.length;
      this.cache[this.cacheHead + k] = undefined as unknown as Entry;
    }
    this.cacheHead += dropCount;
    this.cacheOffset += dropCount;
    if (this.cacheHead >= CACHE_HEAD_SLACK && this.cacheHead * 2 >= this.cache.length) {
      this.cache = this.cache.slice(this.cacheHead);
      this.cacheHead = 0;
    }
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
      const termHere = this.termAt(index);
      if (termHere === undefined) return undefined;
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
    this.cache = [];
    this.cacheHead = 0;
    this.cacheOffset = snapshot.index;
    this.cachedBytesValue = 0;
    this.commitIndexValue = snapshot.index;
    this.handedOutIndex = snapshot.index;
    this.persistedIndex = Math.min(this.persistedIndex, snapshot.index);
  }

  /** Drop the prefix up to `snapshot.index`, which the host has captured in a snapshot. */
  compact(snapshot: SnapshotMeta): void {
    const termThere = this.termAt(snapshot.index);
    if (termThere !== snapshot.term) this.fail(snapshot.index, `snapshot term ${snapshot.term} does not match the log's ${termThere}`);
    if (snapshot.index > this.persistedIndex) this.fail(snapshot.index, `snapshot above the persisted index ${this.persistedIndex}`);
    if (snapshot.index > this.cacheOffset) {
      const dropCount = snapshot.index - this.cacheOffset;
      for (let k = 0; k < dropCount; k++) this.cachedBytesValue -= this.cache[this.cacheHead + k]!.data.length;
      this.cache = this.cache.slice(this.cacheHead + dropCount);
      this.cacheHead = 0;
      this.cacheOffset = snapshot.index;
    }
    this.snapshotMeta = snapshot;
  }
}

// The ordered map the KV state machine stores its data in. Two implementations stand side by
// side and are chosen by profile (`kv.lock`):
//   - skiplist.ts: a single-threaded skip list on the JS heap (the default for embedded runs);
//   - shared/: a skip list in SharedArrayBuffers, guarded by an Atomics mutex or reader-writer
//     lock, whose reads worker threads can serve.
// Both must pass the same model-based contract tests (test/kv/ordered-map-contract.ts).
//
// Keys are compared as unsigned bytes, lexicographically (Buffer.compare order). `version` is the
// log index of the write that last set the key, so a reader can tell which write it saw.

export interface VersionedValue {
  readonly value: Uint8Array;
  /** The log index of the write that last set this key (a positive safe integer). */
  readonly version: number;
}

export interface KeyValueVersion extends VersionedValue {
  readonly key: Uint8Array;
}

/** What put and delete return when the key was not there. */
export const ABSENT = -1;

export interface OrderedMap {
  /** Number of keys held. */
  readonly size: number;
  get(key: Uint8Array): VersionedValue | undefined;
  /**
   * Insert or replace. The map may keep references to neither `key` nor `value` (it copies).
   * Returns the length of the value it replaced, or ABSENT for a new key: the map finds the old
   * node anyway, and the state machine's size accounting would otherwise need a second search.
   */
  put(key: Uint8Array, value: Uint8Array, version: number): number;
  /** Returns the length of the value removed, or ABSENT if the key was not there. */
  delete(key: Uint8Array): number;
  /**
   * Up to `limit` pairs with startInclusive ≤ key < endExclusive (no upper bound when
   * endExclusive is null), in key order.
   */
  scan(startInclusive: Uint8Array, endExclusive: Uint8Array | null, limit: number): KeyValueVersion[];
  /** Every pair in key order. The map must not be modified while iterating. */
  entries(): IterableIterator<KeyValueVersion>;
  clear(): void;
  /**
   * Optional: runs `body` — a group of writes, e.g. one apply batch — as one unit, returning what
   * it returns. A map shared with reader threads takes its write lock once around the whole group
   * (readers see all of it or none). A map without it needs no such grouping.
   */
  writeBatch?<T>(body: () => T): T;
}

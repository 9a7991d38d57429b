// Reads a live OrderedMap in key order *as it was at one log index*, while the state machine keeps
// writing to it: the pairs of a streamed snapshot, without copying the map when the snapshot is
// taken. The cursor reads the live map in bounded batches (map.scan) and keeps, in a side table,
// the pre-images of the keys it has not passed yet that were overwritten or deleted since.
//
// The one subtle thing: versions make absence free. A pair's version is the index of the write
// that set it, so a live pair whose version ≤ `index` was not written since the snapshot, and one
// whose version > `index` was. The state machine calls `beforeWrite(key, current)` before each
// put / delete / successful cas while the cursor is open, and the cursor records a pre-image only
// when `current` exists with version ≤ `index` and the key lies beyond what it has passed — the
// *first* write since the snapshot to a key that existed then. Everything else needs no record:
//   - a key absent now was either absent at the snapshot or deleted since (then recorded);
//   - a key written since (version > index) was either absent at the snapshot or recorded already.
// Reading a batch therefore merges two sorted runs: the live pairs after the cursor and the
// recorded pre-images, and for each key emits the pre-image if there is one, else the live pair
// if its version ≤ index, else nothing (the key did not exist at the snapshot). A pre-image whose
// key is gone from the live map (deleted since) is emitted too. A batch ends at the smaller of the
// two runs' last keys, so every key up to there has been decided; the cursor then counts as having
// passed it, and later writes at or below it are not recorded.
//
// Work per batch: at most batchPairsMax + 1 live pairs and batchPairsMax pre-images read. Keys
// inserted beyond the cursor while it is open are read too (and skipped): a chunk that meets a
// long run of them reads the run before it can emit the next pair.
// Memory of the side table, at worst: one pre-image per key that existed at the snapshot and has
// not been passed yet, i.e. a second copy of the snapshot's keys and values (≤ dataBytesMax) plus
// the heap skip list's per-key overhead (measured ~350 B of heap per 16-byte key: the node, its
// index slot, and the objects of the copied key and value). That worst case needs every such key to be
// overwritten or deleted while the cursor is open; a pre-image is dropped as soon as the cursor
// passes its key, and the whole table when the cursor is closed. Inserts of new keys cost nothing.

import { createPrng } from '../random/prng.js';
import type { KeyValueVersion, OrderedMap, VersionedValue } from './ordered-map.js';
import { SkipList, compareBytes } from './skiplist.js';

/** Pairs read from the live map per batch (each batch also reads up to as many pre-images). */
export const SNAPSHOT_SCAN_BATCH_PAIRS = 256;
const EMPTY_KEY = new Uint8Array(0);
/** The pre-image table's level draws need not match anything: any fixed seed will do. */
const PRE_IMAGE_PRNG_SEED = 0x5eed;

/** The map was replaced (restored) while a snapshot of its previous state was being read. */
export class SnapshotCursorClosedError extends Error {
  override readonly name = 'SnapshotCursorClosedError';
}

export class SnapshotCursor {
  /** The last key decided (emitted or skipped); null before the first batch. */
  private passed: Uint8Array | null = null;
  private finished = false;
  private closedReason: string | null = null;
  /** Pre-images of keys beyond `passed`, as they were at `index`. */
  private readonly preImages = new SkipList(createPrng(PRE_IMAGE_PRNG_SEED));

  constructor(
    private readonly map: OrderedMap,
    /** The index the cursor reads the map as of (the snapshot's lastAppliedIndex). */
    readonly index: number,
    private readonly batchPairsMax = SNAPSHOT_SCAN_BATCH_PAIRS,
  ) {
    if (!Number.isSafeInteger(batchPairsMax) || batchPairsMax < 1) throw new RangeError(`snapshot cursor: batchPairsMax must be a positive integer, got ${batchPairsMax}`);
  }

  /** Pre-images held right now. */
  get preImageCount(): number {
    return this.preImages.size;
  }

  get isOpen(): boolean {
    return !this.finished && this.closedReason === null;
  }

  /** Must be called before every write to `key`, with the key's current state in the live map. */
  beforeWrite(key: Uint8Array, current: VersionedValue | undefined): void {
    if (current === undefined || current.version > this.index) return;
    if (this.passed !== null && compareBytes(key, this.passed) <= 0) return;
    this.preImages.put(key, current.value, current.version);
  }

  /**
   * The next pairs in key order as they were at `index`; an empty batch is possible (every key
   * read was new since), null once every key has been read. Throws SnapshotCursorClosedError if
   * the cursor was closed with a reason (the map was restored under it).
   */
  nextBatch(): KeyValueVersion[] | null {
    if (this.closedReason !== null) throw new SnapshotCursorClosedError(this.closedReason);
    if (this.finished) return null;
    const limit = this.batchPairsMax;
    const passed = this.passed;
    // From the passed key itself (inclusive) rather than from just after it: the smallest key
    // after K is K + 0x00, which may exceed a map's key length limit.
    const requested = passed === null ? limit : limit + 1;
    const raw = this.map.scan(passed ?? EMPTY_KEY, null, requested);
    const liveExhausted = raw.length < requested;
    const liveStart = passed !== null && raw.length > 0 && compareBytes(raw[0]!.key, passed) === 0 ? 1 : 0;
    // Every pre-image held lies beyond `passed`: the ones at or below it were dropped when passed.
    const pre = this.preImages.scan(EMPTY_KEY, null, limit);
    const preExhausted = pre.length < limit;
    // Checked, not assumed: a pre-image at or below `passed` would be emitted out of order, or
    // stop the cursor from advancing at all.
    if (passed !== null && pre.length > 0 && compareBytes(pre[0]!.key, passed) <= 0) {
      throw new Error(`snapshot cursor: the side table holds a key at or below the one passed (${Buffer.from(pre[0]!.key).toString('hex')})`);
    }

    let boundary: Uint8Array | null = null;
    if (!liveExhausted) boundary = raw[raw.length - 1]!.key;
    if (!preExhausted) {
      const lastPre = pre[pre.length - 1]!.key;
      if (boundary === null || compareBytes(lastPre, boundary) < 0) boundary = lastPre;
    }

    const batch: KeyValueVersion[] = [];
    let liveAt = liveStart;
    let preAt = 0;
    for (;;) {
      const live = liveAt < raw.length ? raw[liveAt]! : undefined;
      const image = preAt < pre.length ? pre[preAt]! : undefined;
      if (live === undefined && image === undefined) break;
      const order = live === undefined ? 1 : image === undefined ? -1 : compareBytes(live.key, image.key);
      const next = order < 0 ? live! : image!;
      if (boundary !== null && compareBytes(next.key, boundary) > 0) break;
      if (order >= 0) {
        batch.push(image!);
        this.preImages.delete(image!.key);
        preAt++;
        if (order === 0) liveAt++;
      } else {
        if (live!.version <= this.index) batch.push(live!);
        liveAt++;
      }
    }
    if (boundary === null) {
      this.finished = true;
      this.preImages.clear();
    } else {
      this.passed = boundary;
    }
    return batch;
  }

  /** Every pair as of `index`, batch by batch, as the consumer pulls; closes the cursor when done or abandoned. */
  *pairs(): Generator<KeyValueVersion> {
    try {
      for (let batch = this.nextBatch(); batch !== null; batch = this.nextBatch()) yield* batch;
    } finally {
      this.close();
    }
  }

  /** Drops the side table; a `reason` makes the next read throw it (the consumer learns why). */
  close(reason?: string): void {
    if (reason !== undefined && this.isOpen) this.closedReason = reason;
    this.finished = true;
    this.preImages.clear();
  }
}

// An ordered map on a skip list (Pugh 1990) living on the JS heap: the single-threaded default
// OrderedMap. Keys compare as unsigned bytes (Buffer.compare order).
//
// Shape, chosen for speed in V8:
//   - one monomorphic class per node, forward pointers in a plain array sized to the node's level;
//   - the search path ("update" array) is allocated once per map and reused, so get and replace
//     allocate only their result / the copied value;
//   - keys are compared with a hand loop over the bytes: for the short keys a KV store holds
//     (16 B in the benchmarks) it beats Buffer.compare, whose native call costs more than the
//     comparison (src/bench/micro/kv.ts measures both);
//   - stored keys and values are Buffer.allocUnsafe copies, which for sizes under 4 KiB are cut
//     from Node's shared 8 KiB pool instead of each owning an ArrayBuffer.
//
// Levels: p = 1/4, at most 16 levels. With p = 1/4 a search makes about as many comparisons as
// with p = 1/2 (≈ 2·log2 n either way) but nodes carry 1.33 forward pointers on average instead
// of 2, so it costs less memory and cache. Two random bits per level means one 32-bit draw from
// the injected Prng decides a node's level, and 16 levels suffice for 4^16 ≈ 4.3 × 10^9 keys —
// far beyond what fits in memory; past that searches would only slow down gradually. The level
// stream comes from the seeded Prng, so the same inserts build the same list on every run.
//
// Values are never overwritten in place: a replace swaps in a new copy. Results handed out earlier
// therefore stay valid, which the state machine relies on for point-in-time snapshots.

import type { KeyValueVersion, OrderedMap, VersionedValue } from './ordered-map.js';
import type { Prng } from '../raft/prng.js';

export const SKIPLIST_MAX_LEVEL = 16;

class SkipNode {
  constructor(
    readonly key: Uint8Array,
    public value: Uint8Array,
    public version: number,
    readonly next: (SkipNode | null)[],
  ) {}
}

/** Unsigned lexicographic comparison, the same order as Buffer.compare. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const aLength = a.length;
  const bLength = b.length;
  const common = aLength < bLength ? aLength : bLength;
  for (let i = 0; i < common; i++) {
    const difference = a[i]! - b[i]!;
    if (difference !== 0) return difference;
  }
  return aLength - bLength;
}

function copyBytes(source: Uint8Array): Uint8Array {
  const copy = Buffer.allocUnsafe(source.length);
  copy.set(source);
  return copy;
}

function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new RangeError(`skiplist put: version must be a positive safe integer, got ${version}`);
  }
}

export class SkipList implements OrderedMap {
  private readonly head: SkipNode;
  /** Scratch search path: update[i] is the last node at level i whose key is < the search key. */
  private readonly update: SkipNode[];
  /** Levels currently in use (1 ≤ level ≤ SKIPLIST_MAX_LEVEL). */
  private level = 1;
  private count = 0;

  constructor(private readonly prng: Prng) {
    this.head = new SkipNode(new Uint8Array(0), new Uint8Array(0), 0, new Array<SkipNode | null>(SKIPLIST_MAX_LEVEL).fill(null));
    this.update = new Array<SkipNode>(SKIPLIST_MAX_LEVEL).fill(this.head);
  }

  get size(): number {
    return this.count;
  }

  get(key: Uint8Array): VersionedValue | undefined {
    const node = this.findGreaterOrEqual(key, false);
    if (node === null || compareBytes(node.key, key) !== 0) return undefined;
    return { value: node.value, version: node.version };
  }

  put(key: Uint8Array, value: Uint8Array, version: number): void {
    checkVersion(version);
    const found = this.findGreaterOrEqual(key, true);
    if (found !== null && compareBytes(found.key, key) === 0) {
      found.value = copyBytes(value);
      found.version = version;
      return;
    }
    const nodeLevel = this.randomLevel();
    if (nodeLevel > this.level) {
      for (let i = this.level; i < nodeLevel; i++) this.update[i] = this.head;
      this.level = nodeLevel;
    }
    const next = new Array<SkipNode | null>(nodeLevel);
    const node = new SkipNode(copyBytes(key), copyBytes(value), version, next);
    const update = this.update;
    for (let i = 0; i < nodeLevel; i++) {
      const predecessor = update[i]!;
      next[i] = predecessor.next[i]!;
      predecessor.next[i] = node;
    }
    this.count++;
  }

  delete(key: Uint8Array): boolean {
    const found = this.findGreaterOrEqual(key, true);
    if (found === null || compareBytes(found.key, key) !== 0) return false;
    const update = this.update;
    const foundLevel = found.next.length;
    for (let i = 0; i < foundLevel; i++) {
      const predecessor = update[i]!;
      if (predecessor.next[i] === found) predecessor.next[i] = found.next[i]!;
    }
    while (this.level > 1 && this.head.next[this.level - 1] === null) this.level--;
    this.count--;
    return true;
  }

  scan(startInclusive: Uint8Array, endExclusive: Uint8Array | null, limit: number): KeyValueVersion[] {
    const result: KeyValueVersion[] = [];
    if (limit <= 0) return result;
    let node = this.findGreaterOrEqual(startInclusive, false);
    while (node !== null && result.length < limit) {
      if (endExclusive !== null && compareBytes(node.key, endExclusive) >= 0) break;
      result.push({ key: node.key, value: node.value, version: node.version });
      node = node.next[0]!;
    }
    return result;
  }

  *entries(): IterableIterator<KeyValueVersion> {
    let node = this.head.next[0]!;
    while (node !== null) {
      yield { key: node.key, value: node.value, version: node.version };
      node = node.next[0]!;
    }
  }

  clear(): void {
    this.head.next.fill(null);
    this.update.fill(this.head);
    this.level = 1;
    this.count = 0;
  }

  /**
   * The first node whose key is ≥ `key`, or null. With `recordPath`, leaves the predecessors at
   * every level in `this.update` for an insert or unlink.
   */
  private findGreaterOrEqual(key: Uint8Array, recordPath: boolean): SkipNode | null {
    let node = this.head;
    const update = this.update;
    // A node already found ≥ key on a higher level need not be compared again on the lower ones.
    let knownNotLess: SkipNode | null = null;
    for (let i = this.level - 1; i >= 0; i--) {
      let next = node.next[i]!;
      while (next !== null && next !== knownNotLess && compareBytes(next.key, key) < 0) {
        node = next;
        next = node.next[i]!;
      }
      knownNotLess = next;
      if (recordPath) update[i] = node;
    }
    return node.next[0]!;
  }

  /** 1 + the number of leading pairs of zero bits in one draw: P(level > k) = 4^-k, capped at 16. */
  private randomLevel(): number {
    let bits = this.prng.nextUint32();
    let nodeLevel = 1;
    while (nodeLevel < SKIPLIST_MAX_LEVEL && (bits & 3) === 0) {
      nodeLevel++;
      bits >>>= 2;
    }
    return nodeLevel;
  }
}

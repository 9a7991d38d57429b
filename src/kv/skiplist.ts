// An ordered map on a skip list (Pugh 1990) living on the JS heap: the single-threaded default
// OrderedMap. Keys compare as unsigned bytes (Buffer.compare order).
//
// Shape, chosen for speed in V8 (src/bench/micro/kv.ts measures it). Once the map outgrows the
// CPU caches a search costs what its dependent memory loads cost, so the layout minimises them:
//   - every link carries, beside the next node, *that node's key prefix* (two int32 words, see
//     prefixWord). Deciding whether to step forward reads only the current node; the next node,
//     its key object and its key bytes are touched only when the prefixes tie or the search moves;
//   - level 0, the only level of 3 nodes in 4, lives in fields of the node itself (next0,
//     next0High, next0Low): a step along the bottom level is one load, and most nodes need no
//     array at all. Levels ≥ 1 live in an `upper` array, 3 entries per level;
//   - prefixes that tie fall back to a hand loop over the bytes, which for short keys beats
//     Buffer.compare, whose native call costs more than the comparison;
//   - point operations go through a hash index (open addressing, linear probing) over the same
//     nodes: a get is a hash and one or two probes instead of a ~2·log2 n step search, a replace
//     or a delete of an absent key never walks the list, and only inserts and unlinks pay for the
//     search (they need the path). It costs a hash field per node and one array slot per key at
//     ≤ 50 % load (8-16 B/key). The hash is unkeyed: keys chosen to collide could make probes
//     long (every probe loop is still bounded by the table size) — acceptable for a benchmark
//     store whose clients are trusted, not for one open to adversaries;
//   - the search path ("update" array) is allocated once per map and reused, so get and replace
//     allocate only their result / the copied value;
//   - stored keys and values are Buffer.allocUnsafe copies, which for sizes under 4 KiB are cut
//     from Node's shared 8 KiB pool instead of each owning an ArrayBuffer.
//
// Levels: p = 1/4, at most 16 levels (an interleaved A/B run against p = 1/2 at 100 k keys, taken
// before the point index existed and under contention, had list searches ~10-15 % faster). With
// p = 1/4 a search makes about as many comparisons as with p = 1/2 (≈ 2·log2 n either way) but
// nodes carry 1.33 forward pointers on average instead of 2, so it costs less memory and cache,
// and 3 nodes in 4 have only the inline level-0 link. Two random bits per level means one 32-bit draw from
// the injected Prng decides a node's level, and 16 levels suffice for 4^16 ≈ 4.3 × 10^9 keys —
// far beyond what fits in memory; past that searches would only slow down gradually. The level
// stream comes from the seeded Prng, so the same inserts build the same list on every run.
//
// Values are never overwritten in place: a replace swaps in a new copy. Results handed out earlier
// therefore stay valid, which the state machine relies on for point-in-time snapshots.

import { ABSENT, type KeyValueVersion, type OrderedMap, type VersionedValue } from './ordered-map.js';
import type { Prng } from '../random/prng.js';
import { hashKey, prefixWord } from './key-hash.js';

export const SKIPLIST_LEVEL_MAX = 16;

/** Per level ≥ 1, in `upper`: [next node | null, its prefixHigh, its prefixLow]. */
const LINK_STRIDE = 3;
type UpperLinks = (SkipNode | number | null)[];

class SkipNode {
  /** The key's bytes 0-3 and 4-7 as order-preserving int32s (see prefixWord). */
  readonly prefixHigh: number;
  readonly prefixLow: number;
  /** Bytes 8-11 and 12-15 likewise, and the length: keys of up to 16 bytes compare without loading `key`. */
  readonly word2: number;
  readonly word3: number;
  readonly keyLength: number;
  /** hashKey of the key, for the point index. */
  readonly hash: number;
  /** The level-0 link: the next node and its prefix words. */
  next0: SkipNode | null = null;
  next0High = 0;
  next0Low = 0;
  constructor(
    readonly key: Uint8Array,
    public value: Uint8Array,
    public version: number,
    /** Links of levels 1 … level-1 (LINK_STRIDE entries each); null for a level-1 node. */
    readonly upper: UpperLinks | null,
  ) {
    this.prefixHigh = prefixWord(key, 0);
    this.prefixLow = prefixWord(key, 4);
    this.word2 = prefixWord(key, 8);
    this.word3 = prefixWord(key, 12);
    this.keyLength = key.length;
    this.hash = hashKey(key, this.prefixHigh, this.prefixLow, this.word2, this.word3);
  }
}


/** The search key in the same inline form as a node's, computed once per operation. */
class SearchKey {
  prefixHigh = 0;
  prefixLow = 0;
  word2 = 0;
  word3 = 0;
  hash = 0;
  key: Uint8Array = new Uint8Array(0);
  set(key: Uint8Array): this {
    this.key = key;
    this.prefixHigh = prefixWord(key, 0);
    this.prefixLow = prefixWord(key, 4);
    this.word2 = prefixWord(key, 8);
    this.word3 = prefixWord(key, 12);
    this.hash = hashKey(key, this.prefixHigh, this.prefixLow, this.word2, this.word3);
    return this;
  }
}

/** Orders `node` against `search` once their first 8 bytes are known to tie: <0, 0, >0. */
function compareTail(node: SkipNode, search: SearchKey): number {
  if (node.word2 !== search.word2) return node.word2 < search.word2 ? -1 : 1;
  if (node.word3 !== search.word3) return node.word3 < search.word3 ? -1 : 1;
  const searchLength = search.key.length;
  // Both within 16 bytes and equal up to zero padding: the shorter is a prefix of the longer.
  if (node.keyLength <= 16 && searchLength <= 16) return node.keyLength - searchLength;
  return compareBytes(node.key, search.key);
}

/** Whether `node` holds exactly the search key. */
function sameKey(node: SkipNode, search: SearchKey): boolean {
  return node.prefixHigh === search.prefixHigh && node.prefixLow === search.prefixLow && compareTail(node, search) === 0;
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


function levelOf(node: SkipNode): number {
  return node.upper === null ? 1 : 1 + node.upper.length / LINK_STRIDE;
}

function nextAt(node: SkipNode, level: number): SkipNode | null {
  return level === 0 ? node.next0 : (node.upper![(level - 1) * LINK_STRIDE] as SkipNode | null);
}

/** Points `node`'s link at `level` to `target` (or null), with the target's prefix alongside. */
function setNext(node: SkipNode, level: number, target: SkipNode | null): void {
  const high = target === null ? 0 : target.prefixHigh;
  const low = target === null ? 0 : target.prefixLow;
  if (level === 0) {
    node.next0 = target;
    node.next0High = high;
    node.next0Low = low;
    return;
  }
  const upper = node.upper!;
  const at = (level - 1) * LINK_STRIDE;
  upper[at] = target;
  upper[at + 1] = high;
  upper[at + 2] = low;
}

function newUpperLinks(levels: number): UpperLinks | null {
  if (levels <= 1) return null;
  const upper: UpperLinks = new Array<SkipNode | number | null>((levels - 1) * LINK_STRIDE);
  for (let i = 0; i < upper.length; i += LINK_STRIDE) {
    upper[i] = null;
    upper[i + 1] = 0;
    upper[i + 2] = 0;
  }
  return upper;
}

const INDEX_CAPACITY_MIN = 16;

/**
 * Open-addressing hash table of the list's nodes, keyed by their keys: linear probing, at most
 * half full (so an unsuccessful probe sequence is short), deletion by backward shifting (no
 * tombstones, so probe sequences never lengthen with churn). Every probe loop is bounded by the
 * capacity.
 */
class NodeIndex {
  private slots: (SkipNode | null)[] = new Array<SkipNode | null>(INDEX_CAPACITY_MIN).fill(null);
  private mask = INDEX_CAPACITY_MIN - 1;

  find(search: SearchKey): SkipNode | null {
    const slots = this.slots;
    const mask = this.mask;
    const hash = search.hash;
    let slot = hash & mask;
    for (let probes = 0; probes <= mask; probes++) {
      const node = slots[slot]!;
      if (node === null) return null;
      if (node.hash === hash && sameKey(node, search)) return node;
      slot = (slot + 1) & mask;
    }
    return null;
  }

  /** Adds a node whose key is not present; `count` is the number of keys after adding it. */
  add(node: SkipNode, count: number): void {
    if (count * 2 > this.slots.length) this.grow();
    this.place(node);
  }

  remove(node: SkipNode): void {
    const slots = this.slots;
    const mask = this.mask;
    let hole = node.hash & mask;
    for (let probes = 0; slots[hole] !== node; probes++) {
      if (probes > mask) throw new Error('skiplist index: removing a node that is not indexed');
      hole = (hole + 1) & mask;
    }
    // Backward shift: pull later members of the probe run into the hole when their home slot
    // does not lie (cyclically) after the hole, so every node stays reachable from its home.
    slots[hole] = null;
    let slot = hole;
    for (let probes = 0; probes <= mask; probes++) {
      slot = (slot + 1) & mask;
      const moving = slots[slot]!;
      if (moving === null) return;
      const home = moving.hash & mask;
      const homeInRun = hole <= slot ? hole < home && home <= slot : hole < home || home <= slot;
      if (homeInRun) continue;
      slots[hole] = moving;
      slots[slot] = null;
      hole = slot;
    }
  }

  clear(): void {
    this.slots = new Array<SkipNode | null>(INDEX_CAPACITY_MIN).fill(null);
    this.mask = INDEX_CAPACITY_MIN - 1;
  }

  private place(node: SkipNode): void {
    const slots = this.slots;
    const mask = this.mask;
    let slot = node.hash & mask;
    while (slots[slot] !== null) slot = (slot + 1) & mask; // ends: the table is at most half full
    slots[slot] = node;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Array<SkipNode | null>(old.length * 2).fill(null);
    this.mask = old.length * 2 - 1;
    for (const node of old) if (node !== null) this.place(node);
  }
}

export class SkipList implements OrderedMap {
  private readonly head: SkipNode;
  /** Scratch search path: update[i] is the last node at level i whose key is < the search key. */
  private readonly update: SkipNode[];
  /** Levels currently in use (1 ≤ level ≤ SKIPLIST_LEVEL_MAX). */
  private level = 1;
  private count = 0;
  /** Reused for every operation's key, so searching allocates nothing. */
  private readonly search = new SearchKey();
  private readonly index = new NodeIndex();

  constructor(private readonly prng: Prng) {
    this.head = new SkipNode(new Uint8Array(0), new Uint8Array(0), 0, newUpperLinks(SKIPLIST_LEVEL_MAX));
    this.update = new Array<SkipNode>(SKIPLIST_LEVEL_MAX).fill(this.head);
  }

  get size(): number {
    return this.count;
  }

  get(key: Uint8Array): VersionedValue | undefined {
    const node = this.index.find(this.search.set(key));
    return node === null ? undefined : { value: node.value, version: node.version };
  }

  put(key: Uint8Array, value: Uint8Array, version: number): number {
    checkVersion(version);
    const search = this.search.set(key);
    const found = this.index.find(search);
    if (found !== null) {
      const previousLength = found.value.length;
      found.value = copyBytes(value);
      found.version = version;
      return previousLength;
    }
    this.findGreaterOrEqual(search, true);
    const nodeLevel = this.randomLevel();
    if (nodeLevel > this.level) {
      for (let i = this.level; i < nodeLevel; i++) this.update[i] = this.head;
      this.level = nodeLevel;
    }
    const node = new SkipNode(copyBytes(key), copyBytes(value), version, newUpperLinks(nodeLevel));
    const update = this.update;
    for (let i = 0; i < nodeLevel; i++) {
      const predecessor = update[i]!;
      setNext(node, i, nextAt(predecessor, i));
      setNext(predecessor, i, node);
    }
    this.count++;
    this.index.add(node, this.count);
    return ABSENT;
  }

  delete(key: Uint8Array): number {
    const search = this.search.set(key);
    const found = this.index.find(search);
    if (found === null) return ABSENT;
    this.findGreaterOrEqual(search, true);
    const update = this.update;
    const foundLevel = levelOf(found);
    for (let i = 0; i < foundLevel; i++) {
      const predecessor = update[i]!;
      if (nextAt(predecessor, i) === found) setNext(predecessor, i, nextAt(found, i));
    }
    while (this.level > 1 && nextAt(this.head, this.level - 1) === null) this.level--;
    this.index.remove(found);
    this.count--;
    return found.value.length;
  }

  scan(startInclusive: Uint8Array, endExclusive: Uint8Array | null, limit: number): KeyValueVersion[] {
    const result: KeyValueVersion[] = [];
    if (limit <= 0) return result;
    let node = this.findGreaterOrEqual(this.search.set(startInclusive), false);
    while (node !== null && result.length < limit) {
      if (endExclusive !== null && compareBytes(node.key, endExclusive) >= 0) break;
      result.push({ key: node.key, value: node.value, version: node.version });
      node = node.next0;
    }
    return result;
  }

  *entries(): IterableIterator<KeyValueVersion> {
    let node = this.head.next0;
    while (node !== null) {
      yield { key: node.key, value: node.value, version: node.version };
      node = node.next0;
    }
  }

  clear(): void {
    for (let i = 0; i < SKIPLIST_LEVEL_MAX; i++) setNext(this.head, i, null);
    this.update.fill(this.head);
    this.index.clear();
    this.level = 1;
    this.count = 0;
  }

  /**
   * The first node whose key is ≥ `key`, or null. With `recordPath`, leaves the predecessors at
   * every level in `this.update` for an insert or unlink.
   */
  private findGreaterOrEqual(search: SearchKey, recordPath: boolean): SkipNode | null {
    const prefixHigh = search.prefixHigh;
    const prefixLow = search.prefixLow;
    const update = this.update;
    let node = this.head;
    // A node already found ≥ the key on a higher level need not be compared again on the lower ones.
    let knownNotLess: SkipNode | null = null;
    for (let i = this.level - 1; i >= 1; i--) {
      const at = (i - 1) * LINK_STRIDE;
      // Every node reached at level i takes part in level i, so it has upper links.
      let upper = node.upper!;
      let next = upper[at] as SkipNode | null;
      while (next !== null && next !== knownNotLess) {
        const nextHigh = upper[at + 1] as number;
        let nextIsLess: boolean;
        if (nextHigh !== prefixHigh) {
          nextIsLess = nextHigh < prefixHigh;
        } else {
          const nextLow = upper[at + 2] as number;
          nextIsLess = nextLow !== prefixLow ? nextLow < prefixLow : compareTail(next, search) < 0;
        }
        if (!nextIsLess) break;
        node = next;
        upper = node.upper!;
        next = upper[at] as SkipNode | null;
      }
      knownNotLess = next;
      if (recordPath) update[i] = node;
    }
    let next = node.next0;
    while (next !== null && next !== knownNotLess) {
      const nextHigh = node.next0High;
      let nextIsLess: boolean;
      if (nextHigh !== prefixHigh) {
        nextIsLess = nextHigh < prefixHigh;
      } else {
        const nextLow = node.next0Low;
        nextIsLess = nextLow !== prefixLow ? nextLow < prefixLow : compareTail(next, search) < 0;
      }
      if (!nextIsLess) break;
      node = next;
      next = node.next0;
    }
    if (recordPath) update[0] = node;
    return next;
  }

  /** 1 + the number of leading pairs of zero bits in one draw: P(level > k) = 4^-k, capped at 16. */
  private randomLevel(): number {
    let bits = this.prng.nextUint32();
    let nodeLevel = 1;
    while (nodeLevel < SKIPLIST_LEVEL_MAX && (bits & 3) === 0) {
      nodeLevel++;
      bits >>>= 2;
    }
    return nodeLevel;
  }
}

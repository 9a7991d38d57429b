// An ordered map on a skip list (Pugh 1990) living on the JS heap: the single-threaded default
// OrderedMap. Keys compare as unsigned bytes (Buffer.compare order).
//
// Shape, chosen for speed in V8 (src/bench/micro/kv.ts measures it). Once the map outgrows the
// CPU caches a search costs what its dependent memory loads cost, so the layout minimises them:
//   - each node has one `links` array holding, per level, the next node *and that node's key
//     prefix* (two int32 words, see prefixWord). Deciding whether to step forward reads only the
//     current node's array; the next node, its key object and its key bytes are touched only when
//     the prefixes tie or the search moves there;
//   - prefixes that tie fall back to a hand loop over the bytes, which for short keys beats
//     Buffer.compare, whose native call costs more than the comparison;
//   - the search path ("update" array) is allocated once per map and reused, so get and replace
//     allocate only their result / the copied value;
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

/** Per level: [next node | null, its prefixHigh, its prefixLow]. */
const LINK_STRIDE = 3;
type Links = (SkipNode | number | null)[];

class SkipNode {
  /** The key's bytes 0-3 and 4-7 as order-preserving int32s (see prefixWord). */
  readonly prefixHigh: number;
  readonly prefixLow: number;
  constructor(
    readonly key: Uint8Array,
    public value: Uint8Array,
    public version: number,
    /** LINK_STRIDE entries per level the node takes part in. */
    readonly links: Links,
  ) {
    this.prefixHigh = prefixWord(key, 0);
    this.prefixLow = prefixWord(key, 4);
  }
}

/**
 * Four key bytes from `offset` (zero-padded past the end), big-endian, with the sign bit flipped
 * so that signed int32 order equals unsigned byte order. An int32 is a small integer in V8, held
 * inline in the array or object, so comparing prefixes loads no key. Zero padding keeps the order
 * consistent: keys whose prefixes differ compare in byte order; equal prefixes fall back to the
 * full comparison (a key shorter than 8 bytes ties with one that continues with zero bytes).
 */
function prefixWord(key: Uint8Array, offset: number): number {
  const length = key.length;
  const b0 = offset < length ? key[offset]! : 0;
  const b1 = offset + 1 < length ? key[offset + 1]! : 0;
  const b2 = offset + 2 < length ? key[offset + 2]! : 0;
  const b3 = offset + 3 < length ? key[offset + 3]! : 0;
  return ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) ^ 0x80000000;
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

/** Whether `node` holds exactly `key`. */
function sameKey(node: SkipNode, key: Uint8Array): boolean {
  return node.key.length === key.length && compareBytes(node.key, key) === 0;
}

function nodeAt(links: Links, level: number): SkipNode | null {
  return links[level * LINK_STRIDE] as SkipNode | null;
}

/** Makes links[level] point at `node` (or null), with its prefix copied alongside. */
function setLink(links: Links, level: number, node: SkipNode | null): void {
  const at = level * LINK_STRIDE;
  links[at] = node;
  links[at + 1] = node === null ? 0 : node.prefixHigh;
  links[at + 2] = node === null ? 0 : node.prefixLow;
}

function newLinks(levels: number): Links {
  const links: Links = new Array<SkipNode | number | null>(levels * LINK_STRIDE);
  for (let i = 0; i < levels; i++) setLink(links, i, null);
  return links;
}

export class SkipList implements OrderedMap {
  private readonly head: SkipNode;
  /** Scratch search path: update[i] is the last node at level i whose key is < the search key. */
  private readonly update: SkipNode[];
  /** Levels currently in use (1 ≤ level ≤ SKIPLIST_MAX_LEVEL). */
  private level = 1;
  private count = 0;

  constructor(private readonly prng: Prng) {
    this.head = new SkipNode(new Uint8Array(0), new Uint8Array(0), 0, newLinks(SKIPLIST_MAX_LEVEL));
    this.update = new Array<SkipNode>(SKIPLIST_MAX_LEVEL).fill(this.head);
  }

  get size(): number {
    return this.count;
  }

  get(key: Uint8Array): VersionedValue | undefined {
    const node = this.findGreaterOrEqual(key, false);
    if (node === null || !sameKey(node, key)) return undefined;
    return { value: node.value, version: node.version };
  }

  put(key: Uint8Array, value: Uint8Array, version: number): void {
    checkVersion(version);
    const found = this.findGreaterOrEqual(key, true);
    if (found !== null && sameKey(found, key)) {
      found.value = copyBytes(value);
      found.version = version;
      return;
    }
    const nodeLevel = this.randomLevel();
    if (nodeLevel > this.level) {
      for (let i = this.level; i < nodeLevel; i++) this.update[i] = this.head;
      this.level = nodeLevel;
    }
    const links: Links = new Array<SkipNode | number | null>(nodeLevel * LINK_STRIDE);
    const node = new SkipNode(copyBytes(key), copyBytes(value), version, links);
    const update = this.update;
    for (let i = 0; i < nodeLevel; i++) {
      const predecessorLinks = update[i]!.links;
      const at = i * LINK_STRIDE;
      links[at] = predecessorLinks[at]!;
      links[at + 1] = predecessorLinks[at + 1]!;
      links[at + 2] = predecessorLinks[at + 2]!;
      setLink(predecessorLinks, i, node);
    }
    this.count++;
  }

  delete(key: Uint8Array): boolean {
    const found = this.findGreaterOrEqual(key, true);
    if (found === null || !sameKey(found, key)) return false;
    const update = this.update;
    const foundLinks = found.links;
    const foundLevel = foundLinks.length / LINK_STRIDE;
    for (let i = 0; i < foundLevel; i++) {
      const predecessorLinks = update[i]!.links;
      if (nodeAt(predecessorLinks, i) === found) setLink(predecessorLinks, i, nodeAt(foundLinks, i));
    }
    while (this.level > 1 && nodeAt(this.head.links, this.level - 1) === null) this.level--;
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
      node = nodeAt(node.links, 0);
    }
    return result;
  }

  *entries(): IterableIterator<KeyValueVersion> {
    let node = nodeAt(this.head.links, 0);
    while (node !== null) {
      yield { key: node.key, value: node.value, version: node.version };
      node = nodeAt(node.links, 0);
    }
  }

  clear(): void {
    for (let i = 0; i < SKIPLIST_MAX_LEVEL; i++) setLink(this.head.links, i, null);
    this.update.fill(this.head);
    this.level = 1;
    this.count = 0;
  }

  /**
   * The first node whose key is ≥ `key`, or null. With `recordPath`, leaves the predecessors at
   * every level in `this.update` for an insert or unlink.
   */
  private findGreaterOrEqual(key: Uint8Array, recordPath: boolean): SkipNode | null {
    const prefixHigh = prefixWord(key, 0);
    const prefixLow = prefixWord(key, 4);
    const update = this.update;
    let node = this.head;
    let links = node.links;
    // A node already found ≥ key on a higher level need not be compared again on the lower ones.
    let knownNotLess: SkipNode | null = null;
    for (let i = this.level - 1; i >= 0; i--) {
      const at = i * LINK_STRIDE;
      let next = links[at] as SkipNode | null;
      while (next !== null && next !== knownNotLess) {
        const nextHigh = links[at + 1] as number;
        let nextIsLess: boolean;
        if (nextHigh !== prefixHigh) {
          nextIsLess = nextHigh < prefixHigh;
        } else {
          const nextLow = links[at + 2] as number;
          nextIsLess = nextLow !== prefixLow ? nextLow < prefixLow : compareBytes(next.key, key) < 0;
        }
        if (!nextIsLess) break;
        node = next;
        links = node.links;
        next = links[at] as SkipNode | null;
      }
      knownNotLess = next;
      if (recordPath) update[i] = node;
    }
    return links[0] as SkipNode | null;
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

// Where a skip-list node's fields sit inside its arena block, and the read-only walk over nodes
// that both the writer thread and reader workers use. No locking here: callers hold the lock
// (readers) or are the only thread that mutates (the writer).
//
// A node is one block, 8-byte aligned, read as uint32 words w+0 … and bytes 4·w …:
//
//   byte  0  word 0  valueRef        arena reference of the value block (0 when the value is empty)
//   byte  4  word 1  valueLength     bytes of value
//   byte  8  word 2  versionLow      version mod 2^32
//   byte 12  word 3  versionHigh     floor(version / 2^32) (versions are safe integers < 2^53)
//   byte 16  word 4  meta            level (bits 0–7) | size class (bits 8–15) | keyLength (bits 16–31)
//   byte 20  word 5  forward[0]      arena reference of the next node at level 0 (0 = end)
//            …       forward[level−1]
//   byte 20 + 4·level                key bytes (keyLength of them)
//   padding up to the block's size class
//
// The key lives in the node (it never changes for the node's life); the value lives in its own
// block so that a replace swaps one reference instead of relinking the node. The head node has
// the maximum level and an empty key and is never compared.

import { CONTROL, NULL_REF, type ArenaView } from './arena.js';
import type { KeyValueVersion, VersionedValue } from '../ordered-map.js';

export const NODE_VALUE_REF = 0;
export const NODE_VALUE_LENGTH = 1;
export const NODE_VERSION_LOW = 2;
export const NODE_VERSION_HIGH = 3;
export const NODE_META = 4;
export const NODE_FORWARD = 5;
export const NODE_HEADER_BYTES = NODE_FORWARD * 4;

export const LEVEL_MAX = 16;
export const KEY_BYTES_MAX = 0xffff;

const TWO_POW_32 = 4294967296;

export function nodeBytes(level: number, keyLength: number): number {
  return NODE_HEADER_BYTES + 4 * level + keyLength;
}

export function metaOf(level: number, sizeClass: number, keyLength: number): number {
  return (level | (sizeClass << 8) | (keyLength << 16)) >>> 0;
}

/**
 * Walks nodes in an ArenaView. `ensureSegments` is called once per operation so that a reader can
 * attach segments the writer added since its last operation.
 */
export class NodeWalker {
  constructor(readonly view: ArenaView) {}

  wordsOf(ref: number): Uint32Array {
    return this.view.segmentWords[ref >>> this.view.unitBits]!;
  }

  wordIndexOf(ref: number): number {
    return (ref & this.view.unitMask) << 1;
  }

  forward(ref: number, level: number): number {
    return this.wordsOf(ref)[this.wordIndexOf(ref) + NODE_FORWARD + level]!;
  }

  /** Unsigned lexicographic comparison of node `ref`'s key with `key` (sign of node − key). */
  compareNodeKey(ref: number, key: Uint8Array): number {
    const view = this.view;
    const segment = ref >>> view.unitBits;
    const wordIndex = (ref & view.unitMask) << 1;
    const meta = view.segmentWords[segment]![wordIndex + NODE_META]!;
    const level = meta & 0xff;
    const nodeKeyLength = meta >>> 16;
    const bytes = view.segmentBytes[segment]!;
    const keyStart = (wordIndex + NODE_FORWARD + level) << 2;
    const keyLength = key.length;
    const common = nodeKeyLength < keyLength ? nodeKeyLength : keyLength;
    for (let i = 0; i < common; i++) {
      const difference = bytes[keyStart + i]! - key[i]!;
      if (difference !== 0) return difference;
    }
    return nodeKeyLength - keyLength;
  }

  headRef(): number {
    return this.view.controlWords[CONTROL.HEAD_REF]!;
  }

  topLevel(): number {
    return this.view.controlWords[CONTROL.TOP_LEVEL]!;
  }

  keyCount(): number {
    return this.view.controlWords[CONTROL.KEY_COUNT]!;
  }

  /** The first node whose key is ≥ key, or NULL_REF. */
  findGreaterOrEqual(key: Uint8Array): number {
    let node = this.headRef();
    for (let level = this.topLevel() - 1; level >= 0; level--) {
      let next = this.forward(node, level);
      while (next !== NULL_REF && this.compareNodeKey(next, key) < 0) {
        node = next;
        next = this.forward(node, level);
      }
    }
    return this.forward(node, 0);
  }

  /** The node whose key equals key, or NULL_REF. */
  find(key: Uint8Array): number {
    const candidate = this.findGreaterOrEqual(key);
    return candidate !== NULL_REF && this.compareNodeKey(candidate, key) === 0 ? candidate : NULL_REF;
  }

  version(ref: number): number {
    const words = this.wordsOf(ref);
    const index = this.wordIndexOf(ref);
    return words[index + NODE_VERSION_HIGH]! * TWO_POW_32 + words[index + NODE_VERSION_LOW]!;
  }

  /** A copy of the node's key. */
  keyCopy(ref: number): Uint8Array {
    const view = this.view;
    const segment = ref >>> view.unitBits;
    const wordIndex = (ref & view.unitMask) << 1;
    const meta = view.segmentWords[segment]![wordIndex + NODE_META]!;
    const keyStart = (wordIndex + NODE_FORWARD + (meta & 0xff)) << 2;
    return view.segmentBytes[segment]!.slice(keyStart, keyStart + (meta >>> 16));
  }

  /** A copy of the node's value. */
  valueCopy(ref: number): Uint8Array {
    const words = this.wordsOf(ref);
    const index = this.wordIndexOf(ref);
    const valueLength = words[index + NODE_VALUE_LENGTH]!;
    if (valueLength === 0) return new Uint8Array(0);
    const valueRef = words[index + NODE_VALUE_REF]!;
    const view = this.view;
    const start = (valueRef & view.unitMask) << 3;
    return view.segmentBytes[valueRef >>> view.unitBits]!.slice(start, start + valueLength);
  }

  versionedValue(ref: number): VersionedValue {
    return { value: this.valueCopy(ref), version: this.version(ref) };
  }

  keyValueVersion(ref: number): KeyValueVersion {
    return { key: this.keyCopy(ref), value: this.valueCopy(ref), version: this.version(ref) };
  }

  get(key: Uint8Array): VersionedValue | undefined {
    const node = this.find(key);
    return node === NULL_REF ? undefined : this.versionedValue(node);
  }

  scan(startInclusive: Uint8Array, endExclusive: Uint8Array | null, limit: number): KeyValueVersion[] {
    const result: KeyValueVersion[] = [];
    if (limit <= 0) return result;
    let node = this.findGreaterOrEqual(startInclusive);
    // Bounded by limit and by the list's length.
    while (node !== NULL_REF && result.length < limit) {
      if (endExclusive !== null && this.compareNodeKey(node, endExclusive) >= 0) break;
      result.push(this.keyValueVersion(node));
      node = this.forward(node, 0);
    }
    return result;
  }
}

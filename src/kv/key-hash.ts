// Key hashing and order-preserving key words, shared by the heap skip list (src/kv/skiplist.ts)
// and the shared-memory skip list's point index (src/kv/shared/point-index.ts). The subtle part:
// prefixWord's words compare as signed int32 in the same order as the key bytes compare unsigned,
// so a skip list can order keys by their first words without loading the key.

/**
 * Four key bytes from `offset` (zero-padded past the end), big-endian, with the sign bit flipped
 * so that signed int32 order equals unsigned byte order. An int32 is a small integer in V8, held
 * inline in the array or object, so comparing prefixes loads no key. Zero padding keeps the order
 * consistent: keys whose prefixes differ compare in byte order; equal prefixes fall back to the
 * full comparison (a key shorter than 8 bytes ties with one that continues with zero bytes).
 */
export function prefixWord(key: Uint8Array, offset: number): number {
  const length = key.length;
  const b0 = offset < length ? key[offset]! : 0;
  const b1 = offset + 1 < length ? key[offset + 1]! : 0;
  const b2 = offset + 2 < length ? key[offset + 2]! : 0;
  const b3 = offset + 3 < length ? key[offset + 3]! : 0;
  return ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) ^ 0x80000000;
}

/**
 * A 32-bit hash of the whole key (murmur3-style mixing of its 4-byte words, then the length):
 * the words of the first 16 bytes are already at hand, longer keys continue over the rest so that
 * keys sharing a 16-byte prefix still spread.
 */
export function hashKey(key: Uint8Array, word0: number, word1: number, word2: number, word3: number): number {
  let h = mixWord(0x2545f491, word0);
  h = mixWord(h, word1);
  h = mixWord(h, word2);
  h = mixWord(h, word3);
  for (let offset = 16; offset < key.length; offset += 4) h = mixWord(h, prefixWord(key, offset));
  h ^= key.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function mixWord(h: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** hashKey from the key bytes alone (when the prefix words are not at hand). */
export function hashKeyBytes(key: Uint8Array): number {
  return hashKey(key, prefixWord(key, 0), prefixWord(key, 4), prefixWord(key, 8), prefixWord(key, 12));
}

// Chained prefix hashes over a log: hash(i) = mix(hash(i-1), index, term, data). Two logs whose
// prefix hashes agree at index i hold the same entries 1..i (up to a 2^-53 collision chance), so
// comparing one number replaces comparing whole log prefixes. The state machines in the
// simulation keep the same chain over what they applied, so a snapshot carries the prefix hash of
// the log it replaces.

import type { Entry } from '../raft/types.js';

const TWO_POW_32 = 4294967296;

/** The prefix hash of the empty log (index 0). */
export const EMPTY_LOG_HASH = 0;

function mix32(state: number, value: number): number {
  let h = Math.imul(state ^ value, 0x5bd1e995);
  h ^= h >>> 15;
  return Math.imul(h, 0x27d4eb2f);
}

/** A 32-bit hash of an entry's payload (FNV-1a), for cheap equality records. */
export function hashPayload(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h >>> 0;
}

/** The prefix hash after appending `entry` to a log whose prefix hash was `previousHash`. */
export function chainHash(previousHash: number, entry: Entry): number {
  let low = previousHash >>> 0;
  let high = Math.floor(previousHash / TWO_POW_32) | 0;
  const payload = hashPayload(entry.data);
  low = mix32(low, entry.index | 0);
  low = mix32(low, entry.term | 0);
  low = mix32(low, payload);
  high = mix32(high ^ 0x9e3779b9, payload ^ entry.data.length);
  high = mix32(high, entry.term ^ (entry.index * 31));
  high = mix32(high, low);
  // 32 + 21 bits: stays an exact integer in a double.
  return (low >>> 0) + (high >>> 11) * TWO_POW_32;
}

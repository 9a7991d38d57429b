// The memory of Lowe's cache: every (set of linearized operations, model state) the search has
// reached, so that reaching one again can be cut.
//
// The subtle thing is size: a failing search may store hundreds of thousands of entries, so they
// live in flat typed arrays — entry i's bitset is `bits[i * words … (i + 1) * words)`, entries
// with the same hash are chained through `chain` — a few bytes per operation per entry instead of
// an object and a bitset copy each. The caller supplies the hash (Zobrist over the set, mixed with
// the state's), since it can keep it up to date in O(1) per step.

import type { KeyState } from './kv-model.js';

const NONE = -1;

export class VisitedStates {
  private readonly heads = new Map<number, number>();
  private chain = new Int32Array(256);
  private values = new Int32Array(256);
  private versions = new Float64Array(256);
  private versionFloors = new Float64Array(256);
  private bits: Uint32Array;
  private count = 0;

  constructor(private readonly words: number) {
    this.bits = new Uint32Array(256 * words);
  }

  get size(): number {
    return this.count;
  }

  /** The memory the arrays take (they grow by doubling). */
  get bytes(): number {
    return this.chain.length * (4 + 4 + 8 + 8) + this.bits.byteLength;
  }

  /** Whether the pair is there (`words` 32-bit words of bitset, `hash` as the caller computes it). */
  has(linearized: Uint32Array, hash: number, state: KeyState): boolean {
    const words = this.words;
    for (let entry = this.heads.get(hash) ?? NONE; entry !== NONE; entry = this.chain[entry]!) {
      if (this.values[entry] !== state.value || this.versions[entry] !== state.version || this.versionFloors[entry] !== state.versionFloor) continue;
      const base = entry * words;
      let word = 0;
      while (word < words && this.bits[base + word] === linearized[word]) word++;
      if (word === words) return true;
    }
    return false;
  }

  /** Adds the pair; false if it was already there. */
  addIfAbsent(linearized: Uint32Array, hash: number, state: KeyState): boolean {
    if (this.has(linearized, hash, state)) return false;
    const head = this.heads.get(hash) ?? NONE;
    if (this.count === this.chain.length) this.grow();
    const entry = this.count++;
    this.chain[entry] = head;
    this.values[entry] = state.value;
    this.versions[entry] = state.version;
    this.versionFloors[entry] = state.versionFloor;
    this.bits.set(linearized, entry * this.words);
    this.heads.set(hash, entry);
    return true;
  }

  private grow(): void {
    const capacity = this.chain.length * 2;
    const grown = <T extends Int32Array | Float64Array | Uint32Array>(array: T, make: (length: number) => T, length: number): T => {
      const copy = make(length);
      copy.set(array);
      return copy;
    };
    this.chain = grown(this.chain, (length) => new Int32Array(length), capacity);
    this.values = grown(this.values, (length) => new Int32Array(length), capacity);
    this.versions = grown(this.versions, (length) => new Float64Array(length), capacity);
    this.versionFloors = grown(this.versionFloors, (length) => new Float64Array(length), capacity);
    this.bits = grown(this.bits, (length) => new Uint32Array(length), capacity * this.words);
  }
}

// The writer's point index over the shared skip list: key → node reference, so that a replace, a
// get on the writer thread and a delete of an absent key cost a hash and a probe or two instead of
// a search down the list (~2·log2 n dependent loads into shared memory). Only inserts and unlinks
// still search, because they need the path. Same table as the heap skip list's (open addressing,
// linear probing, at most half full, deletion by backward shift, no tombstones), held in two typed
// arrays: 8 bytes per slot, ≤ 16 bytes per key, on the writer's heap only (readers search the
// list). The subtle part: the table stores references, not keys, so equality is checked against
// the key bytes in the arena (`sameKey`), and a reference must be removed before its block is
// freed, or a later probe would compare against a reused block.

import { NULL_REF } from './arena.js';

const CAPACITY_MIN = 16;

export class PointIndex {
  private refs = new Uint32Array(CAPACITY_MIN);
  private hashes = new Int32Array(CAPACITY_MIN);
  private mask = CAPACITY_MIN - 1;
  private count = 0;

  /** @param sameKey whether node `ref` holds exactly `key` (reads the key in the arena). */
  constructor(private readonly sameKey: (ref: number, key: Uint8Array) => boolean) {}

  get size(): number {
    return this.count;
  }

  /** The node holding `key` (whose hash is `hash`), or NULL_REF. */
  find(key: Uint8Array, hash: number): number {
    const refs = this.refs;
    const hashes = this.hashes;
    const mask = this.mask;
    let slot = hash & mask;
    for (let probes = 0; probes <= mask; probes++) {
      const ref = refs[slot]!;
      if (ref === NULL_REF) return NULL_REF;
      if (hashes[slot] === hash && this.sameKey(ref, key)) return ref;
      slot = (slot + 1) & mask;
    }
    return NULL_REF;
  }

  /** Adds a node whose key is not indexed yet. */
  add(ref: number, hash: number): void {
    if ((this.count + 1) * 2 > this.refs.length) this.grow();
    this.place(ref, hash);
    this.count += 1;
  }

  remove(ref: number, hash: number): void {
    const refs = this.refs;
    const hashes = this.hashes;
    const mask = this.mask;
    let hole = hash & mask;
    for (let probes = 0; refs[hole] !== ref; probes++) {
      if (probes > mask) throw new Error('shared skip list point index: removing a node that is not indexed');
      hole = (hole + 1) & mask;
    }
    // Backward shift: pull later members of the probe run into the hole when their home slot
    // does not lie (cyclically) after the hole, so every node stays reachable from its home.
    refs[hole] = NULL_REF;
    this.count -= 1;
    let slot = hole;
    for (let probes = 0; probes <= mask; probes++) {
      slot = (slot + 1) & mask;
      const moving = refs[slot]!;
      if (moving === NULL_REF) return;
      const home = hashes[slot]! & mask;
      const homeInRun = hole <= slot ? hole < home && home <= slot : hole < home || home <= slot;
      if (homeInRun) continue;
      refs[hole] = moving;
      hashes[hole] = hashes[slot]!;
      refs[slot] = NULL_REF;
      hole = slot;
    }
  }

  clear(): void {
    this.refs = new Uint32Array(CAPACITY_MIN);
    this.hashes = new Int32Array(CAPACITY_MIN);
    this.mask = CAPACITY_MIN - 1;
    this.count = 0;
  }

  private place(ref: number, hash: number): void {
    const refs = this.refs;
    const mask = this.mask;
    let slot = hash & mask;
    while (refs[slot] !== NULL_REF) slot = (slot + 1) & mask; // ends: the table is at most half full
    refs[slot] = ref;
    this.hashes[slot] = hash;
  }

  private grow(): void {
    const oldRefs = this.refs;
    const oldHashes = this.hashes;
    const capacity = oldRefs.length * 2;
    this.refs = new Uint32Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let slot = 0; slot < oldRefs.length; slot++) if (oldRefs[slot] !== NULL_REF) this.place(oldRefs[slot]!, oldHashes[slot]!);
  }
}

// Key choosers: which existing record an operation touches, one per `keys.distribution`, each
// returning a key number below the key space's `readableCount` (so never a key whose insert has
// not been acknowledged).
//
//   uniform  every readable key alike, loaded and acknowledged-inserted ones (YCSB's uniform
//            chooser draws only from the loaded records; new keys are never read there)
//   zipfian  YCSB's ScrambledZipfianGenerator: a zipfian rank over an item space of the records
//            plus the inserts the run is expected to make, scattered by key = FNV-64(rank) mod
//            items, so the hot keys are spread over the key space instead of being keys 0, 1, 2 …
//            A key not yet readable is drawn again, as YCSB's nextKeynum does; fixing the item
//            space up front keeps the modulus, and so which keys are hot, stable as inserts land.
//   latest   YCSB's SkewedLatestGenerator: a zipfian rank r over the readable keys, key = newest − r,
//            so the most recently inserted keys are the most popular; the rank generator's item
//            count follows the readable count (ζ grows term by term)
//   hotspot  YCSB's HotspotIntegerGenerator over the loaded records: the first
//            ⌊recordCount × hotSetFraction⌋ key numbers are the hot set and take hotOperationFraction
//            of the operations, uniformly within; the rest take the remainder. With hashed keys the
//            hot key numbers are scattered over the key space like any others.
//
// The subtle thing is the scrambled zipfian's item space. YCSB draws ranks from 10^16 items with
// ζ taken from a constant precomputed for 10^10 items (ScrambledZipfianGenerator.ZETAN), then
// hashes modulo the record count: most of the probability mass then lands on ranks far beyond the
// record count and spreads nearly uniformly, so its hottest key gets about 4 % of the requests
// whatever θ says. Here ranks are drawn from exactly the item space, so the key popularity is
// zipfian(θ) over the records as the workload states; the price is that hashing n ranks onto n
// keys is not a permutation — some keys receive no rank and are never chosen (28 % of them at
// 100 000 records; 1/e for an ideal hash) and others receive two. The hot ranks, which carry
// the skew, land on distinct keys.

import type { Prng } from '../../random/prng.js';
import { fnvHash64, lastHashModulo } from './fnv.js';
import type { KeySpace } from './key-space.js';
import type { KeyDistribution } from './schema.js';
import { ZipfianGenerator } from './zipfian.js';

export interface KeyChooser {
  /** A readable key number, in [0, keySpace.readableCount). */
  next(): number;
}

/** Draws of a not-yet-readable key before the scrambled zipfian falls back (see below). */
const REDRAWS_MAX = 1000;

export interface KeyChooserOptions {
  readonly distribution: KeyDistribution;
  readonly keySpace: KeySpace;
  /** Item space of the scrambled zipfian: records plus expected inserts (≥ recordCount). */
  readonly zipfianItems: number;
  readonly prng: Prng;
}

export function createKeyChooser(options: KeyChooserOptions): KeyChooser {
  const { distribution, keySpace, prng } = options;
  switch (distribution.type) {
    case 'uniform':
      return { next: () => prng.nextInt(0, keySpace.readableCount) };
    case 'zipfian':
      return new ScrambledZipfianChooser(prng, keySpace, options.zipfianItems, distribution.theta);
    case 'latest':
      return new LatestChooser(prng, keySpace, distribution.theta);
    case 'hotspot':
      return new HotspotChooser(prng, keySpace.recordCount, distribution.hotSetFraction, distribution.hotOperationFraction);
  }
}

export class ScrambledZipfianChooser implements KeyChooser {
  private readonly ranks: ZipfianGenerator;
  private readonly items: number;

  constructor(prng: Prng, private readonly keySpace: KeySpace, items: number, theta: number) {
    this.items = Math.max(items, keySpace.recordCount);
    this.ranks = new ZipfianGenerator(prng, this.items, theta);
  }

  /** The key number of zipfian rank `rank` (rank 0 is the hottest). */
  keyNumberOfRank(rank: number): number {
    fnvHash64(rank);
    return lastHashModulo(this.items);
  }

  next(): number {
    const readable = this.keySpace.readableCount;
    let keyNumber = 0;
    for (let attempt = 0; attempt < REDRAWS_MAX; attempt++) {
      keyNumber = this.keyNumberOfRank(this.ranks.next());
      if (keyNumber < readable) return keyNumber;
    }
    // Only when nearly all of the item space is still unreadable (far more inserts expected than
    // made so far): fold the last draw into the readable range rather than loop on.
    return keyNumber % readable;
  }
}

export class LatestChooser implements KeyChooser {
  private readonly ranks: ZipfianGenerator;

  constructor(prng: Prng, private readonly keySpace: KeySpace, theta: number) {
    this.ranks = new ZipfianGenerator(prng, keySpace.readableCount, theta);
  }

  next(): number {
    const readable = this.keySpace.readableCount;
    this.ranks.resize(readable);
    return readable - 1 - this.ranks.next();
  }
}

export class HotspotChooser implements KeyChooser {
  readonly hotCount: number;
  private readonly coldCount: number;

  constructor(private readonly prng: Prng, recordCount: number, hotSetFraction: number, private readonly hotOperationFraction: number) {
    this.hotCount = Math.floor(recordCount * hotSetFraction);
    if (this.hotCount < 1) throw new RangeError(`hot set of ${recordCount} × ${hotSetFraction} holds no key`);
    this.coldCount = recordCount - this.hotCount;
  }

  next(): number {
    if (this.coldCount === 0 || this.prng.nextFloat() < this.hotOperationFraction) return this.prng.nextInt(0, this.hotCount);
    return this.hotCount + this.prng.nextInt(0, this.coldCount);
  }
}

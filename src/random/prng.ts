// A small seeded pseudo-random generator shared by everything that must replay exactly:
// the Raft core's election jitter, the skip list's level choice, the deterministic simulation's
// fault schedule and the workload generators. Math.random is never used on those paths, so one
// seed reproduces one run bit for bit.
//
// The generator is sfc32 (Chris Doty-Humphrey's "small fast counting" generator): 128 bits of
// state, passes PractRand to many terabytes, and needs only 32-bit integer arithmetic, which
// JavaScript does exactly. The seed is spread over the state with splitmix32 so that nearby
// seeds (1, 2, 3 …) give unrelated streams.

export interface Prng {
  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniformly distributed float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number;
  /** A uniformly distributed integer in [minInclusive, maxExclusive). */
  nextInt(minInclusive: number, maxExclusive: number): number;
  /** True with the given probability (0 ≤ probability ≤ 1). */
  chance(probability: number): boolean;
  /**
   * An independent generator derived from this one's stream, for giving each component
   * (each node, the network, the disk) its own stream so that adding draws in one does not
   * shift the others.
   */
  fork(): Prng;
}

const TWO_POW_32 = 4294967296;

function splitmix32(state: number): { value: number; next: number } {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  z = z ^ (z >>> 15);
  return { value: z >>> 0, next };
}

class Sfc32 implements Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    // Discard the first outputs: sfc32's early outputs are correlated with the seed words.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  nextInt(minInclusive: number, maxExclusive: number): number {
    if (!Number.isSafeInteger(minInclusive) || !Number.isSafeInteger(maxExclusive)) {
      throw new RangeError(`nextInt bounds must be safe integers, got [${minInclusive}, ${maxExclusive})`);
    }
    const span = maxExclusive - minInclusive;
    if (span <= 0) throw new RangeError(`nextInt needs min < max, got [${minInclusive}, ${maxExclusive})`);
    if (span <= TWO_POW_32) {
      // Rejection sampling removes the modulo bias a plain `% span` would have.
      const limit = TWO_POW_32 - (TWO_POW_32 % span);
      let x = this.nextUint32();
      while (x >= limit) x = this.nextUint32();
      return minInclusive + (x % span);
    }
    return minInclusive + Math.floor(this.nextFloat() * span);
  }

  chance(probability: number): boolean {
    if (probability <= 0) return false;
    if (probability >= 1) return true;
    return this.nextFloat() < probability;
  }

  fork(): Prng {
    return new Sfc32(this.nextUint32(), this.nextUint32(), this.nextUint32(), this.nextUint32());
  }
}

/** A generator whose whole stream is fixed by `seed` (any safe integer). */
export function createPrng(seed: number): Prng {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`PRNG seed must be a safe integer, got ${seed}`);
  // Fold the high bits in too so that seeds above 2^32 are not aliased onto smaller ones.
  let state = (seed ^ Math.floor(seed / TWO_POW_32)) | 0;
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    const step = splitmix32(state);
    words.push(step.value);
    state = step.next;
  }
  return new Sfc32(words[0]!, words[1]!, words[2]!, words[3]!);
}

// The zipfian rank generator behind every skewed choice (scrambled zipfian keys, `latest`, zipfian
// value sizes and scan lengths): rank r ∈ [0, n) with probability ∝ 1/(r+1)^θ, drawn with the
// algorithm of Gray et al., "Quickly Generating Billion-Record Synthetic Databases" (SIGMOD 1994),
// as YCSB's ZipfianGenerator does: one uniform draw u, ranks 0 and 1 by comparing u·ζ(n,θ) with
// 1 and 1 + 0.5^θ, every other rank from the closed form ⌊n·(η·u − η + 1)^α⌋ with α = 1/(1−θ)
// and η = (1 − (2/n)^(1−θ)) / (1 − ζ(2,θ)/ζ(n,θ)).
//
// Two subtle things.
// 1. Gray's closed form is an approximation beyond rank 1: ranks 0 and 1 get exactly their share,
//    but rank 2 gets about 19 % more than 1/3^θ/ζ(n,θ) at θ = 0.99, rank 9 about 3 % more, and
//    from rank 20 on every rank is within 2 % of its share (README.md has the table). YCSB's
//    generator has the same law; we keep it so that "zipfian 0.99" means here what it means there.
// 2. ζ(n,θ) = Σ_{i=1..n} i^−θ costs n powers if summed (YCSB warns of over a minute for 10^8
//    items, and hides it in its scrambled generator behind a constant precomputed for one item
//    count and θ = 0.99). Here the first ZETA_DIRECT_TERMS terms are summed and the rest is the
//    Euler–Maclaurin formula, exact to about 1e-15 relative for any n and θ, in constant time.
//    When the item count grows by a little (a `latest` chooser after each insert) the new terms
//    are added one by one, as YCSB does; by a lot, or when it shrinks, ζ is recomputed.

import type { Prng } from '../../random/prng.js';

/** Terms of ζ summed directly before the Euler–Maclaurin tail takes over. */
const ZETA_DIRECT_TERMS = 1024;
/** Growth of the item count up to which new ζ terms are added one by one rather than recomputed. */
const ZETA_INCREMENT_MAX = 4096;

/**
 * ζ(n, θ) = Σ_{i=1..n} i^−θ for a positive integer n and θ > 0: summed directly up to
 * ZETA_DIRECT_TERMS terms, with the Euler–Maclaurin formula (to the B6 term) for the rest.
 */
export function zeta(n: number, theta: number): number {
  const direct = Math.min(n, ZETA_DIRECT_TERMS);
  let sum = 0;
  // Smallest terms first, so the large ones do not swallow their rounding.
  for (let i = direct; i >= 1; i--) sum += Math.pow(i, -theta);
  if (n <= ZETA_DIRECT_TERMS) return sum;
  // Σ_{i=a+1..b} f(i) for f(x) = x^−θ, a = ZETA_DIRECT_TERMS, b = n:
  //   ∫_a^b f + (f(b) − f(a))/2 + (f'(b) − f'(a))/12 − (f'''(b) − f'''(a))/720 + (f⁽⁵⁾(b) − f⁽⁵⁾(a))/30240
  const a = ZETA_DIRECT_TERMS;
  const b = n;
  // ∫_a^b x^−θ dx = a^(1−θ)·expm1((1−θ)·ln(b/a))/(1−θ): stable as θ approaches 1.
  const oneMinusTheta = 1 - theta;
  const integral = (Math.pow(a, oneMinusTheta) * Math.expm1(oneMinusTheta * Math.log(b / a))) / oneMinusTheta;
  const f = (x: number): number => Math.pow(x, -theta);
  const d1 = (x: number): number => -theta * Math.pow(x, -theta - 1);
  const d3 = (x: number): number => -theta * (theta + 1) * (theta + 2) * Math.pow(x, -theta - 3);
  const d5 = (x: number): number => -theta * (theta + 1) * (theta + 2) * (theta + 3) * (theta + 4) * Math.pow(x, -theta - 5);
  const tail = integral + (f(b) - f(a)) / 2 + (d1(b) - d1(a)) / 12 - (d3(b) - d3(a)) / 720 + (d5(b) - d5(a)) / 30240;
  return sum + tail;
}

/** Ranks in [0, itemCount) drawn from Gray et al.'s zipfian law (see the file header). */
export class ZipfianGenerator {
  readonly theta: number;
  private readonly prng: Prng;
  private readonly alpha: number;
  private readonly zeta2: number;
  /** 1 + 0.5^θ: the threshold of u·ζ(n) below which the rank is 1. */
  private readonly rankOneThreshold: number;
  private itemCount: number;
  private zetaN: number;
  private eta: number;

  constructor(prng: Prng, itemCount: number, theta: number) {
    if (!(theta > 0) || theta === 1 || !Number.isFinite(theta)) throw new RangeError(`zipfian θ must be > 0 and != 1, got ${theta}`);
    checkItemCount(itemCount);
    this.prng = prng;
    this.theta = theta;
    this.alpha = 1 / (1 - theta);
    this.zeta2 = zeta(2, theta);
    this.rankOneThreshold = 1 + Math.pow(0.5, theta);
    this.itemCount = itemCount;
    this.zetaN = zeta(itemCount, theta);
    this.eta = this.etaFor(itemCount);
  }

  /** The item count ranks are currently drawn from. */
  get items(): number {
    return this.itemCount;
  }

  /** ζ(n, θ) for the current item count n. */
  get zetaOfItems(): number {
    return this.zetaN;
  }

  /** Changes the item count (YCSB's nextLong(itemcount)); cheap when it grows by a little. */
  resize(itemCount: number): void {
    if (itemCount === this.itemCount) return;
    checkItemCount(itemCount);
    if (itemCount > this.itemCount && itemCount - this.itemCount <= ZETA_INCREMENT_MAX) {
      let added = 0;
      for (let i = itemCount; i > this.itemCount; i--) added += Math.pow(i, -this.theta);
      this.zetaN += added;
    } else {
      this.zetaN = zeta(itemCount, this.theta);
    }
    this.itemCount = itemCount;
    // YCSB recomputes η from the item count it was constructed with; the law needs the current one.
    this.eta = this.etaFor(itemCount);
  }

  /** The next rank in [0, items): rank 0 is the most popular. */
  next(): number {
    const u = this.prng.nextFloat();
    const uz = u * this.zetaN;
    if (uz < 1) return 0;
    if (uz < this.rankOneThreshold) return this.itemCount > 1 ? 1 : 0;
    const rank = Math.floor(this.itemCount * Math.pow(this.eta * u - this.eta + 1, this.alpha));
    // In exact arithmetic the closed form stays in [2, n) on this branch; the clamps catch the
    // rounding at its two ends (worth about 1e-16 of the mass).
    return rank < 2 ? 2 : rank < this.itemCount ? rank : this.itemCount - 1;
  }

  private etaFor(itemCount: number): number {
    // With one or two items η is 0/0, and unused: u·ζ(n) is then always below 1 + 0.5^θ.
    if (itemCount <= 2) return 0;
    return (1 - Math.pow(2 / itemCount, 1 - this.theta)) / (1 - this.zeta2 / this.zetaN);
  }
}

function checkItemCount(itemCount: number): void {
  if (!Number.isSafeInteger(itemCount) || itemCount < 1) throw new RangeError(`zipfian item count must be a positive integer, got ${itemCount}`);
}

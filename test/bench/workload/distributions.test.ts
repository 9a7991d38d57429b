// The key and size distributions against theory, each at a fixed seed. How each tolerance was
// chosen is written next to it; support.ts says why fixed seeds and p = 0.001.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrng } from '../../../src/random/prng.js';
import { zeta, ZipfianGenerator } from '../../../src/bench/workload/zipfian.js';
import { createKeyChooser, HotspotChooser, LatestChooser, ScrambledZipfianChooser } from '../../../src/bench/workload/key-choosers.js';
import { KeySpace } from '../../../src/bench/workload/key-space.js';
import { createIntegerSampler } from '../../../src/bench/workload/integer-distribution.js';
import { binomialDeviations, chiSquare, chiSquareCritical001 } from './support.js';

function directZeta(n: number, theta: number): number {
  let sum = 0;
  for (let i = n; i >= 1; i--) sum += Math.pow(i, -theta);
  return sum;
}

test('ζ(n, θ) by Euler–Maclaurin matches the direct sum to 1e-12, θ near 1 included', () => {
  for (const theta of [0.2, 0.5, 0.99, 0.999999, 1.000001, 1.01, 1.5, 3]) {
    for (const n of [1, 2, 1000, 1024, 1025, 5000, 1_000_000]) {
      const direct = directZeta(n, theta);
      const relative = Math.abs(zeta(n, theta) - direct) / direct;
      assert.ok(relative < 1e-12, `θ ${theta}, n ${n}: ζ ${zeta(n, theta)} vs ${direct} (relative ${relative})`);
    }
  }
});

test("ζ(10^10, 0.99) is YCSB's precomputed ScrambledZipfianGenerator.ZETAN", () => {
  // YCSB computed this constant by summing 10^10 terms; Euler–Maclaurin gets it in microseconds.
  const ycsbZetan = 26.46902820178302;
  assert.ok(Math.abs(zeta(1e10, 0.99) - ycsbZetan) / ycsbZetan < 1e-11, `ζ ${zeta(1e10, 0.99)}`);
});

test('a growing or shrinking item count keeps ζ exact', () => {
  const generator = new ZipfianGenerator(createPrng(1), 10_000, 0.99);
  for (const items of [10_001, 10_100, 14_000, 200_000, 9_000, 9_001]) {
    generator.resize(items);
    const expected = directZeta(items, 0.99);
    assert.ok(Math.abs(generator.zetaOfItems - expected) / expected < 1e-12, `items ${items}`);
  }
});

/**
 * Gray et al.'s law, derived from the paper's formulas (not from the generator's code): rank 0
 * below u·ζ = 1, rank 1 below 1 + 0.5^θ, and rank k ≥ 2 where ⌊n·(ηu − η + 1)^α⌋ = k, i.e. for
 * u between U(k) and U(k+1) with U(k) = ((k/n)^(1/α) − 1 + η)/η.
 */
function grayLaw(n: number, theta: number, ranks: number): number[] {
  const zetaN = directZeta(n, theta);
  const alpha = 1 / (1 - theta);
  const eta = (1 - Math.pow(2 / n, 1 - theta)) / (1 - directZeta(2, theta) / zetaN);
  const branchStart = (1 + Math.pow(0.5, theta)) / zetaN;
  const boundary = (k: number): number => Math.max(branchStart, (Math.pow(k / n, 1 / alpha) - 1 + eta) / eta);
  const law = [1 / zetaN, Math.pow(0.5, theta) / zetaN];
  for (let k = 2; k < ranks; k++) law.push(boundary(k + 1) - boundary(k));
  return law;
}

function theoryLaw(n: number, theta: number, ranks: number): number[] {
  const zetaN = directZeta(n, theta);
  return Array.from({ length: ranks }, (_, rank) => Math.pow(rank + 1, -theta) / zetaN);
}

/** Counts of ranks 0 … top − 1 and of all others (last), over `draws` draws. */
function rankCounts(generator: { next(): number }, draws: number, top: number): number[] {
  const counts = new Array<number>(top + 1).fill(0);
  for (let i = 0; i < draws; i++) {
    const rank = generator.next();
    counts[rank < top ? rank : top]! += 1;
  }
  return counts;
}

test('zipfian ranks 0 and 1 have exactly the theoretical frequency 1/(r+1)^θ / ζ(n, θ)', () => {
  const draws = 400_000;
  for (const [n, theta] of [[100_000, 0.99], [1000, 0.5], [5000, 1.2]] as const) {
    const counts = rankCounts(new ZipfianGenerator(createPrng(11), n, theta), draws, 2);
    const theory = theoryLaw(n, theta, 2);
    // χ² over {rank 0, rank 1, the rest}: 2 degrees of freedom; 13.8 is the 0.001 point.
    const expected = [draws * theory[0]!, draws * theory[1]!, draws * (1 - theory[0]! - theory[1]!)];
    const statistic = chiSquare(counts, expected);
    assert.ok(statistic < 13.82, `n ${n}, θ ${theta}: χ² ${statistic.toFixed(1)} for counts ${counts} vs ${expected.map(Math.round)}`);
  }
});

test("zipfian top ranks follow Gray et al.'s law, which is within 20 % of 1/(r+1)^θ / ζ(n, θ) and converges to it", () => {
  const draws = 400_000;
  const top = 10;
  for (const [n, theta] of [[100_000, 0.99], [10_000, 0.5]] as const) {
    const counts = rankCounts(new ZipfianGenerator(createPrng(12), n, theta), draws, top);
    const law = grayLaw(n, theta, top);
    const expected = [...law.map((p) => p * draws), (1 - law.reduce((sum, p) => sum + p, 0)) * draws];
    const statistic = chiSquare(counts, expected);
    const critical = chiSquareCritical001(top);
    assert.ok(statistic < critical, `n ${n}, θ ${theta}: χ² ${statistic.toFixed(1)} ≥ ${critical.toFixed(1)}\ncounts ${counts}\nlaw    ${expected.map(Math.round)}`);
    // The approximation README.md documents: Gray's law against the exact zipfian law.
    const theory = theoryLaw(n, theta, top);
    const excess = law.map((p, rank) => p / theory[rank]! - 1);
    assert.ok(excess.every((e) => e >= -1e-12 && e < 0.2), `excess ${excess.map((e) => e.toFixed(3))}`);
    for (let rank = 3; rank < top; rank++) assert.ok(excess[rank]! < excess[rank - 1]!, `excess shrinks with rank: ${excess}`);
  }
});

test('zipfian sizes and scan lengths stay in min..max and favour min', () => {
  const sample = createIntegerSampler({ type: 'zipfian', min: 5, max: 50, theta: 0.99 }, createPrng(3));
  const counts = new Map<number, number>();
  for (let i = 0; i < 50_000; i++) {
    const value = sample();
    assert.ok(value >= 5 && value <= 50, `out of range: ${value}`);
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  assert.ok((counts.get(5) ?? 0) > (counts.get(6) ?? 0) && (counts.get(6) ?? 0) > (counts.get(20) ?? 0));
  assert.ok(counts.has(50), 'reaches max');
});

test('uniform keys cover the readable keys evenly (χ² over 20 buckets)', () => {
  const keySpace = new KeySpace(10_000);
  const chooser = createKeyChooser({ distribution: { type: 'uniform' }, keySpace, zipfianItems: 10_000, prng: createPrng(4) });
  const buckets = new Array<number>(20).fill(0);
  const draws = 200_000;
  for (let i = 0; i < draws; i++) {
    const keyNumber = chooser.next();
    assert.ok(keyNumber >= 0 && keyNumber < 10_000);
    buckets[Math.floor(keyNumber / 500)]! += 1;
  }
  const statistic = chiSquare(buckets, new Array<number>(20).fill(draws / 20));
  assert.ok(statistic < chiSquareCritical001(19), `χ² ${statistic.toFixed(1)}: ${buckets}`);
});

test('scrambled zipfian spreads the hot ranks: the hottest keys are the hashes of ranks 0…4 and not adjacent', () => {
  const recordCount = 100_000;
  const keySpace = new KeySpace(recordCount);
  const chooser = new ScrambledZipfianChooser(createPrng(5), keySpace, recordCount, 0.99);
  const hotKeys = Array.from({ length: 10 }, (_, rank) => chooser.keyNumberOfRank(rank));
  const sorted = [...hotKeys].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]! - sorted[i - 1]! > 1, `adjacent hot keys: ${sorted}`);
  assert.ok(sorted[9]! - sorted[0]! > recordCount / 2, `hot keys bunched in one region: ${sorted}`);

  const counts = new Map<number, number>();
  for (let i = 0; i < 200_000; i++) {
    const keyNumber = chooser.next();
    counts.set(keyNumber, (counts.get(keyNumber) ?? 0) + 1);
  }
  const byFrequency = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([keyNumber]) => keyNumber);
  // Ranks 0…4 are 8.3, 4.2, 2.8, 2.1, 1.7 % of 200 000 draws: each ≥ 20σ apart from the next.
  assert.deepEqual(byFrequency.slice(0, 5), hotKeys.slice(0, 5));
  // The hottest key's share is the exact rank-0 share 1/ζ(n, θ).
  assert.ok(binomialDeviations(counts.get(hotKeys[0]!)!, 200_000, 1 / zeta(recordCount, 0.99)) < 5);
});

test('scrambled zipfian with room for inserts draws again rather than name a key not yet inserted', () => {
  const keySpace = new KeySpace(1000);
  const chooser = new ScrambledZipfianChooser(createPrng(6), keySpace, 2000, 0.99);
  const unreadableHot = Array.from({ length: 50 }, (_, rank) => chooser.keyNumberOfRank(rank)).filter((k) => k >= 1000);
  assert.ok(unreadableHot.length > 0, 'some hot ranks fall beyond the loaded records');
  for (let i = 0; i < 50_000; i++) assert.ok(chooser.next() < 1000);
  for (let i = 0; i < 1000; i++) keySpace.acknowledgeInsert(keySpace.reserveInsert());
  const seen = new Set<number>();
  for (let i = 0; i < 50_000; i++) seen.add(chooser.next());
  assert.ok(unreadableHot.every((k) => seen.has(k)), 'once inserted, the hot keys beyond the load are chosen');
});

test('latest favours the newest keys: key newest−r has the zipfian share of rank r, and follows inserts', () => {
  const keySpace = new KeySpace(1000);
  const chooser = new LatestChooser(createPrng(7), keySpace, 0.99);
  const draws = 200_000;
  const count = (): Map<number, number> => {
    const counts = new Map<number, number>();
    for (let i = 0; i < draws; i++) {
      const keyNumber = chooser.next();
      assert.ok(keyNumber >= 0 && keyNumber < keySpace.readableCount, `not readable: ${keyNumber}`);
      counts.set(keyNumber, (counts.get(keyNumber) ?? 0) + 1);
    }
    return counts;
  };
  let counts = count();
  const zeta1000 = zeta(1000, 0.99);
  assert.ok(binomialDeviations(counts.get(999) ?? 0, draws, 1 / zeta1000) < 5, `newest key: ${counts.get(999)}`);
  assert.ok(binomialDeviations(counts.get(998) ?? 0, draws, Math.pow(0.5, 0.99) / zeta1000) < 5, `second newest: ${counts.get(998)}`);
  const newestHalf = [...counts].filter(([keyNumber]) => keyNumber >= 500).reduce((sum, [, n]) => sum + n, 0);
  assert.ok(newestHalf / draws > 0.9, `the newer half of the keys takes ${newestHalf / draws}`);

  // Ten inserts acknowledged, five more only reserved: the newest acknowledged key is now the hottest.
  for (let i = 0; i < 10; i++) keySpace.acknowledgeInsert(keySpace.reserveInsert());
  for (let i = 0; i < 5; i++) keySpace.reserveInsert();
  counts = count();
  const hottest = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  assert.equal(hottest, 1009);
  assert.ok(binomialDeviations(counts.get(1009)!, draws, 1 / zeta(1010, 0.99)) < 5);
});

test('hotspot sends the configured fraction of operations to the hot set, uniformly within each set', () => {
  // Hits on the hot set are Binomial(N, p): with N = 200 000 and p = 0.8, σ = √(p(1−p)/N) =
  // 0.089 percentage points. Allowing 5σ (0.45 points) passes a correct generator at all but
  // ~6e-7 of seeds; a generator off by one point — say one that picked the hot set with
  // probability 0.79, or made the hot set one key too small — is 11σ out.
  const recordCount = 100_000;
  const chooser = new HotspotChooser(createPrng(8), recordCount, 0.01, 0.8);
  assert.equal(chooser.hotCount, 1000);
  const draws = 200_000;
  let hot = 0;
  const hotBuckets = new Array<number>(10).fill(0);
  const coldBuckets = new Array<number>(10).fill(0);
  for (let i = 0; i < draws; i++) {
    const keyNumber = chooser.next();
    assert.ok(keyNumber >= 0 && keyNumber < recordCount);
    if (keyNumber < 1000) {
      hot++;
      hotBuckets[Math.floor(keyNumber / 100)]! += 1;
    } else {
      coldBuckets[Math.floor((keyNumber - 1000) / 9900)]! += 1;
    }
  }
  assert.ok(binomialDeviations(hot, draws, 0.8) < 5, `hot share ${hot / draws}`);
  assert.ok(chiSquare(hotBuckets, new Array<number>(10).fill(hot / 10)) < chiSquareCritical001(9), `hot set: ${hotBuckets}`);
  assert.ok(chiSquare(coldBuckets, new Array<number>(10).fill((draws - hot) / 10)) < chiSquareCritical001(9), `cold set: ${coldBuckets}`);
});

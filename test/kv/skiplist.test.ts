import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SkipList, compareBytes } from '../../src/kv/skiplist.js';
import { createPrng } from '../../src/random/prng.js';
import { orderedMapContract } from './ordered-map-contract.js';
import { ABSENT } from '../../src/kv/ordered-map.js';

orderedMapContract('SkipList', () => new SkipList(createPrng(1)));

describe('SkipList specifics', () => {
  test('compareBytes agrees with Buffer.compare in sign', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 }), (a, b) => {
        assert.equal(Math.sign(compareBytes(a, b)), Buffer.compare(a, b));
      }),
      { numRuns: 500 },
    );
  });

  test('put rejects a version that is not a positive safe integer, naming it', () => {
    const map = new SkipList(createPrng(2));
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      assert.throws(() => map.put(Uint8Array.of(1), Uint8Array.of(1), bad), /version must be a positive safe integer/);
    }
    assert.equal(map.size, 0);
  });

  test('long churn over a few hundred keys (point index wrap-around and backward-shift deletes) agrees with a Map', () => {
    const prng = createPrng(3);
    const map = new SkipList(createPrng(4));
    const model = new Map<number, number>();
    const keyOf = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff, 0, n % 7);
    for (let step = 1; step <= 20_000; step++) {
      const n = prng.nextInt(0, 400);
      const action = prng.nextInt(0, 3);
      if (action === 0) {
        assert.equal(map.put(keyOf(n), Uint8Array.of(n & 0xff), step), model.has(n) ? 1 : ABSENT, `step ${step}: put ${n}`);
        model.set(n, step);
      } else if (action === 1) {
        assert.equal(map.delete(keyOf(n)), model.delete(n) ? 1 : ABSENT, `step ${step}: delete ${n}`);
      } else {
        assert.equal(map.get(keyOf(n))?.version, model.get(n), `step ${step}: get ${n}`);
      }
      assert.equal(map.size, model.size);
    }
    for (let n = 0; n < 400; n++) assert.equal(map.get(keyOf(n))?.version, model.get(n), `final get ${n}`);
    assert.deepEqual(
      [...map.entries()].map((p) => p.version),
      [...model.entries()].sort((a, b) => a[0] - b[0]).map(([, version]) => version),
    );
  });

  test('the same seed and inserts consume the same level draws (replayable structure)', () => {
    const draws = (seed: number): number[] => {
      const prng = createPrng(seed);
      const seen: number[] = [];
      const recording = {
        nextUint32: () => {
          const x = prng.nextUint32();
          seen.push(x);
          return x;
        },
        nextFloat: () => prng.nextFloat(),
        nextInt: (a: number, b: number) => prng.nextInt(a, b),
        chance: (p: number) => prng.chance(p),
        fork: () => prng.fork(),
      };
      const map = new SkipList(recording);
      for (let i = 0; i < 200; i++) map.put(Uint8Array.of(i % 150), Uint8Array.of(i), i + 1);
      return seen;
    };
    const a = draws(7);
    assert.equal(a.length, 150, 'one draw per new key, none for a replace');
    assert.deepEqual(a, draws(7));
    assert.notDeepEqual(a, draws(8));
  });
});

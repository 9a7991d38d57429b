import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SkipList, compareBytes } from '../../src/kv/skiplist.js';
import { createPrng } from '../../src/raft/prng.js';
import { orderedMapContract } from './ordered-map-contract.js';

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

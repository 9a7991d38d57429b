// The linearizability checker on hand-written histories (each small enough to read as a
// timeline), on generated histories that are linearizable by construction, and on those same
// histories with one read made stale. Every failing case also checks that the reported minimal
// piece is itself not linearizable and that the explanation names the culprit.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HistoryFormatError, type Operation, describeOperation, formatHistory } from '../../src/check/kv-history.js';
import { type LinearizabilityResult, checkLinearizable } from '../../src/check/linearizability.js';
import { createPrng } from '../../src/random/prng.js';
import { type Command, type PlannedOperation, concurrentPlan, execute } from './history-generator.js';
import { history } from './history-script.js';
import { linearizableByBruteForce } from './brute-force-linearizability.js';

function assertLinearizable(operations: readonly Operation[]): void {
  const result = checkLinearizable(operations);
  assert.equal(result.ok, true, result.ok === false ? result.explanation : result.ok === 'unknown' ? result.reason : '');
}

/** Asserts a failure whose explanation matches every pattern; returns it. */
function assertNotLinearizable(operations: readonly Operation[], ...patterns: RegExp[]): Extract<LinearizabilityResult, { ok: false }> {
  const result = checkLinearizable(operations);
  if (result.ok !== false) assert.fail(`expected a violation, got ${JSON.stringify(result)}`);
  for (const pattern of patterns) assert.match(result.explanation, pattern);
  // The minimal piece must stand on its own, and be no bigger than what it came from.
  assert.equal(checkLinearizable(result.minimal).ok, false, `the minimal piece passes on its own:\n${result.explanation}`);
  assert.ok(result.minimal.length <= operations.length);
  return result;
}

describe('histories that are linearizable', () => {
  test('a sequential history of every kind of operation', () => {
    assertLinearizable(
      history(`
        c1  0  1  get k          -> absent
        c1  2  3  put k a        -> v1
        c1  4  5  get k          -> a v1
        c1  6  7  cas k v1 b     -> ok v2
        c1  8  9  cas k v1 c     -> mismatch v2
        c1 10 11  delete k       -> deleted v4
        c1 12 13  delete k       -> absent
        c1 14 15  cas k v0 d     -> ok v6
        c1 16 17  get k          -> d v6
      `),
    );
  });

  test('overlapping writes and reads that fit in some order (not the order of their calls)', () => {
    // b's put is called later but lands first (version 1); a's lands second (version 2). The
    // first read sees b, so it falls between them; the second sees a.
    assertLinearizable(
      history(`
        c1  0  10  put k a       -> v2
        c2  1   4  put k b       -> v1
        c3  2   5  get k         -> b v1
        c4  3  12  get k         -> a v2
        c5 11  13  get k         -> a v2
      `),
    );
  });

  test('a read concurrent with a write may see the value before or after it', () => {
    const before = `
        c1  0  1  put k a        -> v1
        c2  2  6  put k b        -> v2`;
    assertLinearizable(history(`${before}\n c3 3 4 get k -> a v1`));
    assertLinearizable(history(`${before}\n c3 3 4 get k -> b v2`));
  });

  test('operations that touch at one instant count as concurrent', () => {
    // The put responds at 1.0 ms, the get is called at 1.0 ms: the clock cannot order them.
    assertLinearizable(
      history(`
        c1  0  1  put k a        -> v1
        c2  1  2  get k          -> absent
      `),
    );
  });

  test('keys are independent; the ok result counts keys, operations and steps', () => {
    const result = checkLinearizable(
      history(`
        c1  0  1  put x a        -> v1
        c2  0  1  put y a        -> v1    # the same version on two keys is not checked
        c1  2  3  get x          -> a v1
        c2  2  3  get y          -> a v1
        c3  4  -  get y          -> ?     # a read without a response is dropped
      `),
    );
    assert.equal(result.ok, true);
    if (result.ok !== true) return;
    assert.equal(result.keysChecked, 2);
    assert.equal(result.operations, 5);
    assert.ok(result.steps > 0);
  });
});

describe('the classic traps', () => {
  test('a stale read after a newer write completed', () => {
    const result = assertNotLinearizable(
      history(`
        c1  0  1  put k a        -> v1
        c2  2  3  put k b        -> v2
        c3  4  5  get k          -> a v1
      `),
      /#3 get\(k\) → "a" v1 \[client 3, 4\.0–5\.0 ms\] cannot take effect anywhere in its interval/,
      /it returned "a" \(version 1\), but the key holds "b" \(version 2\), written by #2 put\(k, "b"\)/,
      /that write completed at 3\.0 ms, before #3 began at 4\.0 ms/,
    );
    assert.equal(result.key, 'k');
    assert.equal(result.minimal.length, 3);
  });

  test('a read that sees a write which later un-happens', () => {
    // The first get sees b (v2); a get strictly after it sees a (v1) again, and nothing rewrote a.
    assertNotLinearizable(
      history(`
        c1  0  10  put k a       -> v1
        c2  0  10  put k b       -> v2
        c3  2   3  get k         -> b v2
        c4  4   5  get k         -> a v1
      `),
      /#4 get\(k\) → "a" v1/,
      /the key holds "b" \(version 2\)/,
    );
  });

  test('a read of a value never written', () => {
    assertNotLinearizable(
      history(`
        c1  0  1  put k a        -> v1
        c2  2  3  get k          -> zzz v1
      `),
      /#2 get\(k\) → "zzz" v1 .* cannot take effect anywhere in its interval/,
      /No operation on this key ever writes "zzz"/,
    );
  });

  test('a read that misses a completed write (found nothing after a put)', () => {
    assertNotLinearizable(
      history(`
        c1  0  1  put k a        -> v1
        c2  2  3  get k          -> absent
      `),
      /it found no key, but the key holds "a" \(version 1\)/,
    );
  });
});

describe('writes without a response', () => {
  const unknownWrite = `
        c1  0  1  put k a        -> v1
        c2  2  -  put k b        -> ?`;

  test('a later read may see the write, or not', () => {
    assertLinearizable(history(`${unknownWrite}\n c3 5 6 get k -> a v1`));
    assertLinearizable(history(`${unknownWrite}\n c3 5 6 get k -> b v7`));
  });

  test('once a read has seen it, a later read may not go back', () => {
    assertNotLinearizable(
      history(`${unknownWrite}
        c3  5  6  get k          -> b v7
        c4  7  8  get k          -> a v1
      `),
      /#4 get\(k\) → "a" v1/,
      /but the key holds "b" \(version 7\), written by #2 put\(k, "b"\) → no response/,
    );
  });

  test('it cannot take effect before its call', () => {
    assertNotLinearizable(
      history(`${unknownWrite}
        c3  1  1.5  get k        -> b v7
      `),
      /#1 get\(k\) → "b" v7/,
      /The only write of "b", put\(k, "b"\) → no response \(outcome unknown\) \[client 2, 2\.0 ms–no response\], was called after the get responded/,
    );
  });

  test('its version, once observed, is fixed', () => {
    assertLinearizable(history(`${unknownWrite}\n c3 5 6 get k -> b v7\n c3 7 8 get k -> b v7`));
    assertNotLinearizable(
      history(`${unknownWrite}
        c3  5  6  get k          -> b v7
        c3  7  8  get k          -> b v8
      `),
      /it returned version 8, but the key holds "b" \(version 7\)/,
    );
  });

  test('its version lies between its neighbours, with room for it', () => {
    // The unknown write lands after v1 and before v3: version 2 is the only one it can have.
    const around = (observed: number, next: number): Operation[] =>
      history(`${unknownWrite}
        c3  5  6  get k          -> b v${observed}
        c1  7  8  put k c        -> v${next}
      `);
    assertLinearizable(around(2, 3));
    // Writes answered with v1 and v2 leave no log index between them for it.
    // (The put of "a" is not needed to show it, so the minimal piece leaves it out.)
    assertNotLinearizable(around(2, 2), /it means the key's version is already 2 or more, which leaves no room for #3 put\(k, "c"\) → ok v2/);
    assertNotLinearizable(around(1, 3), /it returned version 1, but the key holds "b" \(an unobserved version ≥ 2\)/);
  });

  test('many lost writes: the one a read needs is found among look-alikes', () => {
    // b and c are never read, so they are interchangeable; the two puts of a are not (a is read),
    // and a is written twice, so neither put of a has to precede the get on its own.
    assertLinearizable(
      history(`
        c1  0  -  put k b        -> ?
        c2  1  -  put k c        -> ?
        c3  2  -  put k a        -> ?
        c4  3  -  put k a        -> ?
        c5  4  -  delete k       -> ?
        c6  5  -  delete k       -> ?
        c7  6  7  get k          -> a v9
        c8  8  9  get k          -> absent
        c9 10 11  delete k       -> absent
      `),
    );
  });

  test('a delete and a cas without a response', () => {
    assertLinearizable(
      history(`
        c1  0  1  put k a        -> v1
        c2  2  -  delete k       -> ?
        c3  3  4  get k          -> absent
        c4  5  -  cas k v0 b     -> ?
        c5  6  7  get k          -> b v9
      `),
    );
    // A cas that did not match cannot have written its value (no write ever had version 5).
    assertNotLinearizable(
      history(`
        c1  0  1  put k a        -> v1
        c2  2  -  cas k v5 b     -> ?
        c3  3  4  get k          -> b v9
      `),
      /#1 cas\(k, expect v5, "b"\) → no response .* must have taken effect before #2 responded \(that get read the value only it writes\), but cannot\. At the latest point it could take effect \(before any other operation\), it expects version 5, but the key does not exist yet/,
    );
  });
});

describe('cas, delete and versions', () => {
  test('cas success and mismatch consistent with the versions', () => {
    assertLinearizable(
      history(`
        c1  0  1  cas k v0 a     -> ok v1
        c2  2  3  cas k v0 b     -> mismatch v1
        c1  4  5  cas k v1 c     -> ok v3
        c2  6  7  cas k v1 d     -> mismatch v3
        c3  8  9  get k          -> c v3
      `),
    );
  });

  test('concurrent cas: one wins, the loser sees the winner', () => {
    assertLinearizable(
      history(`
        c1  0  1  put k a        -> v1
        c2  2  5  cas k v1 b     -> ok v3
        c3  2  5  cas k v1 c     -> mismatch v3
      `),
    );
  });

  test('a cas that succeeds against a version the key does not have', () => {
    assertNotLinearizable(
      history(`
        c1  0  1  put k a        -> v1
        c1  2  3  put k b        -> v2
        c2  4  5  cas k v1 c     -> ok v3
      `),
      /it succeeded expecting version 1, but the key holds "b" \(version 2\)/,
    );
  });

  test('a cas mismatch that reports the wrong current version, or its own expectation', () => {
    const written = `
        c1  0  1  put k a        -> v1`;
    // No write ever had version 4, so the put is not needed to show it.
    assertNotLinearizable(history(`${written}\n c2 2 3 cas k v5 b -> mismatch v4`), /it reports current version 4, but the key does not exist yet/);
    assertNotLinearizable(history(`${written}\n c1 2 3 put k b -> v4\n c2 4 5 cas k v5 c -> mismatch v1`), /it reports current version 1, but the key holds "b" \(version 4\)/);
    assertNotLinearizable(history(`${written}\n c2 2 3 cas k v1 b -> mismatch v1`), /it failed although the version it reports \(1\) is the one it expected/);
    assertNotLinearizable(history(`${written}\n c2 2 3 cas k v1 b -> mismatch v0`), /it reports current version 0/);
  });

  test('cas expecting version 0 succeeds only on an absent key', () => {
    assertLinearizable(history(`c1 0 1 cas k v0 a -> ok v1`));
    assertNotLinearizable(history(`c1 0 1 put k a -> v1\n c2 2 3 cas k v0 b -> ok v2`), /it succeeded expecting version 0, but the key holds "a"/);
  });

  test('deletes: the key is gone afterwards, and a delete of an absent key changes nothing', () => {
    assertLinearizable(
      history(`
        c1  0  1  delete k       -> absent
        c1  2  3  put k a        -> v2
        c2  4  5  delete k       -> deleted v3
        c3  6  7  get k          -> absent
        c3  8  9  delete k       -> absent
        c1 10 11  cas k v0 b     -> ok v7
      `),
    );
    assertNotLinearizable(
      history(`
        c1  0  1  put k a        -> v1
        c2  2  3  delete k       -> deleted
        c3  4  5  get k          -> a v1
      `),
      /but the key does not exist: #2 delete\(k\) → deleted \[client 2, 2\.0–3\.0 ms\] deleted it/,
    );
    assertNotLinearizable(history(`c1 0 1 delete k -> deleted v1`), /it reports deleting the key, but the key does not exist yet/);
  });

  test('versions going backwards', () => {
    assertNotLinearizable(
      history(`
        c1  0  1  put k a        -> v5
        c2  2  3  put k b        -> v3
      `),
      /#1 put\(k, "a"\) → ok v5 \[client 1, 0\.0–1\.0 ms\] cannot take effect anywhere in its interval/,
      /it got version 5, but #2 put\(k, "b"\) → ok v3 \[client 2, 2\.0–3\.0 ms\] got the lower version 3, so must take effect first — yet it was called at 2\.0 ms, after this one completed/,
    );
    assertNotLinearizable(history(`c1 0 1 put k a -> v5\n c2 2 3 delete k -> deleted v5`), /it got version 5, and so did #2 delete\(k\) → deleted v5/);
  });

  test('a read whose version is not its write’s', () => {
    assertNotLinearizable(history(`c1 0 1 put k a -> v5\n c2 2 3 get k -> a v4`), /it returned version 4, but the key holds "a" \(version 5\)/);
  });
});

describe('failure reports', () => {
  test('a long history shrinks to the few operations that conflict, cut at the first bad response', () => {
    const prng = createPrng(7);
    const { history: good, writes } = execute(concurrentPlan(prng, { operations: 400, keys: 1, clients: 4, noResponseChance: 0.05 }));
    const endUs = Math.max(...good.map((operation) => operation.returnUs ?? operation.callUs));
    // A stale read: after everything, client 9 reads the first value ever written.
    const first = writes[0];
    assert.ok(first !== undefined && first.value !== null);
    const stale: Operation = {
      clientId: 9,
      callUs: endUs + 1000,
      returnUs: endUs + 2000,
      input: { type: 'get', key: first.key },
      output: { found: true, value: first.value, version: first.version },
    };
    const later: Operation = { clientId: 9, callUs: endUs + 3000, returnUs: endUs + 4000, input: { type: 'get', key: first.key }, output: { found: false } };
    const result = assertNotLinearizable([...good, stale, later], /cannot take effect anywhere in its interval/);
    assert.ok(result.minimal.length <= 4, `minimal has ${result.minimal.length} operations:\n${result.explanation}`);
    assert.ok(result.minimal.includes(stale), 'the stale read is in the minimal piece');
    assert.ok(!result.minimal.includes(later), 'the cut drops what came after the first bad response');
    assert.match(result.explanation, /no order of the 3 operations below \(out of 402 on the key; the history stops being linearizable with the response at [\d.]+ ms\)/);
  });

  test('describeOperation and formatHistory show client, times in ms, request and answer', () => {
    const operations = history(`
        c2  1.5  2.25  put k a      -> v3
        c1  0    -     cas k v0 b   -> ?
        c3  3    4     get k        -> absent
    `);
    assert.equal(describeOperation(operations[0]!), 'put(k, "a") → ok v3 [client 2, 1.5–2.25 ms]');
    assert.equal(describeOperation(operations[1]!), 'cas(k, expect v0, "b") → no response (outcome unknown) [client 1, 0.0 ms–no response]');
    assert.equal(
      formatHistory(operations),
      [
        '    client    call ms  return ms  operation → answer',
        '#1  client 1      0.0          —  cas(k, expect v0, "b") → no response (outcome unknown)',
        '#2  client 2      1.5       2.25  put(k, "a") → ok v3',
        '#3  client 3      3.0        4.0  get(k) → not found',
      ].join('\n'),
    );
  });

  test('malformed histories are refused naming the field', () => {
    const good = history(`c1 0 1 get k -> absent`)[0]!;
    const refuses = (operation: unknown, field: string): void => {
      assert.throws(
        () => checkLinearizable([good, operation as Operation]),
        (error: unknown) => error instanceof HistoryFormatError && error.field === field,
      );
    };
    refuses({ ...good, callUs: 'soon' }, 'history[1].callUs');
    refuses({ ...good, returnUs: null }, 'history[1].returnUs');
    refuses({ ...good, output: null }, 'history[1].output');
    refuses({ ...good, callUs: 5000, returnUs: 4000 }, 'history[1].returnUs');
    refuses({ ...good, input: { type: 'scan', key: 'k' } }, 'history[1].input.type');
    refuses({ ...good, output: { found: true, value: 'a', version: 0 } }, 'history[1].output.version');
    refuses({ ...good, input: { type: 'put', key: 'k', value: 'a' }, output: { version: 1.5 } }, 'history[1].output.version');
    refuses({ ...good, input: { type: 'cas', key: 'k', value: 'a' }, output: { ok: true, version: 1 } }, 'history[1].input.expectedVersion');
    refuses({ ...good, clientId: undefined }, 'history[1].clientId');
    assert.throws(() => checkLinearizable([good], { stepsMax: 0 }), /options\.stepsMax/);
  });
});

// ---------------------------------------------------------------------------------------------
// Generated histories.

const KEYS = ['a', 'b', 'c'] as const;

interface SequentialStep {
  readonly command: Command;
  readonly widenBeforeUs: number;
  readonly widenAfterUs: number;
  readonly noResponse: boolean;
  readonly appliedWithoutResponse: boolean;
  readonly versionGap: number;
}

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ type: fc.constant('get' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ type: fc.constant('get' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ type: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ type: fc.constant('cas' as const), key: fc.constantFrom(...KEYS), expect: fc.constantFrom('current' as const, 'absent' as const, 'other' as const) }),
);

/** Steps 10 ms apart; each interval is widened around its point by up to `widenUsMax` each way. */
function sequentialSteps(widenUsMax: number): fc.Arbitrary<SequentialStep[]> {
  return fc.array(
    fc.record({
      command: commandArbitrary,
      widenBeforeUs: fc.integer({ min: 0, max: widenUsMax }),
      widenAfterUs: fc.integer({ min: 0, max: widenUsMax }),
      noResponse: fc.integer({ min: 0, max: 5 }).map((roll) => roll === 0),
      appliedWithoutResponse: fc.boolean(),
      versionGap: fc.integer({ min: 0, max: 2 }),
    }),
    { minLength: 1, maxLength: 40 },
  );
}

/** The sequential execution, each op's interval widened around its point (so the execution stays a valid order). */
function planOf(steps: readonly SequentialStep[]): PlannedOperation[] {
  return steps.map((step, index) => {
    const pointUs = 10_000 * (index + 1);
    const noResponse = step.noResponse && step.command.type !== 'get';
    return {
      command: step.command,
      clientId: index + 1,
      callUs: pointUs - step.widenBeforeUs,
      pointUs,
      returnUs: noResponse ? null : pointUs + step.widenAfterUs,
      applied: step.appliedWithoutResponse,
      versionGap: step.versionGap,
    };
  });
}

describe('generated histories', () => {
  test('property: a sequential execution with widened intervals (some responses lost) is linearizable', () => {
    fc.assert(
      fc.property(sequentialSteps(40_000), (steps) => {
        const { history: operations } = execute(planOf(steps));
        const result = checkLinearizable(operations);
        if (result.ok !== true) throw new Error(result.ok === false ? result.explanation : result.reason);
      }),
      { numRuns: 300 },
    );
  });

  test('property: making a completed read return a value overwritten before it began is caught', () => {
    fc.assert(
      fc.property(sequentialSteps(6_000), fc.nat(), (steps, choice) => {
        const { history: operations, writes } = execute(planOf(steps));
        // Candidates: a completed get, a write W of some value, and the next write after W on
        // that key, which completed before the get was called.
        const candidates: { read: number; value: string; version: number }[] = [];
        operations.forEach((operation, index) => {
          if (operation.input.type !== 'get' || operation.returnUs === null) return;
          const onKey = writes.filter((write) => write.key === operation.input.key);
          onKey.forEach((write, position) => {
            const overwrite = onKey[position + 1];
            const overwriteReturnUs = overwrite === undefined ? null : operations[overwrite.historyIndex]!.returnUs;
            if (write.value === null || overwriteReturnUs === null || overwriteReturnUs >= operation.callUs) return;
            candidates.push({ read: index, value: write.value, version: write.version });
          });
        });
        fc.pre(candidates.length > 0);
        const target = candidates[choice % candidates.length]!;
        const read = operations[target.read]!;
        const perturbed = operations.map(
          (operation, index): Operation =>
            index === target.read && operation.input.type === 'get' && operation.returnUs !== null
              ? {
                  clientId: operation.clientId,
                  callUs: operation.callUs,
                  returnUs: operation.returnUs,
                  input: operation.input,
                  output: { found: true, value: target.value, version: target.version },
                }
              : operation,
        );
        const result = checkLinearizable(perturbed);
        if (result.ok !== false) throw new Error(`perturbed read ${describeOperation(read)} passed:\n${formatHistory(perturbed)}`);
      }),
      { numRuns: 300 },
    );
  });

  test('random concurrent histories over many seeds are linearizable', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const plan = concurrentPlan(createPrng(seed), { operations: 300, keys: 5, clients: 6, noResponseChance: 0.05 });
      const result = checkLinearizable(execute(plan).history);
      assert.equal(result.ok, true, `seed ${seed}: ${result.ok === false ? result.explanation : JSON.stringify(result)}`);
    }
  });

  test('performance sanity: a 5 000-operation, 20-key history (timing printed, not asserted)', () => {
    const plan = concurrentPlan(createPrng(42), { operations: 5000, keys: 20, clients: 16, noResponseChance: 0.03 });
    const { history: operations } = execute(plan);
    const startedMs = performance.now();
    const result = checkLinearizable(operations);
    const elapsedMs = performance.now() - startedMs;
    assert.equal(result.ok, true);
    if (result.ok !== true) return;
    console.log(`# 5 000 operations, 20 keys, 16 clients: checked in ${elapsedMs.toFixed(1)} ms, ${result.steps} steps (machine may be busy)`);
  });
});

describe('against a brute-force checker', () => {
  /**
   * Any operation with any answer of the right shape: mostly not linearizable, which is the point.
   * `values` distinct values; one in `noResponseOneIn` operations gets no response.
   */
  const operationArbitrary = (values: readonly string[], noResponseOneIn: number): fc.Arbitrary<Operation> => {
    const value = fc.constantFrom(...values);
    const version = fc.integer({ min: 1, max: 6 });
    const timing = fc.record({
      clientId: fc.integer({ min: 1, max: 4 }),
      callUs: fc.integer({ min: 0, max: 20 }),
      durationUs: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null, freq: noResponseOneIn - 1 }),
    });
    return fc
      .tuple(
        timing,
        fc.oneof(
          fc.record({ input: fc.record({ type: fc.constant('put' as const), key: fc.constant('k'), value }), output: fc.record({ version }) }),
          fc.record({
            input: fc.record({ type: fc.constant('get' as const), key: fc.constant('k') }),
            output: fc.oneof(fc.constant({ found: false as const }), fc.record({ found: fc.constant(true as const), value, version })),
          }),
          fc.record({
            input: fc.record({ type: fc.constant('delete' as const), key: fc.constant('k') }),
            output: fc.oneof(
              fc.constant({ deleted: false as const }),
              fc.constant({ deleted: true as const }),
              fc.record({ deleted: fc.constant(true as const), version }),
            ),
          }),
          fc.record({
            input: fc.record({ type: fc.constant('cas' as const), key: fc.constant('k'), expectedVersion: fc.integer({ min: 0, max: 4 }), value }),
            output: fc.oneof(fc.record({ ok: fc.constant(true as const), version }), fc.record({ ok: fc.constant(false as const), currentVersion: fc.integer({ min: 0, max: 5 }) })),
          }),
        ),
      )
      .map(([{ clientId, callUs, durationUs }, { input, output }]) => {
        const base = { clientId, callUs, input };
        return (durationUs === null ? { ...base, returnUs: null, output: null } : { ...base, returnUs: callUs + durationUs, output }) as Operation;
      });
  };

  const sameVerdicts = (operation: fc.Arbitrary<Operation>, lengthMax: number, runs: number): void => {
    let linearizable = 0;
    fc.assert(
      fc.property(fc.array(operation, { minLength: 1, maxLength: lengthMax }), (operations) => {
        const expected = linearizableByBruteForce(operations);
        const result = checkLinearizable(operations);
        if (expected) linearizable++;
        if (result.ok !== expected) throw new Error(`brute force says ${expected}, the checker ${JSON.stringify(result.ok)}:\n${formatHistory(operations)}`);
      }),
      { numRuns: runs },
    );
    // The comparison means something only if both verdicts occur.
    assert.ok(linearizable > runs / 30, `only ${linearizable} of ${runs} random histories were linearizable`);
  };

  test('property: random small histories get the same verdict', () => {
    sameVerdicts(operationArbitrary(['a', 'b', 'c'], 5), 7, 3000);
  });

  test('property: the same with many lost responses and values nobody reads (interchangeable unknown writes)', () => {
    sameVerdicts(operationArbitrary(['a', 'b', 'c', 'd', 'e', 'f'], 2), 8, 2000);
  });

  test('property: executed histories, some with one answer changed, get the same verdict', () => {
    const changedAnswer = fc.record({ version: fc.integer({ min: -2, max: 2 }), value: fc.constantFrom('w0', 'w1', 'w2', 'w3'), flip: fc.boolean() });
    fc.assert(
      fc.property(sequentialSteps(15_000), fc.option(fc.tuple(fc.nat(), changedAnswer), { nil: null }), (steps, change) => {
        const { history: operations } = execute(planOf(steps.slice(0, 8)));
        const changed = change === null ? operations : operations.map((operation, index) => (index === change[0] % operations.length ? changeAnswer(operation, change[1]) : operation));
        const expected = linearizableByBruteForce(changed);
        const result = checkLinearizable(changed);
        if (result.ok !== expected) throw new Error(`brute force says ${expected}, the checker ${JSON.stringify(result.ok)}:\n${formatHistory(changed)}`);
      }),
      { numRuns: 1500 },
    );
  });
});

/** The operation with its answer altered: a version shifted, another value, or found/ok flipped. */
function changeAnswer(operation: Operation, change: { version: number; value: string; flip: boolean }): Operation {
  if (operation.returnUs === null) return operation;
  const shifted = (version: number): number => Math.max(1, version + change.version);
  const { clientId, callUs, returnUs } = operation;
  switch (operation.input.type) {
    case 'put':
      return { clientId, callUs, returnUs, input: operation.input, output: { version: shifted(versionOf(operation)) } };
    case 'get':
      return {
        clientId,
        callUs,
        returnUs,
        input: operation.input,
        output: change.flip ? { found: false } : { found: true, value: change.value, version: shifted(versionOf(operation)) },
      };
    case 'delete':
      return { clientId, callUs, returnUs, input: operation.input, output: change.flip ? { deleted: false } : { deleted: true, version: shifted(versionOf(operation)) } };
    case 'cas':
      return {
        clientId,
        callUs,
        returnUs,
        input: operation.input,
        output: change.flip ? { ok: false, currentVersion: Math.max(0, versionOf(operation) + change.version) } : { ok: true, version: shifted(versionOf(operation)) },
      };
  }
}

/** Some version the operation's answer mentions (1 if none). */
function versionOf(operation: Operation): number {
  const output: object | null = operation.output;
  if (output === null) return 1;
  if ('version' in output && typeof output.version === 'number') return output.version;
  if ('currentVersion' in output && typeof output.currentVersion === 'number') return output.currentVersion;
  return 1;
}

describe('the step budget', () => {
  /**
   * n puts, all concurrent, with versions 2, 4 … 2n, and n deletes, concurrent with them, whose
   * responses say "deleted" without a version: each delete must follow a put, and which delete
   * follows which is free — 2^n sets of deletes placed after the first puts. A final get that no
   * order explains makes the search try them all.
   */
  function pathological(n: number, key = 'k'): string {
    const puts = Array.from({ length: n }, (_, index) => `c${index + 1} 0 100 put ${key} w${index} -> v${2 * index + 2}`);
    const deletes = Array.from({ length: n }, (_, index) => `c${n + index + 1} 0 100 delete ${key} -> deleted`);
    return [...puts, ...deletes, `c${2 * n + 1} 200 201 get ${key} -> w0 v2`].join('\n');
  }

  test('a pathological history answers unknown, with the reason, instead of searching for ever', { timeout: 30_000 }, () => {
    const startedMs = performance.now();
    const result = checkLinearizable(history(pathological(30)), { stepsMax: 200_000 });
    const elapsedMs = performance.now() - startedMs;
    assert.equal(result.ok, 'unknown', JSON.stringify(result));
    if (result.ok !== 'unknown') return;
    assert.equal(result.key, 'k');
    assert.match(result.reason, /gave up after 200000 steps \(options\.stepsMax\)/);
    assert.match(result.reason, /61 operations, 0 without a response/);
    console.log(`# pathological history: unknown after ${elapsedMs.toFixed(1)} ms`);
  });

  test('a small instance of the same shape is decided (so the budget, not the shape, made it unknown)', () => {
    assertNotLinearizable(history(pathological(4)), /get\(k\) → "w0" v2 .* cannot take effect anywhere in its interval/);
  });

  test('a definite failure on another key wins over unknown', () => {
    const operations = history(`
      ${pathological(30)}
      c101   0   1  put z a -> v1
      c101   2   3  get z   -> absent
    `);
    const result = checkLinearizable(operations, { stepsMax: 50_000 });
    assert.equal(result.ok, false);
    if (result.ok === false) assert.equal(result.key, 'z');
  });
});

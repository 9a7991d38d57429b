// Determinism: one seed is one run, bit for bit. A failing seed reproduces exactly, which is what
// makes `npm run sim -- --seed N` a debugging tool.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRandomSeed, SimulationFailure } from '../../src/sim/random-run.js';
import { runScenario, type Step } from '../../src/sim/scenario.js';

test('the same seed twice gives the same full event trace (digest) and the same counters', () => {
  for (const seed of [5, 77, 901]) {
    const first = runRandomSeed({ seed });
    const second = runRandomSeed({ seed });
    assert.equal(first.digest, second.digest, `seed ${seed}`);
    assert.deepEqual(first.stats, second.stats);
    assert.equal(first.simulatedUs, second.simulatedUs);
  }
  assert.notEqual(runRandomSeed({ seed: 5 }).digest, runRandomSeed({ seed: 6 }).digest);
});

test('a scenario replays exactly too', () => {
  const steps: Step[] = [
    { do: 'network', faults: { lossProbability: 0.1, reorderProbability: 0.1, reorderDelayUsMax: 50_000 } },
    { do: 'repeat', times: 20, steps: [{ do: 'propose', count: 1, tag: 'x', via: 'random' }, { do: 'run-random', minMs: 0, maxMs: 50 }] },
    { do: 'expect-agreement' },
  ];
  const first = runScenario('replay', { seed: 3, nodes: 5 }, steps);
  const second = runScenario('replay', { seed: 3, nodes: 5 }, steps);
  assert.equal(first.digest, second.digest);
});

test('a broken host (acknowledges before fsync) is caught by the checkers, and the failing seed reproduces exactly', () => {
  // Search a bounded seed range for the first seed on which the deliberately broken host is caught.
  let failure: SimulationFailure | null = null;
  for (let seed = 1; seed <= 400 && failure === null; seed++) {
    try {
      runRandomSeed({ seed, unsafeSendBeforePersist: true });
    } catch (error) {
      if (!(error instanceof SimulationFailure)) throw error;
      failure = error;
    }
  }
  assert.ok(failure !== null, 'no seed in 1..400 caught a host that acknowledges before its writes are durable');
  assert.match(failure.reason, /InvariantViolation/);
  assert.match(failure.replayCommand, new RegExp(`^npm run sim -- --seed ${failure.seed}$`));
  assert.ok(failure.traceLines.length > 0);
  let again: SimulationFailure | null = null;
  try {
    runRandomSeed({ seed: failure.seed, unsafeSendBeforePersist: true });
  } catch (error) {
    if (!(error instanceof SimulationFailure)) throw error;
    again = error;
  }
  assert.ok(again !== null, `seed ${failure.seed} passed on replay`);
  assert.equal(again.reason, failure.reason);
  assert.equal(again.digest, failure.digest);
  assert.deepEqual(again.traceLines, failure.traceLines);
  // The same seed with an honest host passes: the violation was the host's fault.
  runRandomSeed({ seed: failure.seed });
});

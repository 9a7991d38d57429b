// Random runs: a fixed seed range (so CI is reproducible), each seed with its own configuration
// switches and fault schedule, each ending in a heal phase that must reach liveness. A failure
// names the seed and the exact command that replays it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeConfig, runRandomSeed, SimulationFailure, type RandomRunResult } from '../../src/sim/random-run.js';

const FIRST_SEED = 1;
const SEED_COUNT = 500;
const CHUNK = 100;

const results: RandomRunResult[] = [];

for (let chunkStart = FIRST_SEED; chunkStart < FIRST_SEED + SEED_COUNT; chunkStart += CHUNK) {
  const chunkEnd = Math.min(chunkStart + CHUNK, FIRST_SEED + SEED_COUNT) - 1;
  test(`random seeds ${chunkStart}..${chunkEnd}: every invariant holds and every run heals`, async () => {
    for (let seed = chunkStart; seed <= chunkEnd; seed++) {
      try {
        results.push(await runRandomSeed({ seed }));
      } catch (error) {
        if (error instanceof SimulationFailure) assert.fail(`${error.report()}\n`);
        throw error;
      }
    }
  });
}

test('the random runs covered every switch and every fault kind', async (t) => {
  assert.equal(results.length, SEED_COUNT);
  const configs = results.map((result) => result.config);
  for (const nodes of [3, 5, 7]) assert.ok(configs.some((config) => config.nodes === nodes), `${nodes} nodes`);
  for (const flag of [true, false]) {
    assert.ok(configs.some((config) => config.raft.preVote === flag), `preVote ${flag}`);
    assert.ok(configs.some((config) => config.raft.checkQuorum === flag), `checkQuorum ${flag}`);
  }
  for (let inflight = 1; inflight <= 8; inflight++) assert.ok(configs.some((config) => config.raft.inflightMax === inflight), `inflightMax ${inflight}`);
  assert.ok(configs.some((config) => config.raft.batchEntriesMax === 1) && configs.some((config) => config.raft.batchEntriesMax === 64));
  for (const fsync of ['always', 'batched'] as const) assert.ok(configs.some((config) => config.fsync === fsync), `fsync ${fsync}`);
  for (const kvLock of ['none', 'mutex', 'rwlock'] as const) assert.ok(configs.some((config) => config.kvLock === kvLock), `kv.lock ${kvLock}`);
  assert.ok(configs.some((config) => config.logCodec === 'lz4') && configs.some((config) => config.readiesInFlightMax > 1));
  const total = (pick: (result: RandomRunResult) => number): number => results.reduce((sum, result) => sum + pick(result), 0);
  const faults = {
    crashes: total((result) => result.stats.crashes),
    snapshotsTaken: total((result) => result.stats.snapshotsTaken),
    snapshotsInstalled: total((result) => result.stats.snapshotsInstalled),
    transfers: total((result) => result.stats.messagesByType.TimeoutNow),
    rejections: total((result) => result.stats.appendRejections),
    crashesDuringSync: total((result) => result.stats.crashesDuringSync),
    storageFailures: total((result) => result.stats.storageFailures),
  };
  for (const [kind, count] of Object.entries(faults)) assert.ok(count > 0, `no ${kind} in ${SEED_COUNT} seeds`);
  t.diagnostic(`${SEED_COUNT} seeds, ${total((result) => result.stats.events)} events, ${total((result) => result.elections)} elections, ` +
    `${total((result) => result.entriesCommitted)} entries committed, ${JSON.stringify(faults)}`);
  t.diagnostic(`example config: ${describeConfig(configs[0]!)}`);
});

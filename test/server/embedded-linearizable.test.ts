// The linearizability checker on histories from the embedded cluster with real storage and real
// fsync (the simulation checks every seed; this is the same check on the code path users run, with
// real time, real timers and a real disk). Clients share three keys and read in every safe mode
// while the leader is stopped and started again from its disk.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedCluster } from '../../src/server/embedded-cluster.js';
import { KvClient } from '../../src/client/client.js';
import { realRuntime } from '../../src/server/runtime.js';
import { createPrng } from '../../src/random/prng.js';
import { HistoryRecorder } from '../../src/sim/clients.js';
import type { ReadMode } from '../../src/server/node-options.js';

const KEYS = ['a', 'b', 'c'];
const READ_MODES: readonly ReadMode[] = ['read-index', 'lease', 'follower-read-index', 'log'];
const RUN_MS = 1_500;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('embedded cluster, real storage: a history of puts and reads in every safe mode, across a leader restart, is linearizable', { timeout: 60_000 }, async () => {
  const cluster = await EmbeddedCluster.start({
    nodes: 3,
    node: { tickMs: 5, storage: { fsync: 'batched' }, raft: { leaseTicks: 8 }, proposalBatchEntriesMax: 256, readiesInFlightMax: 16, sendBeforePersist: true },
  });
  const clock = {
    get nowUs(): number {
      return Math.round(performance.now() * 1000);
    },
  };
  const history = new HistoryRecorder(clock);
  try {
    await cluster.waitForLeader(10_000);
    const prng = createPrng(7);
    const stopAtMs = performance.now() + RUN_MS;
    const clients = READ_MODES.map(
      (readMode, k) => new KvClient({ endpoints: cluster.nodes(), readMode, requestTimeoutMs: 2_000, backoffMsMin: 1, backoffMsMax: 20, runtime: realRuntime, prng: createPrng(100 + k) }),
    );
    const drive = clients.map(async (client, clientId) => {
      while (performance.now() < stopAtMs) {
        const key = KEYS[prng.nextInt(0, KEYS.length)]!;
        if (prng.nextFloat() < 0.5) await history.put(client, clientId, key, history.freshValue(clientId));
        else await history.get(client, clientId, key);
        await sleep(prng.nextInt(0, 3));
      }
    });
    // The leader goes down mid-run and comes back from its disk.
    await sleep(RUN_MS / 3);
    const leader = cluster.node(cluster.leader());
    await leader.stop();
    await sleep(RUN_MS / 5);
    await leader.start();
    await Promise.all(drive);

    const operations = history.operations();
    assert.ok(history.counts.answered >= 100, `only ${history.counts.answered} operations answered`);
    const result = history.check();
    assert.equal(result.ok, true, result.ok === false ? result.explanation : result.ok === 'unknown' ? result.reason : '');
    assert.ok(operations.some((operation) => operation.input.type === 'get' && operation.output !== null && 'found' in operation.output && operation.output.found), 'some reads saw a value');
  } finally {
    await cluster.stop();
  }
});

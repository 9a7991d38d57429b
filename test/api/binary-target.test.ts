// The native TCP driver end to end: the open-loop scheduler drives a 3-node cluster through
// BinaryTarget (KvClient over the binary protocol, addresses only), and the result is the
// drivers' usual one — every operation recorded, latencies in µs, no exception.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runOpenLoop } from '../../src/bench/drive/open-loop.js';
import { BinaryTarget } from '../../src/bench/run/binary-target.js';
import { createKeySpace, OperationStream, parseWorkload, type Operation } from '../../src/bench/workload/index.js';
import { startApiCluster } from './api-cluster.js';

test('the open loop drives a cluster over the binary protocol by its addresses', { timeout: 30_000 }, async () => {
  const api = await startApiCluster();
  const workload = parseWorkload(
    { name: 'tcp', operations: { read: 0.5, update: 0.5 }, keys: { recordCount: 100, distribution: { type: 'uniform' } }, values: { sizeBytes: 64 }, run: { durationSeconds: 1, warmupSeconds: 0 } },
    'inline',
  );
  // Addresses in reverse: ids come from the nodes' status, not from the order.
  const target = await BinaryTarget.connect({ addresses: [...api.cluster.ids].reverse().map((id) => api.binary(id)), clients: 4, readMode: 'lease', requestTimeoutMs: 10_000, seed: 1 });
  try {
    const keySpace = createKeySpace(workload);
    target.keySpace = keySpace;
    const before = await target.counters();
    const result = await runOpenLoop<Operation>({ target, source: new OperationStream(workload, keySpace, 0), ratePerSecond: 400, operationsMax: 400, drainTimeoutMs: 10_000 });
    const after = await target.counters();
    assert.equal(result.firstException, null);
    assert.equal(result.mode, 'open-loop');
    assert.equal(result.coordinatedOmission, 'avoided');
    assert.equal(result.issued, 400);
    assert.equal(result.recording.total.errorCount, 0, JSON.stringify(result.recording.total));
    assert.equal(result.recording.total.count, 400);
    assert.ok(result.recording.total.latencyUs.p50 > 0, 'latencies are recorded in µs');
    assert.equal(before.length, 3);
    const proposals = (counters: typeof before): number => counters.reduce((sum, node) => sum + node.proposals, 0);
    assert.ok(proposals(after) - proposals(before) >= 150, 'the updates went through the log');
    assert.match(target.describe(), /binary protocol/);
  } finally {
    target.stop();
    await api.stop();
  }
});

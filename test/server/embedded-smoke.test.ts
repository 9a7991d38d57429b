// The embedded cluster end to end: three real nodes (real storage, real fsync) in this process,
// driven through the client library.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedCluster } from '../../src/server/embedded-cluster.js';
import { KvClient } from '../../src/client/client.js';
import { realRuntime } from '../../src/server/runtime.js';
import { createPrng } from '../../src/random/prng.js';
import type { ReadMode } from '../../src/server/node-options.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

test('an embedded 3-node cluster commits writes through sessions and serves reads in every safe mode', { timeout: 30_000 }, async () => {
  const cluster = await EmbeddedCluster.start({
    nodes: 3,
    node: { tickMs: 5, storage: { fsync: 'batched' }, raft: { leaseTicks: 10 }, proposalBatchEntriesMax: 1024 },
  });
  try {
    const leaderId = await cluster.waitForLeader(10_000);
    const client = new KvClient({ endpoints: cluster.nodes(), readMode: 'read-index', runtime: realRuntime, prng: createPrng(1) });
    const results = await Promise.all(Array.from({ length: 50 }, (_, k) => client.put(text(`k${k % 5}`), text(`v${k}`))));
    for (const result of results) assert.equal(result.ok, true, JSON.stringify(result));
    assert.ok(client.sessionId > 0, 'a session was registered through the log');
    const counters = cluster.node(leaderId).counterSnapshot();
    assert.ok(counters.proposeCalls < counters.proposals, `proposals were batched (${counters.proposals} in ${counters.proposeCalls} calls)`);
    const last = results[49]!;
    assert.ok(last.ok && last.response.type === 'ok');
    for (const mode of ['read-index', 'lease', 'follower-read-index', 'log'] as ReadMode[]) {
      const read = await client.get(text('k4'), mode);
      assert.ok(read.ok && read.response.type === 'value', `${mode}: ${JSON.stringify(read)}`);
      assert.equal(Buffer.from(read.response.value).toString(), 'v49', mode);
      assert.equal(read.response.version, last.index, mode);
    }
    const follower = cluster.ids.find((id) => id !== leaderId)!;
    const refused = await cluster.node(follower).read({ type: 'get', key: text('k4') }, 'read-index');
    assert.equal(refused.ok === false && refused.error, 'not-leader');
    assert.equal(refused.ok === false && refused.leader, leaderId);
    const stale = await client.get(text('k4'), 'stale');
    assert.equal(stale.ok === false && stale.error, 'refused', 'stale reads are refused unless enabled');
  } finally {
    await cluster.stop();
  }
});

// The embedded cluster end to end: three real nodes (real storage, real fsync) in this process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedCluster } from '../../src/server/embedded-cluster.js';
import { decodeResponse, encodeRequest } from '../../src/kv/commands.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

test('an embedded 3-node cluster elects a leader, commits writes on every node and serves reads in every safe mode', { timeout: 30_000 }, async () => {
  const cluster = await EmbeddedCluster.start({ nodes: 3, node: { tickMs: 5, storage: { fsync: 'batched' }, raft: { leaseTicks: 10 } } });
  try {
    const leaderId = await cluster.waitForLeader(10_000);
    const leader = cluster.node(leaderId);
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, k) => leader.submit(encodeRequest({ clientId: 7, sequence: k + 1, command: { type: 'put', key: text(`k${k % 5}`), value: text(`v${k}`) } }))),
    );
    for (const reply of replies) assert.equal(reply.ok, true, JSON.stringify(reply));
    const counters = leader.counterSnapshot();
    assert.ok(counters.proposeCalls < counters.proposals, `proposals were batched (${counters.proposals} in ${counters.proposeCalls} calls)`);
    const last = replies[49]!;
    assert.ok(last.ok);
    for (const mode of ['read-index', 'lease'] as const) {
      const reply = await leader.read({ type: 'get', key: text('k4') }, mode);
      assert.ok(reply.ok, JSON.stringify(reply));
      const response = decodeResponse(reply.response);
      assert.ok(response.type === 'value', JSON.stringify(response));
      assert.equal(Buffer.from(response.value).toString(), 'v49');
      assert.equal(response.version, last.index);
    }
    const follower = cluster.ids.find((id) => id !== leaderId)!;
    const followerRead = await cluster.node(follower).read({ type: 'get', key: text('k4') }, 'follower-read-index');
    assert.ok(followerRead.ok, JSON.stringify(followerRead));
    assert.equal(decodeResponse(followerRead.response).type, 'value');
    const refused = await cluster.node(follower).read({ type: 'get', key: text('k4') }, 'read-index');
    assert.equal(refused.ok === false && refused.error, 'not-leader');
    assert.equal(refused.ok === false && refused.leader, leaderId);
    const stale = await leader.read({ type: 'get', key: text('k4') }, 'stale');
    assert.equal(stale.ok === false && stale.error, 'refused', 'stale reads are refused unless enabled');
  } finally {
    await cluster.stop();
  }
});

// The client library over the network protocols: KvClient over BinaryEndpoints keeps every
// acknowledged write through the loss of the leader's process (its APIs close, its node stops);
// KvClient over HttpEndpoints runs the basic path and finds the leader from a follower's redirect.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryEndpoint } from '../../src/api/binary-endpoint.js';
import { HttpEndpoint } from '../../src/api/http-endpoint.js';
import { KvClient, type NodeEndpoint } from '../../src/client/client.js';
import type { NodeReply } from '../../src/server/node.js';
import { createPrng } from '../../src/random/prng.js';
import { realRuntime } from '../../src/server/runtime.js';
import { startApiCluster, type ApiCluster } from './api-cluster.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const text = (value: Uint8Array): string => Buffer.from(value).toString('utf8');

function clientOver(endpoints: readonly NodeEndpoint[], seed: number): KvClient {
  return new KvClient({ endpoints, readMode: 'read-index', requestTimeoutMs: 20_000, runtime: realRuntime, prng: createPrng(seed) });
}

// One cluster for both: the HTTP test first, then the one that takes the leader away.
describe('client library over the network', { timeout: 60_000 }, () => {
  let api: ApiCluster;

  before(async () => {
    api = await startApiCluster();
  });
  after(async () => {
    await api.stop();
  });

  test('KvClient over HTTP endpoints: put, get, cas, scan, delete; a follower first in the list redirects it to the leader', async () => {
    const leader = await api.cluster.waitForLeader();
    // A follower first: the client's first attempt lands there and must follow the 307.
    const order = [...api.cluster.ids].sort((a, b) => (a === leader ? 1 : b === leader ? -1 : a - b));
    const endpoints = order.map((id) => new HttpEndpoint({ id, address: api.http(id) }));
    // What the first endpoint (a follower) answered, to see the redirect become a leader hint.
    const firstAnswers: NodeReply[] = [];
    const first = endpoints[0]!;
    const watched: NodeEndpoint = {
      id: first.id,
      submit: async (request) => {
        const reply = await first.submit(request);
        firstAnswers.push(reply);
        return reply;
      },
      read: (command, mode) => first.read(command, mode),
    };
    try {
      const client = clientOver([watched, ...endpoints.slice(1)], 2);
      const put = await client.put(bytes('h1'), bytes('one'));
      assert.ok(put.ok && put.response.type === 'ok', JSON.stringify(put));
      const redirect = firstAnswers[0];
      assert.ok(redirect !== undefined && !redirect.ok && redirect.error === 'not-leader' && redirect.leader === leader, `the follower's 307 became a hint: ${JSON.stringify(redirect)}`);
      const got = await client.get(bytes('h1'));
      assert.ok(got.ok && got.response.type === 'value' && text(got.response.value) === 'one', JSON.stringify(got));
      const lease = await client.get(bytes('h1'), 'lease');
      assert.ok(lease.ok && lease.response.type === 'value', JSON.stringify(lease));
      const swapped = await client.cas(bytes('h1'), put.response.version, bytes('two'));
      assert.ok(swapped.ok && swapped.response.type === 'ok', JSON.stringify(swapped));
      const mismatch = await client.cas(bytes('h1'), put.response.version, bytes('three'));
      assert.ok(mismatch.ok && mismatch.response.type === 'cas-mismatch', JSON.stringify(mismatch));
      await client.put(bytes('h2'), bytes('second'));
      const scan = await client.scan(bytes('h'), null, 10, 'follower-read-index');
      assert.ok(scan.ok && scan.response.type === 'scan', JSON.stringify(scan));
      assert.deepEqual(
        scan.response.items.map((item) => [text(item.key), text(item.value)]),
        [
          ['h1', 'two'],
          ['h2', 'second'],
        ],
      );
      const deleted = await client.delete(bytes('h1'));
      assert.ok(deleted.ok && deleted.response.type === 'ok', JSON.stringify(deleted));
      const gone = await client.get(bytes('h1'), 'log');
      assert.ok(gone.ok && gone.response.type === 'not-found', JSON.stringify(gone));
      const stale = await client.get(bytes('h2'), 'stale');
      assert.ok(!stale.ok && stale.error === 'refused', 'an unsafe read mode the nodes do not allow is refused, not retried');
    } finally {
      for (const endpoint of endpoints) endpoint.close();
    }
  });

  test('KvClient over binary endpoints: no acknowledged write is lost when the leader process goes', async () => {
    const endpoints = api.cluster.ids.map((id) => new BinaryEndpoint({ id, address: api.binary(id), silenceTimeoutMs: 1000 }));
    try {
      const client = clientOver(endpoints, 1);
      const acknowledged = new Map<string, string>();
      const failed: string[] = [];
      let next = 0;
      const writer = async (stopAt: number): Promise<void> => {
        while (next < stopAt) {
          const k = next++;
          const result = await client.put(bytes(`key-${k}`), bytes(`value-${k}`));
          if (result.ok && result.response.type === 'ok') acknowledged.set(`key-${k}`, `value-${k}`);
          else failed.push(`key-${k}: ${JSON.stringify(result)}`);
        }
      };
      // Eight writers keep requests in flight on the leader's connection while it goes away.
      await Promise.all(Array.from({ length: 8 }, () => writer(200)));
      const oldLeader = await api.cluster.waitForLeader();
      const writing = Promise.all(Array.from({ length: 8 }, () => writer(600)));
      while (next < 260) await new Promise((resolve) => setTimeout(resolve, 1));
      await api.kill(oldLeader);
      await writing;
      const newLeader = await api.cluster.waitForLeader();
      assert.notEqual(newLeader, oldLeader);
      assert.deepEqual(failed, [], 'every write was acknowledged within the deadline (the client retried on the new leader)');
      assert.equal(acknowledged.size, 600);
      // Read back through the protocol, from the new leader, in two modes.
      await Promise.all(
        [...acknowledged].map(async ([key, value]) => {
          const read = await client.get(bytes(key), Number(key.slice(4)) % 2 === 0 ? 'read-index' : 'log');
          assert.ok(read.ok && read.response.type === 'value', `${key}: ${JSON.stringify(read)}`);
          assert.equal(text(read.response.value), value, key);
        }),
      );
      const lost = endpoints.find((endpoint) => endpoint.id === oldLeader)!.counters;
      assert.ok(lost.connects >= 1);
      for (const endpoint of endpoints) assert.equal(endpoint.counters.unmatchedReplies, 0, `node ${endpoint.id}: every reply matched a request`);
    } finally {
      for (const endpoint of endpoints) endpoint.close();
    }
  });
});

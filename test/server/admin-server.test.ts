// The admin endpoint in process, over a 3-node TCP cluster: loopback only, status JSON, fault
// hooks with field-naming errors, debug routes off unless enabled; and `--peers` parsing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { startAdminServer } from '../../src/server/admin-server.js';
import { parsePeers } from '../../src/cli/node-command.js';
import { TcpTestCluster } from '../transport/tcp-cluster.js';

async function request(port: number, method: string, path: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, signal: AbortSignal.timeout(5_000), ...(body === undefined ? {} : { body }) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

test('the admin endpoint: loopback only, status, fault hooks, debug routes only when enabled', { timeout: 30_000 }, async () => {
  const cluster = await TcpTestCluster.start();
  try {
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const admin = await startAdminServer({ port: 0, node: cluster.node(leader), transport: cluster.transport(leader), debugRoutes: false });
    const debug = await startAdminServer({ port: 0, node: cluster.node(leader), transport: cluster.transport(leader), debugRoutes: true });
    try {
      const status = await request(admin.port, 'GET', '/status');
      assert.equal(status.status, 200);
      assert.deepEqual([status.json.id, status.json.role, status.json.leader], [leader, 'leader', leader]);
      assert.equal((status.json.peers as unknown[]).length, 2);

      const cut = await request(admin.port, 'PUT', `/faults/${follower}`, '{"delayMs": 5, "partitioned": true}');
      assert.deepEqual(cut.json.faults, { delayMs: 5, dropProbability: 0, partitioned: true });
      assert.equal(cluster.transport(leader).faults.get(follower).partitioned, true);
      const listed = await request(admin.port, 'GET', '/faults');
      assert.ok(String(follower) in listed.json);
      assert.deepEqual((await request(admin.port, 'PUT', `/faults/${follower}`, '{"delayMs": "soon"}')).json.field, 'delayMs');
      assert.equal((await request(admin.port, 'PUT', `/faults/${follower}`, 'not json')).status, 400);
      assert.equal((await request(admin.port, 'PUT', '/faults/99', '{"partitioned": true}')).status, 400);
      assert.equal((await request(admin.port, 'DELETE', '/faults')).status, 200);
      assert.equal(cluster.transport(leader).faults.get(follower).partitioned, false);

      const off = await request(admin.port, 'POST', '/debug/put', '{"key": "k", "value": "v"}');
      assert.equal(off.status, 404);
      assert.match(String(off.json.reason), /debug routes are off/);
      const put = await request(debug.port, 'POST', '/debug/put', '{"key": "k", "value": "v"}');
      assert.equal(put.status, 200, JSON.stringify(put.json));
      const got = await request(debug.port, 'GET', '/debug/get?key=k');
      assert.deepEqual([got.json.found, got.json.value], [true, 'v']);
      assert.equal((await request(debug.port, 'GET', '/debug/get?key=nothing')).json.found, false);
      assert.equal((await request(debug.port, 'POST', '/debug/put', '{"key": ""}')).json.field, 'key');

      assert.equal((await request(admin.port, 'GET', '/nope')).status, 404);
      // Bound to loopback only: this machine's other addresses refuse the connection.
      const external = Object.values(networkInterfaces()).flat().find((address) => address !== undefined && address.family === 'IPv4' && !address.internal);
      if (external !== undefined) {
        await assert.rejects(fetch(`http://${external.address}:${admin.port}/status`, { signal: AbortSignal.timeout(5_000) }), `not reachable on ${external.address}`);
      }
    } finally {
      await admin.close();
      await debug.close();
    }
  } finally {
    await cluster.stop();
  }
});

test('--peers parsing names the bad entry', () => {
  assert.deepEqual([...parsePeers('1=127.0.0.1:7001, 2=localhost:7002,3=[::1]:7003')], [
    [1, { host: '127.0.0.1', port: 7001 }],
    [2, { host: 'localhost', port: 7002 }],
    [3, { host: '::1', port: 7003 }],
  ]);
  assert.throws(() => parsePeers('1=127.0.0.1'), /'1=127.0.0.1' is not ID=HOST:PORT/);
  assert.throws(() => parsePeers('0=127.0.0.1:1'), /id must be an integer ≥ 1/);
  assert.throws(() => parsePeers('1=a:70000'), /port must be from 1 to 65535/);
  assert.throws(() => parsePeers('1=a:1,1=b:2'), /node 1 is listed twice/);
  assert.throws(() => parsePeers(''), /at least one/);
});

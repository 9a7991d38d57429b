// The HTTP JSON API on a 3-node embedded cluster with real storage: every route (JSON, etcd v3
// gateway, status, metrics), every error status, and redirects from a follower.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startClientApis } from '../../src/api/client-apis.js';
import type { NodeId } from '../../src/raft/types.js';
import { startApiCluster, type ApiCluster } from './api-cluster.js';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, any>;
  readonly text: string;
}

/** A request; redirects are followed (as a client would) unless `redirect` is 'manual'. */
async function call(address: string, method: string, path: string, body?: unknown, redirect: "manual" | "follow" = "follow"): Promise<Answer> {
  const init: RequestInit = { method, redirect };
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const response = await fetch(`http://${address}${path}`, init);
  const text = await response.text();
  let parsed: Record<string, any> = {};
  try {
    parsed = JSON.parse(text) as Record<string, any>;
  } catch {
    // /metrics and other text bodies
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

describe('HTTP API', { timeout: 30_000 }, () => {
  let api: ApiCluster;
  let leader: NodeId;
  let follower: NodeId;
  let at: string;

  before(async () => {
    api = await startApiCluster();
  });
  // Each test asks who leads now (an election between tests is no error of the API).
  beforeEach(async () => {
    leader = await api.cluster.waitForLeader();
    follower = api.cluster.ids.find((id) => id !== leader)!;
    at = api.http(leader);
  });
  after(async () => {
    await api.stop();
  });

  test('put, get in every safe read mode, CAS, range and delete round-trip on the leader', async () => {
    const put = await call(at, 'PUT', '/v1/kv/alpha', { value: 'one' });
    assert.equal(put.status, 200, put.text);
    assert.ok(put.body.version > 0);
    for (const mode of ['read-index', 'lease', 'follower-read-index', 'log']) {
      const got = await call(at, 'GET', `/v1/kv/alpha?mode=${mode}`);
      assert.equal(got.status, 200, `${mode}: ${got.text}`);
      assert.equal(got.body.value, 'one', mode);
      assert.equal(got.body.version, put.body.version, mode);
    }
    const swapped = await call(at, 'PUT', '/v1/kv/alpha', { value: 'two', expectedVersion: put.body.version });
    assert.equal(swapped.status, 200, swapped.text);
    assert.ok(swapped.body.version > put.body.version);
    const created = await call(at, 'PUT', '/v1/kv/beta', { value: 'b', expectedVersion: 0 });
    assert.equal(created.status, 200, created.text);
    await call(at, 'PUT', '/v1/kv/gamma', { value: 'g' });
    const range = await call(at, 'GET', '/v1/range?start=a&end=c&limit=10');
    assert.equal(range.status, 200, range.text);
    assert.deepEqual(
      range.body.items.map((item: { key: string; value: string }) => [item.key, item.value]),
      [
        ['alpha', 'two'],
        ['beta', 'b'],
      ],
    );
    assert.equal(range.body.more, false);
    const limited = await call(at, 'GET', '/v1/range?start=a&limit=1');
    assert.equal(limited.body.items.length, 1);
    assert.equal(limited.body.more, true);
    const deleted = await call(at, 'DELETE', '/v1/kv/alpha');
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal((await call(at, 'GET', '/v1/kv/alpha')).status, 404);
  });

  test('binary keys and values travel percent-encoded in the path and base64 in JSON', async () => {
    const value = Buffer.from([0, 255, 1, 254]).toString('base64');
    const put = await call(at, 'PUT', '/v1/kv/%FF%00bin?encoding=base64', { value });
    assert.equal(put.status, 200, put.text);
    const got = await call(at, 'GET', '/v1/kv/%FF%00bin?encoding=base64');
    assert.equal(got.body.value, value);
    assert.equal(got.body.key, Buffer.from([255, 0, 98, 105, 110]).toString('base64'));
  });

  test('status names role, term, leader, commit and applied index', async () => {
    const leading = await call(at, 'GET', '/v1/status');
    assert.equal(leading.status, 200);
    assert.equal(leading.body.role, 'leader');
    assert.equal(leading.body.id, leader);
    assert.equal(leading.body.leader, leader);
    assert.ok(leading.body.term > 0);
    assert.ok(leading.body.commit > 0 && leading.body.applied > 0 && leading.body.applied <= leading.body.commit + 0);
    const following = await call(api.http(follower), 'GET', '/v1/status');
    assert.equal(following.body.role, 'follower');
    assert.equal(following.body.leader, leader);
    assert.equal(following.body.leaderAddresses.http, at);
  });

  test('the etcd v3 gateway: put then range returns the value (base64), prefix ranges, deleterange', async () => {
    const put = await call(at, 'POST', '/v3/kv/put', { key: b64('etcd/one'), value: b64('uno') });
    assert.equal(put.status, 200, put.text);
    assert.match(put.body.header.revision, /^[1-9]\d*$/, 'int64 fields are decimal strings');
    assert.equal(put.body.header.member_id, String(leader));
    assert.match(put.body.header.raft_term, /^[1-9]\d*$/);
    await call(at, 'POST', '/v3/kv/put', { key: b64('etcd/two'), value: b64('dos') });
    const range = await call(at, 'POST', '/v3/kv/range', { key: b64('etcd/one') });
    assert.equal(range.status, 200, range.text);
    assert.equal(range.body.count, '1');
    assert.equal(range.body.kvs[0].key, b64('etcd/one'));
    assert.equal(range.body.kvs[0].value, b64('uno'));
    assert.equal(range.body.kvs[0].mod_revision, put.body.header.revision);
    const prefix = await call(at, 'POST', '/v3/kv/range', { key: b64('etcd/'), range_end: b64('etcd0') });
    assert.deepEqual(
      prefix.body.kvs.map((kv: { value: string }) => Buffer.from(kv.value, 'base64').toString()),
      ['uno', 'dos'],
    );
    const missing = await call(at, 'POST', '/v3/kv/range', { key: b64('etcd/none') });
    assert.equal(missing.status, 200);
    assert.equal(missing.body.kvs, undefined, 'etcd leaves kvs out when nothing matched');
    const deleted = await call(at, 'POST', '/v3/kv/deleterange', { key: b64('etcd/one') });
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.body.deleted, '1');
    const gone = await call(at, 'POST', '/v3/kv/range', { key: b64('etcd/one') });
    assert.equal(gone.body.kvs, undefined);
    const again = await call(at, 'POST', '/v3/kv/deleterange', { key: b64('etcd/one') });
    assert.equal(again.body.deleted, undefined, 'nothing deleted: etcd leaves deleted out');
    const unsupported = await call(at, 'POST', '/v3/kv/put', { key: b64('k'), value: b64('v'), prev_kv: true });
    assert.equal(unsupported.status, 400);
    assert.equal(unsupported.body.field, 'prev_kv');
    const notBase64 = await call(at, 'POST', '/v3/kv/range', { key: 'not base64!' });
    assert.equal(notBase64.status, 400);
    assert.equal(notBase64.body.field, 'key');
  });

  test('malformed requests get 400 naming the field', async () => {
    const cases: [string, string, unknown, string][] = [
      ['PUT', '/v1/kv/k', '{"value": ', 'body'],
      ['PUT', '/v1/kv/k', '[1, 2]', 'body'],
      ['PUT', '/v1/kv/k', { valu: 'typo' }, 'value'],
      ['PUT', '/v1/kv/k', { value: 7 }, 'value'],
      ['PUT', '/v1/kv/k', { value: 'v', expectedVersion: -1 }, 'expectedVersion'],
      ['PUT', '/v1/kv/k?encoding=hex', { value: 'v' }, 'encoding'],
      ['PUT', '/v1/kv/k?encoding=base64', { value: '***' }, 'value'],
      ['PUT', '/v1/kv/', { value: 'v' }, 'key'],
      ['GET', '/v1/kv/%zz', undefined, 'key'],
      ['GET', '/v1/kv/k?mode=stale', undefined, 'mode'],
      ['GET', '/v1/kv/k?mode=fast', undefined, 'mode'],
      ['GET', '/v1/range?limit=0', undefined, 'limit'],
      ['GET', '/v1/range?limit=5000', undefined, 'limit'],
    ];
    for (const [method, path, body, field] of cases) {
      const answer = await call(at, method, path, body);
      assert.equal(answer.status, 400, `${method} ${path}: ${answer.text}`);
      assert.equal(answer.body.field, field, `${method} ${path}: ${answer.text}`);
      assert.equal(typeof answer.body.error, 'string');
      assert.ok(answer.body.reason.length > 0);
    }
  });

  test('404 for a missing key and for no route, 405 for a wrong method, 409 for a CAS mismatch', async () => {
    const missing = await call(at, 'GET', '/v1/kv/never-written');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error, 'not-found');
    assert.equal((await call(at, 'DELETE', '/v1/kv/never-written')).status, 404);
    const noRoute = await call(at, 'GET', '/v2/keys');
    assert.equal(noRoute.status, 404);
    assert.equal(noRoute.body.error, 'no-route');
    const wrongMethod = await call(at, 'POST', '/v1/status', {});
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET');
    const put = await call(at, 'PUT', '/v1/kv/cas-key', { value: 'v1' });
    const mismatch = await call(at, 'PUT', '/v1/kv/cas-key', { value: 'v2', expectedVersion: put.body.version + 1000 });
    assert.equal(mismatch.status, 409, mismatch.text);
    assert.equal(mismatch.body.error, 'cas-mismatch');
    assert.equal(mismatch.body.currentVersion, put.body.version);
    const mustNotExist = await call(at, 'PUT', '/v1/kv/cas-key', { value: 'v2', expectedVersion: 0 });
    assert.equal(mustNotExist.status, 409);
  });

  test('413 for a body over the limit, a key or a value over the store limits', async () => {
    const huge = await call(at, 'PUT', '/v1/kv/big', JSON.stringify({ value: 'x'.repeat(3 * 1024 * 1024) }));
    assert.equal(huge.status, 413, huge.text.slice(0, 200));
    assert.equal(huge.body.field, 'body');
    const longKey = await call(at, 'PUT', `/v1/kv/${'k'.repeat(2000)}`, { value: 'v' });
    assert.equal(longKey.status, 413, longKey.text);
    assert.equal(longKey.body.field, 'key');
    const bigValue = await call(at, 'PUT', '/v1/kv/big', { value: 'x'.repeat(1024 * 1024 + 1) });
    assert.equal(bigValue.status, 413, bigValue.text);
    assert.equal(bigValue.body.field, 'value');
    // The server still answers on a new connection.
    assert.equal((await call(at, 'GET', '/v1/status')).status, 200);
  });

  test('a follower redirects writes and leader reads to the leader (307, Location); a client following it succeeds', async () => {
    const followerAt = api.http(follower);
    const redirected = await call(followerAt, 'PUT', '/v1/kv/via-follower?encoding=utf8', { value: 'f' }, 'manual');
    assert.equal(redirected.status, 307, redirected.text);
    assert.equal(redirected.headers.get('location'), `http://${at}/v1/kv/via-follower?encoding=utf8`);
    assert.equal(redirected.body.error, 'not-leader');
    assert.equal(redirected.body.leader.id, leader);
    assert.equal(redirected.body.leader.binary, api.binary(leader));
    const read = await call(followerAt, 'GET', '/v1/kv/via-follower?mode=read-index', undefined, 'manual');
    assert.equal(read.status, 307);
    const etcd = await call(followerAt, 'POST', '/v3/kv/put', { key: b64('r'), value: b64('v') }, 'manual');
    assert.equal(etcd.status, 307);
    const followed = await call(followerAt, 'PUT', '/v1/kv/via-follower', { value: 'followed' }, 'follow');
    assert.equal(followed.status, 200, followed.text);
    const served = await call(followerAt, 'GET', '/v1/kv/via-follower?mode=follower-read-index');
    assert.equal(served.status, 200, 'a follower serves follower-read-index itself');
    assert.equal(served.body.value, 'followed');
  });

  test('a follower that does not know the leader address answers 503 naming the leader', async () => {
    const bare = await startClientApis(api.cluster.node(follower), { httpPort: 0 });
    try {
      const answer = await call(bare.httpAddress!, 'PUT', '/v1/kv/k', { value: 'v' }, 'manual');
      assert.equal(answer.status, 503, answer.text);
      assert.equal(answer.body.error, 'not-leader');
      assert.equal(answer.body.leader.id, leader);
      assert.equal(answer.headers.get('retry-after'), '1');
    } finally {
      await bare.close();
    }
  });

  test('a request that is not HTTP gets 400 and a closed connection; the server goes on', async () => {
    const [host, port] = at.split(':') as [string, string];
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host, port: Number(port) });
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      socket.write('\x16\x03\x01 this is not HTTP\r\n\r\n');
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.equal((await call(at, 'GET', '/v1/status')).status, 200);
  });

  test('/metrics is Prometheus text with the node counters', async () => {
    await call(at, 'PUT', '/v1/kv/m', { value: 'v' });
    const answer = await call(at, 'GET', '/metrics');
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(answer.text);
    const byName = new Map(families.map((family) => [family.name, family]));
    for (const name of ['raftbench_proposals_total', 'raftbench_entries_applied_total', 'raftbench_storage_syncs_total', 'raftbench_transport_messages_sent_total', 'raftbench_reads_served_total', 'raftbench_http_requests_total']) {
      assert.equal(byName.get(name)?.type, 'COUNTER', name);
    }
    for (const name of ['raftbench_term', 'raftbench_commit_index', 'raftbench_applied_index', 'raftbench_is_leader']) assert.equal(byName.get(name)?.type, 'GAUGE', name);
    assert.ok(Number(byName.get('raftbench_proposals_total')!.metrics[0]!.value) > 0);
    assert.equal(byName.get('raftbench_is_leader')!.metrics[0]!.value, '1');
    const puts = byName.get('raftbench_http_requests_total')!.metrics.find((metric) => metric.labels?.['route'] === 'kv_put' && metric.labels['code'] === '200');
    assert.ok(Number(puts?.value) > 0, 'HTTP requests are counted by route and status');
    assert.ok(byName.get('raftbench_reads_served_total')!.metrics.some((metric) => metric.labels?.['mode'] === 'lease'));
  });
});

describe('HTTP API under faults', { timeout: 30_000 }, () => {
  test('429 when overloaded, 503 without a leader, 504 with an unknown outcome when a write cannot commit', async () => {
    // One session, registered by the first put, so the last write is sent within it (a write whose
    // session cannot be registered was never sent: 503, not applied).
    const api = await startApiCluster({ requestTimeoutMs: 300, pendingRequestsMax: 1, raft: { checkQuorum: false, leaseTicks: 0 } }, { httpSessions: 1 });
    try {
      const leader = await api.cluster.waitForLeader();
      const first = api.cluster.ids.find((id) => id !== leader)!;
      const at = api.http(leader);
      assert.equal((await call(at, 'PUT', '/v1/kv/k', { value: 'v' })).status, 200);
      // pendingRequestsMax 1: reads arriving within one loop turn beyond the first are shed.
      let overloaded: Answer | undefined;
      for (let round = 0; round < 20 && overloaded === undefined; round++) {
        const answers = await Promise.all(Array.from({ length: 16 }, () => call(at, 'GET', '/v1/kv/k')));
        overloaded = answers.find((answer) => answer.status === 429);
        for (const answer of answers) assert.ok(answer.status === 200 || answer.status === 429, answer.text);
      }
      assert.ok(overloaded !== undefined, 'some read was shed');
      assert.equal(overloaded.body.error, 'overloaded');
      assert.equal(overloaded.headers.get('retry-after'), '1');

      // A follower cut off from everyone loses its leader: leader reads get 503.
      api.cluster.network.isolate(first, api.cluster.ids);
      const deadline = Date.now() + 10_000;
      while (api.cluster.node(first).leader !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      const noLeader = await call(api.http(first), 'GET', '/v1/kv/k?mode=read-index', undefined, 'manual');
      assert.equal(noLeader.status, 503, noLeader.text);
      assert.equal(noLeader.body.error, 'no-leader');

      // The leader alone (check-quorum off, so it keeps leading): a write is proposed and never commits.
      api.cluster.network.heal();
      api.cluster.network.isolate(leader, api.cluster.ids);
      const unknown = await call(at, 'PUT', '/v1/kv/k', { value: 'lost?' });
      assert.equal(unknown.status, 504, unknown.text);
      assert.equal(unknown.body.error, 'timeout');
      assert.equal(unknown.body.outcome, 'unknown');
      assert.match(unknown.body.reason, /UNKNOWN/);
    } finally {
      await api.stop();
    }
  });
});

// The binary client protocol: frames round-trip and cut the same whatever the chunk boundaries;
// on a 3-node embedded cluster, 1000 requests pipelined on one connection are all answered and
// matched by id; a malformed frame closes only the connection that sent it; and the native TCP
// driver (the open-loop scheduler over BinaryTarget) records every operation it drives.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import {
  decodeReplyFrame,
  decodeRequestFrame,
  encodeReplyFrame,
  encodeRequestFrame,
  FrameCutter,
  type ClientReplyFrame,
  type ClientRequestFrame,
} from '../../src/api/binary-frame.js';
import { parseHostPort } from '../../src/api/address.js';
import { decodeResponse, encodeReadCommand, encodeRequest } from '../../src/kv/commands.js';
import { runOpenLoop } from '../../src/bench/drive/open-loop.js';
import { BinaryTarget } from '../../src/bench/run/binary-target.js';
import { createKeySpace, OperationStream, parseWorkload, type Operation } from '../../src/bench/workload/index.js';
import { startApiCluster, type ApiCluster } from './api-cluster.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');

describe('binary frames', () => {
  const requests: ClientRequestFrame[] = [
    { kind: 'submit', requestId: 1, payload: encodeRequest({ type: 'register-session' }) },
    { kind: 'read', requestId: 4294967295, mode: 'lease', payload: encodeReadCommand({ type: 'get', key: bytes('k') }) },
    { kind: 'read', requestId: 7, mode: null, payload: encodeReadCommand({ type: 'scan', start: bytes('a'), end: null, limit: 10 }) },
    { kind: 'status', requestId: 9 },
    { kind: 'ping', requestId: 0 },
  ];
  const replies: ClientReplyFrame[] = [
    { kind: 'ok', requestId: 1, index: 2 ** 40, response: new Uint8Array([2, 3]) },
    { kind: 'error', requestId: 2, error: 'not-leader', outcome: 'not-applied', leader: 3, leaderAddress: '127.0.0.1:7003', reason: 'ask node 3' },
    { kind: 'error', requestId: 3, error: 'timeout', outcome: 'unknown', leader: 0, leaderAddress: '', reason: '' },
    { kind: 'status', requestId: 4, json: '{"id":1}' },
    { kind: 'pong', requestId: 5 },
    { kind: 'closing', requestId: 0, reason: 'bye' },
  ];

  test('requests and replies round-trip', () => {
    for (const request of requests) assert.deepEqual(decodeRequestFrame(encodeRequestFrame(request)), { ...request, ...('payload' in request ? { payload: Buffer.from(request.payload) } : {}) });
    for (const reply of replies) {
      const decoded = decodeReplyFrame(encodeReplyFrame(reply));
      assert.deepEqual({ ...decoded, ...('response' in decoded ? { response: [...decoded.response] } : {}) }, { ...reply, ...('response' in reply ? { response: [...reply.response] } : {}) });
    }
  });

  test('a stream cut at every boundary yields the same frames', () => {
    const stream = Buffer.concat(requests.map((request) => encodeRequestFrame(request)));
    for (let cut = 0; cut <= stream.length; cut++) {
      for (const step of [1, 3, 1000]) {
        const cutter = new FrameCutter(1024);
        const frames: Uint8Array[] = [];
        const chunks = [stream.subarray(0, cut), ...Array.from({ length: Math.ceil((stream.length - cut) / step) }, (_, k) => stream.subarray(cut + k * step, cut + (k + 1) * step))];
        for (const chunk of chunks) {
          const pushed = cutter.push(chunk);
          assert.equal(pushed.error, null);
          frames.push(...pushed.frames);
        }
        assert.equal(cutter.bufferedBytes, 0);
        assert.deepEqual(frames.map((frame) => decodeRequestFrame(frame).requestId), requests.map((request) => request.requestId), `cut ${cut} step ${step}`);
      }
    }
  });

  test('an oversized length or a stray HTTP request is refused at its first four bytes', () => {
    const cutter = new FrameCutter(1024);
    const refused = cutter.push(Buffer.from('GET / HTTP/1.1\r\n'));
    assert.match(refused.error?.message ?? '', /length.*exceeds frameBytesMax 1024/);
    assert.equal(cutter.push(encodeRequestFrame(requests[0]!)).error, refused.error, 'a failed cutter stays failed');
    const tooShort = new FrameCutter(1024).push(Buffer.from([2, 0, 0, 0, 1, 1]));
    assert.match(tooShort.error?.message ?? '', /length: must be ≥ 7/);
  });

  test('bad versions, kinds, modes and payloads are named', () => {
    const frame = Buffer.from(encodeRequestFrame(requests[1]!));
    const mutate = (offset: number, value: number): Buffer => {
      const copy = Buffer.from(frame);
      copy[offset] = value;
      return copy;
    };
    assert.throws(() => decodeRequestFrame(mutate(4, 9)), /protocol version: unsupported version 9/);
    assert.throws(() => decodeRequestFrame(mutate(5, 77)), /kind: unknown request kind 77/);
    assert.throws(() => decodeRequestFrame(mutate(6, 42)), /detail: unknown read mode 42/);
    assert.throws(() => decodeRequestFrame(encodeRequestFrame({ kind: 'submit', requestId: 1, payload: new Uint8Array(0) })), /payload: a submit carries no request/);
  });
});

/** A raw connection speaking frames: send any bytes, collect the reply frames. */
class RawConnection {
  readonly socket: Socket;
  readonly replies: ClientReplyFrame[] = [];
  readonly closed: Promise<void>;
  private readonly cutter = new FrameCutter(64 * 1024 * 1024);
  private waiting: { count: number; resolve: () => void } | null = null;

  constructor(address: string) {
    const { host, port } = parseHostPort(address, 'address');
    this.socket = connect({ host, port });
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('error', () => undefined);
    this.socket.on('data', (chunk: Buffer) => {
      const { frames, error } = this.cutter.push(chunk);
      assert.equal(error, null);
      for (const frame of frames) this.replies.push(decodeReplyFrame(frame));
      if (this.waiting !== null && this.replies.length >= this.waiting.count) this.waiting.resolve();
    });
  }

  send(frames: readonly ClientRequestFrame[]): void {
    this.socket.write(Buffer.concat(frames.map((frame) => encodeRequestFrame(frame))));
  }

  /** Resolves once `count` replies arrived in all, or rejects after timeoutMs. */
  async until(count: number, timeoutMs = 10_000): Promise<ClientReplyFrame[]> {
    if (this.replies.length < count) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${this.replies.length} of ${count} replies within ${timeoutMs} ms`)), timeoutMs);
        this.waiting = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    }
    return this.replies.slice(0, count);
  }
}

describe('binary protocol on a cluster', { timeout: 30_000 }, () => {
  let api: ApiCluster;

  before(async () => {
    api = await startApiCluster();
  });
  after(async () => {
    await api.stop();
  });

  test('1000 requests pipelined on one connection are all answered, each matched to its own request by id', async () => {
    const leader = await api.cluster.waitForLeader();
    const connection = new RawConnection(api.binary(leader));
    try {
      connection.send([{ kind: 'submit', requestId: 1, payload: encodeRequest({ type: 'register-session' }) }]);
      const [registered] = await connection.until(1);
      assert.equal(registered?.kind, 'ok', JSON.stringify(registered));
      const session = decodeResponse((registered as Extract<ClientReplyFrame, { kind: 'ok' }>).response);
      assert.equal(session.type, 'session-registered');
      const sessionId = (session as { sessionId: number }).sessionId;
      // 500 puts then 500 reads of the same keys, all written at once; ids are scrambled so that
      // neither send order nor arrival order can stand in for the id.
      const count = 500;
      const idOf = (k: number): number => 1_000_000 + ((k * 7919) % 100_000);
      const puts: ClientRequestFrame[] = Array.from({ length: count }, (_, k) => ({
        kind: 'submit',
        requestId: idOf(k),
        payload: encodeRequest({ type: 'command', sessionId, sequence: k + 1, lowestUnacknowledged: 1, command: { type: 'put', key: bytes(`key-${k}`), value: bytes(`value-${k}`) } }),
      }));
      connection.send(puts);
      const putReplies = (await connection.until(1 + count)).slice(1);
      const versions = new Map<number, number>();
      for (const reply of putReplies) {
        assert.equal(reply.kind, 'ok', JSON.stringify(reply));
        const response = decodeResponse((reply as Extract<ClientReplyFrame, { kind: 'ok' }>).response);
        assert.equal(response.type, 'ok');
        assert.ok(!versions.has(reply.requestId), `id ${reply.requestId} answered twice`);
        versions.set(reply.requestId, (response as { version: number }).version);
      }
      assert.deepEqual([...versions.keys()].sort(), puts.map((put) => put.requestId).sort(), 'every put answered under its own id');
      const reads: ClientRequestFrame[] = Array.from({ length: count }, (_, k) => ({
        kind: 'read',
        requestId: 2_000_000 + ((k * 104_729) % 1_000_000),
        mode: k % 2 === 0 ? 'read-index' : 'lease',
        payload: encodeReadCommand({ type: 'get', key: bytes(`key-${k}`) }),
      }));
      connection.send(reads);
      const readReplies = (await connection.until(1 + 2 * count)).slice(1 + count);
      const keyOfReadId = new Map(reads.map((read, k) => [read.requestId, k]));
      const seen = new Set<number>();
      for (const reply of readReplies) {
        assert.equal(reply.kind, 'ok', JSON.stringify(reply));
        const k = keyOfReadId.get(reply.requestId);
        assert.ok(k !== undefined && !seen.has(reply.requestId), `unexpected or repeated id ${reply.requestId}`);
        seen.add(reply.requestId);
        const response = decodeResponse((reply as Extract<ClientReplyFrame, { kind: 'ok' }>).response);
        assert.equal(response.type, 'value');
        const value = response as { value: Uint8Array; version: number };
        assert.equal(Buffer.from(value.value).toString(), `value-${k}`, `the reply to id ${reply.requestId} carries key-${k}'s value`);
        assert.equal(value.version, versions.get(idOf(k!)));
      }
      assert.equal(seen.size, count);
    } finally {
      connection.socket.destroy();
    }
  });

  test('a malformed frame closes only its connection, after a closing frame that says why', async () => {
    const leader = await api.cluster.waitForLeader();
    const good = new RawConnection(api.binary(leader));
    const malformed: [string, Buffer][] = [
      ['length', Buffer.from('GET / HTTP/1.1\r\nhost: x\r\n\r\n')],
      ['protocol version', Buffer.from([7, 0, 0, 0, 9, 4, 0, 0, 0, 0, 0])],
      ['kind', Buffer.from([7, 0, 0, 0, 1, 66, 0, 0, 0, 0, 0])],
      ['operation', Buffer.from(encodeRequestFrame({ kind: 'read', requestId: 5, mode: null, payload: Buffer.from([2, 3, 0, 0, 0, 0]) }))],
      ['format version', Buffer.from(encodeRequestFrame({ kind: 'submit', requestId: 5, payload: Buffer.from([1, 1]) }))],
    ];
    try {
      for (const [field, frame] of malformed) {
        const bad = new RawConnection(api.binary(leader));
        bad.socket.write(frame);
        await bad.closed;
        const closing = bad.replies.find((reply) => reply.kind === 'closing');
        assert.ok(closing !== undefined, `${field}: a closing frame came first`);
        assert.match((closing as { reason: string }).reason, new RegExp(field), field);
        // The other connection and the node go on.
        good.send([{ kind: 'read', requestId: good.replies.length + 1, mode: null, payload: encodeReadCommand({ type: 'get', key: bytes('absent') }) }]);
        const [reply] = (await good.until(good.replies.length + 1)).slice(-1);
        assert.equal(reply?.kind, 'ok', `${field}: ${JSON.stringify(reply)}`);
      }
      assert.equal(api.cluster.node(leader).running, true);
      good.send([{ kind: 'status', requestId: 99 }]);
      const [status] = (await good.until(good.replies.length + 1)).slice(-1);
      assert.equal(status?.kind, 'status');
      assert.equal(JSON.parse((status as { json: string }).json).id, leader);
    } finally {
      good.socket.destroy();
    }
  });

  test('a follower answers leader-only requests with the leader id and its binary address', async () => {
    const leader = await api.cluster.waitForLeader();
    const follower = api.cluster.ids.find((id) => id !== leader)!;
    const connection = new RawConnection(api.binary(follower));
    try {
      connection.send([{ kind: 'submit', requestId: 3, payload: encodeRequest({ type: 'register-session' }) }]);
      const [reply] = await connection.until(1);
      assert.equal(reply?.kind, 'error');
      const error = reply as Extract<ClientReplyFrame, { kind: 'error' }>;
      assert.equal(error.requestId, 3);
      assert.equal(error.error, 'not-leader');
      assert.equal(error.leader, leader);
      assert.equal(error.leaderAddress, api.binary(leader));
      assert.equal(error.outcome, 'not-applied');
    } finally {
      connection.socket.destroy();
    }
  });

  test('the native driver: the open loop drives the cluster over the binary protocol by its addresses', async () => {
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
    }
  });
});

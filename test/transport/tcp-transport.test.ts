// The TcpTransport on its own, against real sockets: hand-written peers (a raw server that never
// reads, clients that break the handshake) and a pair of transports for codecs and snapshots.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AppendEntriesRequest, InstallSnapshotRequest, Message, NodeId } from '../../src/raft/types.js';
import { parseCodecName } from '../../src/storage/codec.js';
import { encodeFrame, FrameDecoder } from '../../src/transport/frame.js';
import { backoffDelayMs, TcpTransport, type TcpTransportOptions } from '../../src/transport/tcp.js';
import { FaultError, mergeFaults, NO_FAULTS } from '../../src/transport/tcp-faults.js';
import type { TransportHandler } from '../../src/transport/transport.js';
import { waitFor } from './tcp-cluster.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function appendEntries(from: NodeId, to: NodeId, index: number, data: Uint8Array): AppendEntriesRequest {
  return { type: 'AppendEntries', from, to, term: 1, prevLogIndex: index - 1, prevLogTerm: index > 1 ? 1 : 0, commit: 0, entries: [{ term: 1, index, data }] };
}

interface Received {
  readonly messages: Message[];
  readonly snapshots: { message: InstallSnapshotRequest; body: Uint8Array }[];
  readonly unreachable: NodeId[];
  readonly handler: TransportHandler;
}

function recorder(): Received {
  const received: Omit<Received, 'handler'> = { messages: [], snapshots: [], unreachable: [] };
  return {
    ...received,
    handler: {
      message: (message) => received.messages.push(message),
      snapshot: (message, body) => received.snapshots.push({ message, body: Buffer.concat(body.map((chunk) => Buffer.from(chunk))) }),
      unreachable: (peer) => received.unreachable.push(peer),
    },
  };
}

/** Two started transports, 1 and 2, connected to each other. */
async function pair(options: Partial<TcpTransportOptions> = {}): Promise<{ one: TcpTransport; two: TcpTransport; atOne: Received; atTwo: Received; logs: string[] }> {
  const logs: string[] = [];
  const make = (id: NodeId, peer: NodeId) => new TcpTransport({ backoffMsMin: 10, backoffMsMax: 100, log: (line) => logs.push(`n${id} ${line}`), ...options, id, peers: new Map([[peer, null]]) });
  const one = make(1, 2);
  const two = make(2, 1);
  const [addressOne, addressTwo] = [await one.listen(), await two.listen()];
  one.setPeerAddress(2, addressTwo);
  two.setPeerAddress(1, addressOne);
  const atOne = recorder();
  const atTwo = recorder();
  one.start(atOne.handler);
  two.start(atTwo.handler);
  await waitFor('the pair to connect', () => one.socketOf(2) !== null && two.socketOf(1) !== null, 5_000);
  return { one, two, atOne, atTwo, logs };
}

/** A raw peer (node 2) that answers node 1's hello and then reads (or not). */
async function fakePeer(reads: boolean): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    const decoder = new FrameDecoder();
    const onData = (chunk: Buffer): void => {
      const { frames } = decoder.push(chunk);
      if (!frames.some((frame) => frame.kind === 'hello')) return;
      socket.write(encodeFrame({ kind: 'hello', protocolVersion: 1, nodeId: 2, clusterId: 'raftbench' }));
      socket.off('data', onData);
      if (reads) socket.on('data', () => undefined);
      else socket.pause();
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address !== 'string');
  return { server, port: address.port, sockets };
}

async function floodFakePeer(reads: boolean): Promise<{ dropped: number; queueBytesMax: number; queueBytesBound: number }> {
  const peer = await fakePeer(reads);
  const queueBytesBound = 256 * 1024;
  const transport = new TcpTransport({ id: 1, peers: new Map([[2, { host: '127.0.0.1', port: peer.port }]]), sendQueueBytesMax: queueBytesBound, log: () => undefined });
  try {
    transport.start(recorder().handler);
    await waitFor('the handshake with the fake peer', () => transport.socketOf(2) !== null, 5_000);
    const data = new Uint8Array(8 * 1024).fill(7);
    let queueBytesMax = 0;
    // 32 MiB in turns of 80 KiB: more than any loopback socket buffers, paced like a real leader.
    for (let round = 0; round < 400; round++) {
      for (let k = 0; k < 10; k++) transport.send(appendEntries(1, 2, round * 10 + k + 1, data));
      await turn();
      queueBytesMax = Math.max(queueBytesMax, transport.counters().sendQueueBytes);
      // A reading peer gets a moment to read: the test is about the bound, not the scheduler.
      if (reads) while (transport.counters().sendQueueBytes > queueBytesBound / 2) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return { dropped: transport.counters().messagesDropped, queueBytesMax, queueBytesBound };
  } finally {
    await transport.close();
    for (const socket of peer.sockets) socket.destroy();
    await new Promise((resolve) => peer.server.close(resolve));
  }
}

test('a peer that never reads: the send queue stays within its bound and the excess is dropped and counted', { timeout: 30_000 }, async () => {
  const slow = await floodFakePeer(false);
  assert.ok(slow.queueBytesMax <= slow.queueBytesBound, `queued ${slow.queueBytesMax} bytes, bound ${slow.queueBytesBound}`);
  assert.ok(slow.dropped > 0, 'sends beyond the bound were counted as dropped');
  const fast = await floodFakePeer(true);
  assert.equal(fast.dropped, 0, 'a peer that reads loses nothing');
});

test('a snapshot to a peer that never reads pulls only what the socket takes (flow control), and fails after the stall timeout', { timeout: 30_000 }, async () => {
  const peer = await fakePeer(false);
  const transport = new TcpTransport({ id: 1, peers: new Map([[2, { host: '127.0.0.1', port: peer.port }]]), snapshotStallTimeoutMs: 1_000, log: () => undefined });
  try {
    transport.start(recorder().handler);
    await waitFor('the handshake with the fake peer', () => transport.socketOf(2) !== null, 5_000);
    const chunkBytes = 256 * 1024;
    const chunksTotal = 256;
    let pulled = 0;
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let k = 0; k < chunksTotal; k++) {
        pulled += 1;
        yield new Uint8Array(chunkBytes);
      }
    }
    const message: InstallSnapshotRequest = { type: 'InstallSnapshot', from: 1, to: 2, term: 1, snapshot: { index: 9, term: 1, config: { voters: [1, 2] } } };
    const transfer = transport.sendSnapshot(message, body());
    transfer.catch(() => undefined);
    // Wait until the transfer stalls (no chunk pulled between two polls) or has pulled everything,
    // then give it 300 ms more: without flow control it would pull everything by then.
    let seen = -1;
    await waitFor('the transfer to stall', () => {
      const stalled = pulled === seen;
      seen = pulled;
      return stalled || pulled === chunksTotal;
    }, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(pulled < chunksTotal / 4, `pulled ${pulled} of ${chunksTotal} chunks of ${chunkBytes} bytes into a peer that reads nothing`);
    // The peer reads nothing for the stall timeout: the transfer fails, it does not hang.
    await assert.rejects(transfer, /read nothing for 1000 ms/);
  } finally {
    await transport.close();
    for (const socket of peer.sockets) socket.destroy();
    await new Promise((resolve) => peer.server.close(resolve));
  }
});

test('entries compressed with lz4 and zstd arrive intact and in order', { timeout: 30_000 }, async () => {
  for (const codec of ['lz4', 'zstd:3']) {
    const { one, two, atTwo } = await pair({ codec: parseCodecName(codec) });
    try {
      const sent: AppendEntriesRequest[] = [];
      for (let index = 1; index <= 50; index++) {
        const message = appendEntries(1, 2, index, new TextEncoder().encode(`entry ${index} `.repeat(100)));
        sent.push(message);
        one.send(message);
        // Small, uncompressed messages interleave with the compressed ones.
        one.send({ type: 'Heartbeat', from: 1, to: 2, term: 1, commit: 0, round: index });
      }
      await waitFor('100 messages', () => atTwo.messages.length === 100, 10_000);
      const appends = atTwo.messages.filter((message): message is AppendEntriesRequest => message.type === 'AppendEntries');
      assert.deepEqual(appends.map((message) => message.prevLogIndex), sent.map((message) => message.prevLogIndex), `${codec}: in order`);
      assert.deepEqual(atTwo.messages.map((message) => message.type).slice(0, 4), ['AppendEntries', 'Heartbeat', 'AppendEntries', 'Heartbeat'], `${codec}: interleaved in send order`);
      assert.equal(Buffer.from(appends[49]!.entries[0]!.data).toString(), 'entry 50 '.repeat(100));
      assert.ok(one.counters().bytesSent < 50 * 900, `${codec}: the entries were compressed (${one.counters().bytesSent} bytes sent)`);
    } finally {
      await one.close();
      await two.close();
    }
  }
});

test('a snapshot streams to the peer; a cut connection fails the transfer', { timeout: 30_000 }, async () => {
  const { one, two, atOne, atTwo } = await pair({ frameBytesMax: 64 * 1024 });
  try {
    const message: InstallSnapshotRequest = { type: 'InstallSnapshot', from: 1, to: 2, term: 3, snapshot: { index: 40, term: 2, config: { voters: [1, 2] } } };
    const body = Buffer.alloc(1024 * 1024);
    for (let k = 0; k < body.length; k++) body[k] = k % 251;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      // Larger than a frame: the transport splits it.
      for (let offset = 0; offset < body.length; offset += 300 * 1024) yield body.subarray(offset, offset + 300 * 1024);
    }
    await one.sendSnapshot(message, chunks());
    await waitFor('the snapshot', () => atTwo.snapshots.length === 1, 10_000);
    assert.deepEqual(atTwo.snapshots[0]!.message, message);
    assert.ok(Buffer.from(atTwo.snapshots[0]!.body).equals(body), 'the body arrived byte for byte');
    assert.equal(one.counters().snapshotBytesSent, body.length);

    async function* breaking(): AsyncGenerator<Uint8Array> {
      yield body.subarray(0, 1000);
      one.socketOf(2)!.destroy();
      await new Promise((resolve) => setTimeout(resolve, 10));
      yield body.subarray(1000, 2000);
    }
    await assert.rejects(one.sendSnapshot(message, breaking()), /connection|snapshot/);
    assert.ok(atOne.unreachable.includes(2), 'the lost connection was reported to the node as an unreachable peer');
    await waitFor('the reconnection', () => one.socketOf(2) !== null, 5_000);
    await assert.rejects(
      (async () => {
        one.faults.set(2, { partitioned: true });
        await one.sendSnapshot(message, chunks());
      })(),
      /partitioned/,
    );
    assert.equal(atTwo.snapshots.length, 1, 'no partial snapshot was delivered');
  } finally {
    await one.close();
    await two.close();
  }
});

test('the handshake refuses a wrong cluster, a peer that should not dial, and messages before the hello', { timeout: 30_000 }, async () => {
  const logs: string[] = [];
  const transport = new TcpTransport({ id: 1, peers: new Map([[2, null]]), log: (line) => logs.push(line) });
  const address = await transport.listen();
  transport.start(recorder().handler);
  try {
    const attempts: [string, Uint8Array][] = [
      ['another cluster', encodeFrame({ kind: 'hello', protocolVersion: 1, nodeId: 2, clusterId: 'other' })],
      ['node 2 dialling node 1', encodeFrame({ kind: 'hello', protocolVersion: 1, nodeId: 2, clusterId: 'raftbench' })],
      ['an unknown node', encodeFrame({ kind: 'hello', protocolVersion: 1, nodeId: 9, clusterId: 'raftbench' })],
      ['a newer protocol', encodeFrame({ kind: 'hello', protocolVersion: 2, nodeId: 2, clusterId: 'raftbench' })],
      ['a message first', encodeFrame({ kind: 'message', payload: new Uint8Array([1, 7]) })],
    ];
    for (const [what, bytes] of attempts) {
      const socket = connect(address.port, '127.0.0.1');
      socket.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(bytes);
      await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: not closed`)), 5_000))]);
    }
    assert.equal(transport.counters().protocolErrors, attempts.length);
    for (const expected of ["cluster 'other'", 'the lower id dials', 'node 9 is not a peer', 'protocol version 2', 'a message frame before the hello']) {
      assert.ok(logs.some((line) => line.includes(expected)), `logged: ${expected} (${logs.join(' | ')})`);
    }
  } finally {
    await transport.close();
  }
});

test('fault hooks: drop probability 1 drops every send, a delay holds messages back, bad settings name the field', { timeout: 30_000 }, async () => {
  const { one, two, atTwo } = await pair();
  try {
    one.faults.set(2, { dropProbability: 1 });
    const dropped = one.counters().messagesDropped;
    for (let k = 1; k <= 10; k++) one.send({ type: 'Heartbeat', from: 1, to: 2, term: 1, commit: 0, round: k });
    assert.equal(one.counters().messagesDropped - dropped, 10);
    one.faults.set(2, { dropProbability: 0, delayMs: 150 });
    const sentAt = Date.now();
    one.send({ type: 'Heartbeat', from: 1, to: 2, term: 1, commit: 0, round: 11 });
    await waitFor('the delayed message', () => atTwo.messages.length === 1, 5_000);
    assert.ok(Date.now() - sentAt >= 145, `held back for ${Date.now() - sentAt} ms`);
    assert.equal(atTwo.messages[0]!.type === 'Heartbeat' && atTwo.messages[0]!.round, 11);
    one.faults.clear();
    assert.deepEqual(one.faults.get(2), NO_FAULTS);
    assert.throws(() => one.faults.set(2, { delayMs: -1 }), (error: unknown) => error instanceof FaultError && error.field === 'delayMs');
    assert.throws(() => mergeFaults(NO_FAULTS, { dropProbability: 2 }), /dropProbability/);
    assert.throws(() => mergeFaults(NO_FAULTS, { partition: true }), /partition.*unknown field/);
    assert.throws(() => one.faults.set(5, { partitioned: true }), /not a peer/);
  } finally {
    await one.close();
    await two.close();
  }
});

test('backoff doubles per failure up to its bound, with jitter in the upper half of the step', () => {
  assert.equal(backoffDelayMs(0, 50, 2000, () => 0), 25);
  assert.equal(backoffDelayMs(0, 50, 2000, () => 1), 50);
  assert.equal(backoffDelayMs(3, 50, 2000, () => 1), 400);
  assert.equal(backoffDelayMs(10, 50, 2000, () => 1), 2000);
  assert.equal(backoffDelayMs(1000, 50, 2000, () => 0.5), 1500);
});

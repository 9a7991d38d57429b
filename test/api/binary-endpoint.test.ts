// BinaryEndpoint against peers that misbehave, over real loopback TCP: a peer that accepts and
// never answers (a stopped process) is dropped after its silence, with an unknown outcome for a
// write; a peer that answers pings but not the request is a slow node, not a dead one (the request
// times out, the connection stays); a refused connection fails at once, not applied.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { BinaryEndpoint } from '../../src/api/binary-endpoint.js';
import { decodeRequestFrame, encodeReplyFrame, FrameCutter, type ClientRequestFrame } from '../../src/api/binary-frame.js';
import { encodeRequest } from '../../src/kv/commands.js';

/** A TCP server that records the request frames it gets and answers pings only if told to. */
async function peer(answerPings: boolean): Promise<{ server: Server; address: string; received: ClientRequestFrame[]; sockets: Set<Socket> }> {
  const received: ClientRequestFrame[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    const cutter = new FrameCutter(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of cutter.push(chunk).frames) {
        const request = decodeRequestFrame(frame);
        received.push(request);
        if (request.kind === 'ping' && answerPings) socket.write(encodeReplyFrame({ kind: 'pong', requestId: request.requestId }));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bound = server.address();
  assert.ok(bound !== null && typeof bound !== 'string');
  return { server, address: `127.0.0.1:${bound.port}`, received, sockets };
}

async function closePeer(running: { server: Server; sockets: Set<Socket> }): Promise<void> {
  for (const socket of running.sockets) socket.destroy();
  await new Promise<void>((resolve) => running.server.close(() => resolve()));
}

const register = encodeRequest({ type: 'register-session' });

test('a peer that never answers is pinged, then dropped: the write fails stopped with an unknown outcome', { timeout: 20_000 }, async () => {
  const silent = await peer(false);
  const endpoint = new BinaryEndpoint({ id: 1, address: silent.address, pingAfterMs: 100, silenceTimeoutMs: 400, requestTimeoutMs: 15_000 });
  try {
    const startMs = Date.now();
    const reply = await endpoint.submit(register);
    assert.ok(!reply.ok, JSON.stringify(reply));
    assert.equal(reply.error, 'stopped');
    assert.equal(reply.outcome, 'unknown', 'the request reached the peer: it may have been applied');
    assert.match(reply.reason, /heard nothing/);
    assert.ok(Date.now() - startMs < 10_000, 'dropped on silence, long before the request timeout');
    assert.deepEqual(silent.received.map((frame) => frame.kind), ['submit', 'ping']);
    assert.equal(endpoint.counters.connectionsLost, 1);
  } finally {
    endpoint.close();
    await closePeer(silent);
  }
});

test('a peer that answers pings but not the request is slow, not dead: the request times out, the connection stays', { timeout: 20_000 }, async () => {
  const slow = await peer(true);
  const endpoint = new BinaryEndpoint({ id: 1, address: slow.address, pingAfterMs: 100, silenceTimeoutMs: 400, requestTimeoutMs: 1500 });
  try {
    const reply = await endpoint.submit(register);
    assert.ok(!reply.ok, JSON.stringify(reply));
    assert.equal(reply.error, 'timeout');
    assert.equal(reply.outcome, 'unknown');
    assert.ok(slow.received.filter((frame) => frame.kind === 'ping').length >= 2, 'pinged while waiting');
    assert.equal(endpoint.counters.connectionsLost, 0);
    assert.equal(endpoint.counters.connects, 1);
  } finally {
    endpoint.close();
    await closePeer(slow);
  }
});

test('a refused connection fails at once with nothing applied', { timeout: 20_000 }, async () => {
  const gone = await peer(false);
  const address = gone.address;
  await closePeer(gone);
  const endpoint = new BinaryEndpoint({ id: 2, address });
  try {
    const reply = await endpoint.submit(register);
    assert.ok(!reply.ok);
    assert.equal(reply.error, 'stopped');
    assert.equal(reply.outcome, 'not-applied');
    const read = await endpoint.read({ type: 'get', key: new Uint8Array([1]) }, 'lease');
    assert.ok(!read.ok && read.error === 'stopped', 'the next request dials again and fails the same way');
    assert.equal(endpoint.counters.connects, 2);
  } finally {
    endpoint.close();
  }
});

// Three real KvNodes (real storage, real fsync) talking over real TCP sockets on 127.0.0.1: the
// TcpTransport under the node's own host loop.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { TcpTestCluster, waitFor } from './tcp-cluster.js';

/** Resolves when the raw socket is closed by the other side; rejects after `timeoutMs`. */
function closedBy(socket: Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the node did not close the connection within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test('three nodes over TCP elect a leader, commit writes, and survive a cut connection', { timeout: 30_000 }, async () => {
  const cluster = await TcpTestCluster.start();
  try {
    const leader = await cluster.waitForLeader();
    const first = await cluster.write('a', 30);
    for (const id of cluster.ids) await cluster.waitForApplied(id, first);
    for (const id of cluster.ids) assert.ok(cluster.transport(id).counters().messagesReceived > 0, `n${id} received messages over TCP`);
    assert.equal(cluster.node(leader).kv!.keyCount, 30);

    // Cut the leader's connection to a follower: the dialer reconnects, the follower catches up.
    const follower = cluster.ids.find((id) => id !== leader)!;
    const socket = cluster.transport(leader).socketOf(follower);
    assert.ok(socket !== null, 'the leader has a connection to the follower');
    const opened = cluster.transport(leader).counters().connectionsOpened;
    socket.destroy();
    await waitFor('the link to come back', () => cluster.transport(leader).counters().connectionsOpened > opened && cluster.transport(leader).socketOf(follower) !== null, 10_000);
    assert.ok(cluster.transport(leader).counters().connectionsLost >= 1, 'the loss was seen');
    const second = await cluster.write('b', 30);
    await cluster.waitForApplied(follower, second);
    assert.equal(cluster.node(follower).kv!.keyCount, 60);
  } finally {
    await cluster.stop();
  }
});

test('a peer that is down is redialled with backoff and catches up once it starts; a restarted dialer dials again', { timeout: 30_000 }, async () => {
  const cluster = await TcpTestCluster.start();
  try {
    await cluster.waitForLeader();
    await cluster.write('a', 10);
    // Node 3 is the highest id: nodes 1 and 2 dial it, so they see its listener gone.
    await cluster.node(3).stop();
    const last = await cluster.write('b', 20, [1, 2]);
    await waitFor('failed dials to n3', () => cluster.transport(1).counters().dialFailures >= 3 && cluster.transport(2).counters().dialFailures >= 3, 10_000);
    const failedDials = cluster.transport(1).peers().find((peer) => peer.peer === 3)!.failedDials;
    assert.ok(failedDials >= 3, `n1 keeps redialling n3 (${failedDials} failed dials)`);
    await cluster.node(3).start();
    await cluster.waitForApplied(3, last);
    assert.equal(cluster.node(3).kv!.keyCount, 30);
    assert.ok(cluster.logs.some((line) => line.includes('connected to n3 after')), 'the reconnection was logged');

    // Node 1 is the lowest id: it dials everyone. Stopped and started in this process, it must dial again.
    await cluster.node(1).stop();
    const whileDown = await cluster.write('c', 10, [2, 3]);
    await cluster.node(1).start();
    await cluster.waitForApplied(1, whileDown);
    assert.equal(cluster.node(1).kv!.keyCount, 40);
  } finally {
    await cluster.stop();
  }
});

test('a lagging follower gets a snapshot over TCP', { timeout: 30_000 }, async () => {
  const cluster = await TcpTestCluster.start({ node: { snapshotEntries: 20, snapshotChunkBytes: 4096, storage: { fsync: 'batched', segmentSizeBytes: 4096 } } });
  try {
    await cluster.waitForLeader();
    await cluster.write('a', 5);
    await cluster.node(3).stop();
    // Enough entries that the others snapshot and compact the log past what node 3 has.
    let last = 0;
    for (let round = 0; round < 6; round++) last = await cluster.write(`r${round}-`, 40, [1, 2]);
    await waitFor('a compacted log on the leader', () => (cluster.node(cluster.leader()).status()?.firstIndex ?? 0) > 10, 10_000, () => cluster.describe());
    await cluster.node(3).start();
    await cluster.waitForApplied(3, last, 20_000);
    const leader = cluster.leader();
    assert.ok(cluster.transport(leader).counters().snapshotsSent >= 1, 'the leader streamed a snapshot');
    assert.ok(cluster.transport(3).counters().snapshotsReceived >= 1, 'node 3 received it');
    assert.ok(cluster.node(3).counterSnapshot().snapshotsInstalled >= 1, 'node 3 installed it');
    assert.equal(cluster.node(3).kv!.keyCount, 5 + 6 * 40);
  } finally {
    await cluster.stop();
  }
});

test('a malformed frame and an oversized frame close only their connection; the node keeps serving', { timeout: 30_000 }, async () => {
  const cluster = await TcpTestCluster.start({ transport: { frameBytesMax: 1024 * 1024 } });
  try {
    await cluster.waitForLeader();
    const before = await cluster.write('a', 5);
    const target = cluster.transport(2);
    const lostBefore = cluster.ids.map((id) => cluster.transport(id).counters().connectionsLost);

    // Each raw connection sends one kind of garbage; each must be closed by the node.
    const garbage: [string, Buffer][] = [
      ['a stray HTTP request (its first 4 bytes read as a huge length)', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      ['a frame of an unknown version', Buffer.from([10, 0, 0, 0, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0])],
      ['a frame claiming 4 GiB', Buffer.from([0xf0, 0xff, 0xff, 0xff, 1, 1])],
    ];
    for (const [what, bytes] of garbage) {
      const raw = connect(target.address!.port, '127.0.0.1');
      const closed = closedBy(raw, 5_000);
      raw.write(bytes);
      await closed.catch((error: Error) => assert.fail(`${what}: ${error.message}`));
    }
    assert.equal(target.counters().protocolErrors, 3);
    const n2 = cluster.logs.filter((line) => line.startsWith('n2 closed the connection from 127.0.0.1:'));
    assert.ok(n2.some((line) => line.includes('unsupported version 9')), `the malformed frame was logged: ${cluster.logs.join(' | ')}`);
    assert.equal(n2.filter((line) => line.includes('exceeds frameBytesMax')).length, 2, 'the oversized frames were logged');
    const after = await cluster.write('b', 5);
    assert.ok(after > before);
    for (const id of cluster.ids) await cluster.waitForApplied(id, after);
    assert.deepEqual(
      cluster.ids.map((id) => cluster.transport(id).counters().connectionsLost),
      lostBefore,
      'no link between the nodes was lost',
    );
  } finally {
    await cluster.stop();
  }
});

test('a partition set through the fault hook stops traffic; healing it resumes', { timeout: 30_000 }, async () => {
  const cluster = await TcpTestCluster.start();
  try {
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const start = await cluster.write('a', 5);
    for (const id of cluster.ids) await cluster.waitForApplied(id, start);
    // Cut on the follower's side only: it drops what it receives from the leader and what it sends.
    cluster.transport(follower).faults.set(leader, { partitioned: true });
    const lastIndexBefore = cluster.node(follower).status()!.lastIndex;
    const cut = await cluster.write('b', 20);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Not one entry reached it (its acknowledgements alone being lost would still let entries in).
    assert.equal(cluster.node(follower).status()!.lastIndex, lastIndexBefore, 'the partitioned follower received no entry');
    assert.ok((cluster.node(follower).status()?.applied ?? 0) < cut, 'the partitioned follower applied nothing new');
    assert.ok(cluster.transport(leader).peers().find((peer) => peer.peer === follower)!.connected, 'the connection itself stays up');
    cluster.transport(follower).faults.clear(leader);
    await cluster.waitForApplied(follower, cut);
    assert.equal(cluster.node(follower).kv!.keyCount, 25);
  } finally {
    await cluster.stop();
  }
});

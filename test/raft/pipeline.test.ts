// Batched proposals, backpressure, several Readies in flight, and the log cache: the parts of the
// core that decide what a benchmark of the switches measures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, bytes, makeConfig } from './cluster.js';
import { allMessages, drain, entry, newNode, ofType } from './drive.js';
import { RaftNode } from '../../src/raft/raft.js';
import type { Entry, LogReader, Message } from '../../src/raft/types.js';

function electedSingle(overrides = {}): RaftNode {
  const node = newNode(1, [1], overrides);
  for (let k = 0; k < 30 && node.status().role !== 'leader'; k++) node.tick();
  drain(node);
  return node;
}

test('propose takes a batch and answers with its index range', () => {
  const node = electedSingle();
  const last = node.status().lastIndex;
  const result = node.propose([bytes('a'), bytes('b'), bytes('c')]);
  assert.deepEqual(result, { ok: true, firstIndex: last + 1, lastIndex: last + 3, term: node.status().term });
  assert.throws(() => node.propose([]), TypeError);
});

test('backpressure: a leader refuses proposals beyond its uncommitted bound, and takes them again once commits catch up', () => {
  const cluster = new TestCluster(3, { uncommittedEntriesMax: 5, uncommittedBytesMax: 1000 });
  cluster.campaign(1);
  cluster.stabilize();
  const leader = cluster.node(1);
  cluster.isolate(1);
  assert.equal(leader.propose([bytes('1'), bytes('2'), bytes('3')]).ok, true);
  const refused = leader.propose([bytes('4'), bytes('5'), bytes('6')]);
  assert.deepEqual(refused, { ok: false, reason: 'uncommitted-full', leader: 1, uncommittedEntries: 3, uncommittedBytes: 3 });
  assert.equal(leader.status().uncommittedEntries, 3);
  cluster.heal();
  cluster.tickAll(2);
  assert.equal(leader.status().uncommittedEntries, 0);
  assert.equal(leader.propose([bytes('4'), bytes('5'), bytes('6')]).ok, true);
  // With nothing uncommitted, one batch larger than the bound still goes (it cannot wedge the leader).
  cluster.stabilize();
  const big = Array.from({ length: 8 }, (_, k) => bytes(`big${k}`));
  assert.equal(leader.propose(big).ok, true);
});

test('backpressure counts bytes too', () => {
  const node = electedSingle({ uncommittedBytesMax: 10 });
  assert.equal(node.propose([bytes('0123456789')]).ok, true);
  const refused = node.propose([bytes('x')]);
  assert.equal(refused.ok === false && refused.reason, 'uncommitted-full');
});

test('a window larger than one never makes appends smaller: everything proposed before a Ready goes in one append', () => {
  for (const inflightMax of [1, 4, 64]) {
    const cluster = new TestCluster(3, { inflightMax, batchEntriesMax: 1024 });
    cluster.campaign(1);
    cluster.stabilize();
    cluster.delivered = [];
    for (let turn = 0; turn < 5; turn++) {
      cluster.node(1).propose(Array.from({ length: 10 }, (_, k) => bytes(`t${turn}k${k}`)));
      cluster.stabilize();
    }
    const appends = ofType(cluster.delivered, 'AppendEntries').filter((m) => m.entries.length > 0);
    assert.deepEqual(appends.map((m) => m.entries.length), Array.from({ length: 10 }, () => 10), `inflightMax ${inflightMax}`);
  }
});

test('several Readies in flight: the leader counts its own copy only once the Ready that carried it is advanced', () => {
  const node = electedSingle();
  node.propose([bytes('a')]);
  const first = node.ready();
  node.propose([bytes('b')]);
  const second = node.ready();
  assert.equal(node.status().commit, first.entries[0]!.index - 1, 'nothing committed while both are in flight');
  node.advance(first);
  assert.equal(node.status().commit, first.entries[0]!.index, 'the first is durable: committed');
  const third = node.ready();
  assert.deepEqual(third.committedEntries.map((e) => e.index), [first.entries[0]!.index]);
  node.advance(second);
  node.advance(third);
  const fourth = node.ready();
  assert.deepEqual(fourth.committedEntries.map((e) => e.index), [second.entries[0]!.index]);
  node.advance(fourth);
});

test('several Readies in flight: entries overwritten by a later Ready do not count as persisted when the earlier one is advanced', () => {
  const follower = newNode(2, [1, 2, 3]);
  const append = (term: number, prevLogIndex: number, prevLogTerm: number, entries: Entry[]): Message => ({
    type: 'AppendEntries', from: 1, to: 2, term, prevLogIndex, prevLogTerm, entries, commit: 1,
  });
  follower.step(append(1, 0, 0, [entry(1, 1), entry(2, 1), entry(3, 1)]));
  const first = follower.ready();
  // A new leader of term 2 overwrites indexes 2..3 before the first write is durable.
  follower.step(append(2, 1, 1, [entry(2, 2), entry(3, 2)]));
  const second = follower.ready();
  assert.deepEqual(second.entries.map((e) => [e.index, e.term]), [[2, 2], [3, 2]]);
  follower.advance(first);
  assert.equal(follower.status().persistedIndex, 1, 'only the prefix that still stands is durable');
  follower.advance(second);
  assert.equal(follower.status().persistedIndex, 3);
});

/** The entries the test cluster's "disk" holds for a node, read back through the LogReader as a host's WAL would. */
class MemoryLog implements LogReader {
  constructor(private readonly disk: () => readonly Entry[]) {}
  reads = 0;
  failing = false;
  entries(fromIndex: number, toIndexExclusive: number, bytesMax: number): Entry[] {
    this.reads += 1;
    if (this.failing) throw new Error('EIO: simulated read failure');
    const out: Entry[] = [];
    let bytes = 0;
    for (let index = fromIndex; index < toIndexExclusive; index++) {
      const stored = this.disk()[index - 1];
      if (stored === undefined) throw new Error(`entry ${index} not stored`);
      bytes += stored.data.length;
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(stored);
    }
    return out;
  }
  term(index: number): number | null {
    return this.disk()[index - 1]?.term ?? null;
  }
}

test('the log cache: applied, durable entries every follower holds leave memory; a lagging follower is served from storage', () => {
  const cluster = new TestCluster(3);
  const storage = new MemoryLog(() => cluster.disk(1).entries);
  const leader = new RaftNode(makeConfig(1, [1, 2, 3], { logCacheBytesMax: 0 }), undefined, storage);
  cluster.nodes.set(1, leader);
  cluster.campaign(1);
  cluster.stabilize();
  cluster.isolate(3);
  for (let k = 0; k < 20; k++) {
    leader.propose([bytes(`v${k}`)]);
    cluster.stabilize();
  }
  cluster.tickAll(1);
  const status = leader.status();
  assert.equal(status.commit, status.lastIndex);
  assert.equal(status.cachedEntries, 0, 'over the cache bound: everything applied and durable left memory, though node 3 lags');
  cluster.heal();
  cluster.tickAll(3);
  assert.ok(storage.reads > 0, 'the lagging follower was served by reading storage');
  assert.equal(cluster.node(3).status().lastIndex, status.lastIndex);
  assert.deepEqual(cluster.appliedTexts(3), cluster.appliedTexts(1));
});

test('the log cache: when storage cannot serve a lagging follower, it gets a snapshot', () => {
  const cluster = new TestCluster(3);
  const storage = new MemoryLog(() => cluster.disk(1).entries);
  const leader = new RaftNode(makeConfig(1, [1, 2, 3], { logCacheBytesMax: 0 }), undefined, storage);
  cluster.nodes.set(1, leader);
  cluster.campaign(1);
  cluster.stabilize();
  cluster.isolate(3);
  for (let k = 0; k < 10; k++) {
    leader.propose([bytes(`v${k}`)]);
    cluster.stabilize();
  }
  cluster.tickAll(1);
  const applied = leader.status().applied;
  leader.compact({ index: 3, term: leader.termAt(3)!, config: { voters: [1, 2, 3] } });
  storage.failing = true;
  cluster.heal();
  cluster.delivered = [];
  cluster.tick(1, 1);
  cluster.stabilize();
  assert.ok(cluster.delivered.some((m) => m.type === 'InstallSnapshot' && m.to === 3), 'InstallSnapshot instead of entries');
  assert.ok(applied >= 3);
});

test('host reports: an unreachable follower drops to probe; a failed snapshot transfer is retried at the next heartbeat answer', () => {
  const cluster = new TestCluster(3);
  cluster.campaign(1);
  cluster.stabilize();
  const leader = cluster.node(1);
  assert.equal(leader.status().progress!.get(2)!.state, 'replicate');
  leader.reportUnreachable(2);
  assert.equal(leader.status().progress!.get(2)!.state, 'probe');
  // Snapshot state: isolate 3, commit and compact past it, heal, let the leader send InstallSnapshot.
  cluster.isolate(3);
  for (let k = 0; k < 5; k++) cluster.propose(1, `x${k}`);
  cluster.stabilize();
  cluster.tickAll(1);
  leader.compact({ index: 4, term: leader.termAt(4)!, config: { voters: [1, 2, 3] } });
  cluster.heal();
  cluster.dropIf = (m) => m.type === 'InstallSnapshot';
  cluster.tickAll(1);
  assert.equal(leader.status().progress!.get(3)!.state, 'snapshot');
  cluster.delivered = [];
  leader.reportSnapshot(3, 'failed');
  cluster.process(1);
  assert.equal(cluster.inFlight.filter((m) => m.type === 'InstallSnapshot').length, 0, 'not at once: a failed transfer to an unreachable follower must not loop');
  cluster.dropIf = () => false;
  cluster.tick(1, 1); // the next heartbeat's answer unpauses the probe …
  cluster.deliverWave();
  cluster.deliverWave();
  assert.ok(cluster.delivered.some((m) => m.type === 'InstallSnapshot' && m.to === 3), '… and a new InstallSnapshot goes out then, not after two election timeouts');
});

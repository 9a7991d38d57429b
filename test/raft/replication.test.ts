import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, bytes } from './cluster.js';
import { allMessages, drain, entry, newNode, nodeWithLog, ofType } from './drive.js';
import { RaftInvariantError } from '../../src/raft/errors.js';
import type { AppendEntriesRequest, Message } from '../../src/raft/types.js';

function appendTo(to: number, fields: Partial<AppendEntriesRequest> & Pick<AppendEntriesRequest, 'term' | 'prevLogIndex' | 'prevLogTerm'>): AppendEntriesRequest {
  return { type: 'AppendEntries', from: 2, to, entries: [], commit: 0, ...fields };
}

test('entries proposed to the leader reach every node and are applied in order', () => {
  const cluster = new TestCluster(3);
  cluster.campaign(1);
  for (const word of ['a', 'b', 'c']) cluster.propose(1, word);
  cluster.stabilize();
  cluster.tickAll(1); // a heartbeat carries the final commit to the followers
  for (const id of cluster.ids) assert.deepEqual(cluster.appliedTexts(id), ['a', 'b', 'c'], `node ${id}`);
});

test('a proposal to a follower is refused and names the leader', () => {
  const cluster = new TestCluster(3);
  cluster.campaign(2);
  assert.deepEqual(cluster.node(3).propose([bytes('x')]), { ok: false, reason: 'not-leader', leader: 2 });
  const fresh = newNode(1, [1, 2, 3]);
  assert.deepEqual(fresh.propose([bytes('x')]), { ok: false, reason: 'not-leader', leader: 0 });
});

test("the commit rule: an old-term entry on a majority is not committed until a current-term entry is (Figure 8)", () => {
  // Figure 8 (c): S1 holds index 2 from term 2, as do S2 and S3 — a majority of five. S5 holds
  // index 2 from term 3. S1 is elected at term 4 and learns S2 and S3 match it up to index 2.
  const build = (): TestCluster => {
    const cluster = new TestCluster(5);
    cluster.loadLog(1, [1, 2], 3, 1);
    cluster.loadLog(2, [1, 2], 3, 1);
    cluster.loadLog(3, [1, 2], 3, 1);
    cluster.loadLog(4, [1], 3, 1);
    cluster.loadLog(5, [1, 3], 3, 1);
    // Appends that carry S1's new-term entry are delivered without their entries, as if only
    // earlier probes had arrived: followers can acknowledge index 2 but never index 3.
    cluster.dropIf = (m) => m.type === 'AppendEntries' && m.entries.length > 0;
    return cluster;
  };
  const cluster = build();
  cluster.campaign(1);
  assert.deepEqual(cluster.leaders(), [1]);
  assert.equal(cluster.node(1).status().term, 4);
  // Hand the followers probes (prev = 2) so S2 and S3 acknowledge index 2.
  for (const follower of [2, 3]) {
    cluster.node(follower).step({ type: 'AppendEntries', from: 1, to: follower, term: 4, prevLogIndex: 2, prevLogTerm: 2, entries: [], commit: 1 });
  }
  cluster.stabilize();
  const progress = cluster.node(1).status().progress!;
  assert.equal(progress.get(2)!.matchIndex, 2);
  assert.equal(progress.get(3)!.matchIndex, 2);
  assert.equal(cluster.node(1).status().commit, 1, 'index 2 (term 2) is on 3 of 5 nodes but must not commit');
  for (const id of cluster.ids) assert.ok(cluster.disk(id).appliedIndex <= 1, `node ${id} applied nothing past 1`);

  // Why: S1 goes away, S5 (last term 3) wins with S2, S3, S4 and overwrites index 2 everywhere.
  cluster.heal(); // lift the drop rule…
  cluster.isolate(1); // …and cut S1 off
  cluster.campaign(5);
  assert.deepEqual(cluster.leaders().filter((id) => id !== 1), [5]);
  cluster.tickAll(1);
  for (const id of [2, 3, 4, 5]) {
    assert.equal(cluster.node(id).termAt(2), 3, `node ${id} holds S5's index 2`);
    assert.ok(cluster.node(id).status().commit >= 3);
  }

  // The other branch: once S1's term-4 entry reaches a majority, index 2 commits with it.
  const happy = build();
  happy.campaign(1);
  happy.dropIf = () => false;
  happy.tickAll(2);
  assert.ok(happy.node(1).status().commit >= 3);
  assert.equal(happy.node(1).termAt(2), 2);
  assert.equal(happy.disk(1).applied[1]?.term, 2, 'index 2 of term 2 applied once committed indirectly');
});

test("the leader counts its own copy only once it is durable (advance), though its appends went out first", () => {
  const cluster = new TestCluster(3);
  cluster.campaign(1);
  cluster.tickAll(1);
  cluster.isolate(3);
  const leader = cluster.node(1);
  const commitBefore = leader.status().commit;
  leader.propose([bytes('x')]);
  const ready = leader.ready();
  assert.equal(ready.entries.length, 1);
  const appends = ofType([...ready.messages], 'AppendEntries').filter((m) => m.to === 2);
  assert.equal(appends.length, 1, 'the append goes out in `messages`, before the leader persists');
  cluster.node(2).step(appends[0]!);
  cluster.process(2);
  const ack = cluster.inFlight.find((m) => m.type === 'AppendEntriesResponse' && m.to === 1)!;
  cluster.inFlight = [];
  leader.step(ack);
  assert.equal(leader.status().commit, commitBefore, 'leader + one follower is a quorum only once the leader is durable');
  leader.advance(ready);
  assert.equal(leader.status().commit, commitBefore + 1);
});

test('follower commit = min(leader commit, index of the last new entry)', () => {
  const node = newNode(1, [1, 2, 3]);
  node.step(appendTo(1, { term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, 1), entry(2, 1)], commit: 9 }));
  assert.equal(node.status().commit, 2);
  const drained = drain(node);
  assert.deepEqual(drained.committed.map((e) => e.index), [1, 2]);
  assert.deepEqual(drained.entries.map((e) => e.index), [1, 2], 'committed entries are handed out with (not before) their persist');
  const [ack] = ofType(drained.messagesAfterPersist, 'AppendEntriesResponse');
  assert.deepEqual(ack, { type: 'AppendEntriesResponse', from: 1, to: 2, term: 1, success: true, matchIndex: 2, hintIndex: 0, hintTerm: 0 });
  assert.equal(ofType(drained.messages, 'AppendEntriesResponse').length, 0, 'acks wait for persist');
});

test('truncation only on a real conflict: same index, different term', () => {
  const node = nodeWithLog(1, [1, 2, 3], [1, 1, 2, 2], 3);
  node.step(appendTo(1, { term: 3, prevLogIndex: 2, prevLogTerm: 1, entries: [entry(3, 3)] }));
  assert.equal(node.status().lastIndex, 3);
  assert.equal(node.termAt(3), 3);
  assert.equal(node.entryAt(4), undefined);
  const drained = drain(node);
  assert.deepEqual(drained.entries.map((e) => [e.index, e.term]), [[3, 3]], 'the rewritten suffix is persisted again');
});

test('a stale or duplicate append never truncates', () => {
  const node = nodeWithLog(1, [1, 2, 3], [1, 1, 1, 1], 1);
  // A reordered older append covering only a prefix: everything already held.
  node.step(appendTo(1, { term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, 1), entry(2, 1)] }));
  assert.equal(node.status().lastIndex, 4);
  // The same append twice, and one overlapping the end.
  node.step(appendTo(1, { term: 1, prevLogIndex: 2, prevLogTerm: 1, entries: [entry(3, 1), entry(4, 1), entry(5, 1)] }));
  node.step(appendTo(1, { term: 1, prevLogIndex: 2, prevLogTerm: 1, entries: [entry(3, 1), entry(4, 1), entry(5, 1)] }));
  node.step(appendTo(1, { term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 1)] }));
  assert.equal(node.status().lastIndex, 5);
  const acks = ofType(drain(node).messagesAfterPersist, 'AppendEntriesResponse');
  assert.deepEqual(acks.map((a) => [a.success, a.matchIndex]), [[true, 2], [true, 5], [true, 5], [true, 2]]);
});

test('a conflict on a committed entry is an invariant violation', () => {
  const node = nodeWithLog(1, [1, 2, 3], [1, 1, 2], 3, {}, 2);
  assert.throws(
    () => node.step(appendTo(1, { term: 3, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 3)] })),
    (error: unknown) => error instanceof RaftInvariantError && error.nodeId === 1 && error.index === 2,
  );
});

test('rejection hints: short log, and conflicting term with its first index', () => {
  const short = nodeWithLog(1, [1, 2, 3], [1, 1], 2);
  short.step(appendTo(1, { term: 2, prevLogIndex: 5, prevLogTerm: 2 }));
  let [reply] = ofType(drain(short).messagesAfterPersist, 'AppendEntriesResponse');
  assert.deepEqual([reply?.success, reply?.matchIndex, reply?.hintIndex, reply?.hintTerm], [false, 5, 3, 0]);

  const diverged = nodeWithLog(1, [1, 2, 3], [1, 1, 2, 2, 2, 3], 4);
  diverged.step(appendTo(1, { term: 4, prevLogIndex: 5, prevLogTerm: 4 }));
  [reply] = ofType(drain(diverged).messagesAfterPersist, 'AppendEntriesResponse');
  assert.deepEqual([reply?.success, reply?.matchIndex, reply?.hintIndex, reply?.hintTerm], [false, 5, 3, 2]);
});

/** Elect node 1 of a two-node cluster over logs built by hand; returns the append round trips used. */
function roundsToConverge(leaderTerms: number[], followerTerms: number[]): { rounds: number; rejections: number; cluster: TestCluster } {
  const cluster = new TestCluster(2);
  const term = Math.max(...leaderTerms, ...followerTerms);
  cluster.loadLog(1, leaderTerms, term);
  cluster.loadLog(2, followerTerms, term);
  cluster.campaign(1);
  const appendsToFollower = cluster.delivered.filter((m) => m.type === 'AppendEntries' && m.to === 2).length;
  const rejections = cluster.delivered.filter((m) => m.type === 'AppendEntriesResponse' && !m.success).length;
  return { rounds: appendsToFollower, rejections, cluster };
}

test('fast backtracking skips a whole term per round trip (leader lacks the term)', () => {
  // Raft Figure 7-like: the follower has a long run of terms 2 and 3 the leader never saw.
  const { rejections, cluster } = roundsToConverge([1, 1, 1, 4, 4, 5, 5, 6, 6, 6], [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]);
  assert.deepEqual(cluster.leaders(), [1]);
  assert.equal(rejections, 2, 'one rejection per conflicting term (3, then 2), not one per entry (8)');
  for (let index = 1; index <= 11; index++) assert.equal(cluster.node(2).termAt(index), cluster.node(1).termAt(index), `index ${index}`);
});

test('fast backtracking jumps to the leader\'s last entry of the follower\'s term', () => {
  const { rejections, cluster } = roundsToConverge([1, 1, 2, 2, 2, 4], [1, 1, 2, 2, 2, 2, 2, 3, 3]);
  assert.equal(rejections, 1);
  assert.equal(cluster.node(2).status().lastIndex, 7);
  assert.equal(cluster.node(2).termAt(6), 4);
});

test('fast backtracking for a short follower log jumps to its end at once', () => {
  const { rejections, cluster } = roundsToConverge([1, 1, 1, 1, 1, 1, 1, 1, 1, 2], [1]);
  assert.equal(rejections, 1);
  assert.equal(cluster.node(2).status().lastIndex, 11);
});

function electedWithQuietFollowers(overrides: Parameters<typeof newNode>[2]): TestCluster {
  const cluster = new TestCluster(3, overrides);
  cluster.campaign(1);
  cluster.tickAll(1);
  for (const id of [2, 3]) assert.equal(cluster.node(1).status().progress!.get(id)!.state, 'replicate');
  cluster.delivered = [];
  return cluster;
}

function appendsTo(messages: Message[], to: number): AppendEntriesRequest[] {
  return ofType(messages, 'AppendEntries').filter((m) => m.to === to && m.entries.length > 0);
}

test('inflightMax: exactly N appends outstanding to a follower, and each ack frees one slot', () => {
  for (const inflightMax of [1, 3]) {
    const cluster = electedWithQuietFollowers({ inflightMax, batchEntriesMax: 1 });
    const leader = cluster.node(1);
    for (let i = 0; i < 10; i++) leader.propose([bytes(`p${i}`)]);
    const sent = allMessages(drain(leader));
    const toTwo = appendsTo(sent, 2);
    assert.equal(toTwo.length, inflightMax, `inflightMax ${inflightMax}: not ${inflightMax + 1}`);
    assert.equal(leader.status().progress!.get(2)!.inflight, inflightMax);
    // Deliver the first append only; its ack frees exactly one slot, which is refilled at once.
    const follower = cluster.node(2);
    follower.step(toTwo[0]!);
    const ack = ofType(drain(follower).messagesAfterPersist, 'AppendEntriesResponse')[0]!;
    leader.step(ack);
    const refill = appendsTo(allMessages(drain(leader)), 2);
    assert.equal(refill.length, 1);
    assert.equal(leader.status().progress!.get(2)!.inflight, inflightMax);
  }
});

test('batching: at most batchEntriesMax per append', () => {
  const cluster = electedWithQuietFollowers({ inflightMax: 1, batchEntriesMax: 3 });
  const leader = cluster.node(1);
  cluster.isolate(3);
  for (let i = 0; i < 10; i++) leader.propose([bytes(`p${i}`)]);
  cluster.stabilize();
  const sizes = appendsTo(cluster.delivered, 2).map((m) => m.entries.length);
  assert.deepEqual(sizes, [3, 3, 3, 1], 'everything proposed before the Ready goes out in batches of 3, the window allowing');
});

test('batching: at most batchBytesMax of payload per append; a larger entry goes alone', () => {
  const cluster = electedWithQuietFollowers({ inflightMax: 1, batchBytesMax: 10 });
  const leader = cluster.node(1);
  cluster.isolate(3);
  const payloads = ['aaaa', 'bbbb', 'cccc', 'dddd', 'e'.repeat(25), 'ffff', 'gggg'];
  for (const payload of payloads) leader.propose([bytes(payload)]);
  cluster.stabilize();
  const batches = appendsTo(cluster.delivered, 2).map((m) => m.entries.map((e) => e.data.length));
  assert.deepEqual(batches, [[4, 4], [4, 4], [25], [4, 4]]);
});

test('an idle leader sends exactly one heartbeat per follower per heartbeatTicks and nothing else', () => {
  const cluster = new TestCluster(3, { heartbeatTicks: 2, electionTicks: 10 });
  cluster.campaign(1);
  cluster.tickAll(2);
  cluster.delivered = [];
  cluster.tickAll(20);
  const fromLeader = cluster.delivered.filter((m) => m.from === 1);
  assert.equal(fromLeader.filter((m) => m.type === 'Heartbeat').length, 20, '10 rounds × 2 followers');
  assert.equal(fromLeader.length, 20, 'no appends when idle');
  assert.equal(cluster.delivered.length, 40, 'plus one response each');
});

test('heartbeats carry min(leader commit, follower match)', () => {
  const cluster = new TestCluster(3);
  cluster.campaign(1);
  cluster.tickAll(1);
  cluster.cut(1, 3);
  for (let i = 0; i < 5; i++) cluster.propose(1, `x${i}`);
  cluster.stabilize();
  cluster.inFlight = [];
  cluster.node(1).tick();
  const heartbeats = ofType(allMessages(drain(cluster.node(1))), 'Heartbeat');
  const leaderCommit = cluster.node(1).status().commit;
  assert.equal(heartbeats.find((m) => m.to === 2)?.commit, leaderCommit);
  assert.equal(heartbeats.find((m) => m.to === 3)?.commit, 1, 'node 3 holds only up to 1');
});

test('a replicate follower whose whole window was lost recovers via heartbeat responses', () => {
  const cluster = electedWithQuietFollowers({ inflightMax: 2 });
  cluster.dropIf = (m) => m.type === 'AppendEntries' && m.to === 2;
  for (let i = 0; i < 6; i++) cluster.propose(1, `x${i}`);
  cluster.stabilize();
  cluster.dropIf = () => false;
  cluster.tickAll(4);
  assert.equal(cluster.node(2).status().lastIndex, cluster.node(1).status().lastIndex);
  assert.equal(cluster.node(2).status().commit, cluster.node(1).status().commit);
});

test('messages are bounded when the host does not collect Readies', () => {
  const cluster = new TestCluster(3);
  cluster.campaign(1);
  const leader = cluster.node(1);
  for (let i = 0; i < 100_000; i++) leader.tick();
  const ready = leader.ready();
  assert.ok(ready.messages.length < 10_000, `${ready.messages.length} queued`);
  assert.ok(leader.droppedMessageCount > 0);
  leader.advance(ready);
});

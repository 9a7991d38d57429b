import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from './cluster.js';
import { allMessages, drain, newNode, nodeWithLog, ofType, tickUntilCampaign } from './drive.js';
import { RaftNode } from '../../src/raft/raft.js';
import { makeConfig } from './cluster.js';
import { createPrng } from '../../src/random/prng.js';

for (const size of [1, 3, 5]) {
  test(`a ${size}-node cluster elects exactly one leader and commits its no-op`, () => {
    const cluster = new TestCluster(size);
    cluster.campaign(1);
    assert.deepEqual(cluster.leaders(), [1]);
    for (const id of cluster.ids) {
      const status = cluster.node(id).status();
      assert.equal(status.term, 1, `node ${id} term`);
      assert.equal(status.leader, 1, `node ${id} knows the leader`);
    }
    cluster.tickAll(1);
    for (const id of cluster.ids) assert.equal(cluster.node(id).status().commit, 1, `node ${id} commit`);
  });
}

test('a single node elects itself on its own first timeout and commits alone', () => {
  const node = newNode(1, [1]);
  const ticks = tickUntilCampaign(node);
  assert.ok(ticks >= 10 && ticks < 20, `timeout ${ticks} within [T, 2T)`);
  assert.equal(node.status().role, 'leader');
  const first = drain(node);
  assert.equal(first.entries.length, 1, 'the no-op is persisted');
  // It is committed only once the leader's own copy is durable, which the first advance confirmed.
  assert.equal(node.status().commit, 1);
  assert.equal(first.committed.length, 1);
});

test('election timeouts are drawn from [electionTicks, 2*electionTicks) and vary with the seed', () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 40; seed++) {
    const node = new RaftNode(makeConfig(1, [1, 2, 3], {}, seed));
    const ticks = tickUntilCampaign(node);
    assert.ok(ticks >= 10 && ticks < 20, `seed ${seed}: ${ticks}`);
    seen.add(ticks);
  }
  assert.ok(seen.size >= 5, `jitter spreads timeouts, saw ${[...seen].join(',')}`);
  // Same seed, same timeout: replayable.
  const a = tickUntilCampaign(new RaftNode({ ...makeConfig(1, [1, 2, 3]), prng: createPrng(7) }));
  const b = tickUntilCampaign(new RaftNode({ ...makeConfig(1, [1, 2, 3]), prng: createPrng(7) }));
  assert.equal(a, b);
});

test('a vote request goes out only after the candidate persists its own vote', () => {
  const node = newNode(1, [1, 2, 3]);
  tickUntilCampaign(node);
  const ready = node.ready();
  assert.deepEqual(ready.hardState, { term: 1, vote: 1, commit: 0 });
  assert.equal(ofType([...ready.messages], 'Vote').length, 0);
  assert.equal(ofType([...ready.messagesAfterPersist], 'Vote').length, 2);
  node.advance(ready);
});

test('vote granting: one vote per term, persisted before the response goes out', () => {
  const node = newNode(1, [1, 2, 3]);
  node.step({ type: 'Vote', from: 2, to: 1, term: 5, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
  const first = node.ready();
  assert.deepEqual(first.hardState, { term: 5, vote: 2, commit: 0 });
  assert.deepEqual(first.messages, []);
  assert.deepEqual(first.messagesAfterPersist, [{ type: 'VoteResponse', from: 1, to: 2, term: 5, granted: true }]);
  node.advance(first);
  // Another candidate in the same term is refused; the same one asking again is granted again.
  node.step({ type: 'Vote', from: 3, to: 1, term: 5, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
  node.step({ type: 'Vote', from: 2, to: 1, term: 5, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
  const answers = ofType(allMessages(drain(node)), 'VoteResponse');
  assert.deepEqual(answers.map((m) => [m.to, m.granted]), [[3, false], [2, true]]);
});

test('vote granting: only to a log at least as up to date (last term first, then length)', () => {
  const cases: { voter: number[]; lastLogTerm: number; lastLogIndex: number; granted: boolean }[] = [
    { voter: [1, 1, 2], lastLogTerm: 2, lastLogIndex: 3, granted: true }, // equal
    { voter: [1, 1, 2], lastLogTerm: 2, lastLogIndex: 4, granted: true }, // longer
    { voter: [1, 1, 2], lastLogTerm: 2, lastLogIndex: 2, granted: false }, // shorter, same term
    { voter: [1, 1, 2], lastLogTerm: 3, lastLogIndex: 1, granted: true }, // higher last term wins over length
    { voter: [1, 1, 2], lastLogTerm: 1, lastLogIndex: 9, granted: false }, // lower last term loses despite length
  ];
  for (const c of cases) {
    const node = nodeWithLog(1, [1, 2, 3], c.voter, 3);
    node.step({ type: 'Vote', from: 2, to: 1, term: 4, lastLogIndex: c.lastLogIndex, lastLogTerm: c.lastLogTerm, transfer: false });
    const [answer] = ofType(allMessages(drain(node)), 'VoteResponse');
    assert.equal(answer?.granted, c.granted, JSON.stringify(c));
    assert.equal(node.status().vote, c.granted ? 2 : 0);
    assert.equal(node.status().term, 4, 'the higher term is adopted either way');
  }
});

test('check-quorum lease: a node that heard from its leader ignores a non-transfer vote, not a transfer one', () => {
  const node = newNode(1, [1, 2, 3], { checkQuorum: true });
  node.step({ type: 'Heartbeat', from: 2, to: 1, term: 3, commit: 0, round: 0 });
  drain(node);
  node.step({ type: 'Vote', from: 3, to: 1, term: 4, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
  assert.equal(node.status().term, 3, 'the disruptive term is not adopted');
  assert.deepEqual(allMessages(drain(node)), []);
  node.step({ type: 'Vote', from: 3, to: 1, term: 4, lastLogIndex: 0, lastLogTerm: 0, transfer: true });
  const [answer] = ofType(allMessages(drain(node)), 'VoteResponse');
  assert.equal(answer?.granted, true);
  assert.equal(node.status().term, 4);
});

test('check-quorum lease expires after an election timeout without the leader', () => {
  const node = newNode(1, [1, 2, 3], { checkQuorum: true, electionTicks: 10 });
  node.step({ type: 'Heartbeat', from: 2, to: 1, term: 3, commit: 0, round: 0 });
  for (let i = 0; i < 9; i++) node.tick();
  drain(node);
  node.step({ type: 'Vote', from: 3, to: 1, term: 4, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
  assert.equal(node.status().term, 3, 'still inside the lease at 9 ticks');
  node.tick(); // 10 ticks: lease over (the node may also have campaigned by now, at most at term 4)
  drain(node);
  node.step({ type: 'Vote', from: 3, to: 1, term: 5, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
  const answers = ofType(allMessages(drain(node)), 'VoteResponse');
  assert.equal(answers.at(-1)?.granted, true);
});

test('pre-vote: a partitioned node does not inflate its term, and rejoins without deposing the leader', () => {
  const cluster = new TestCluster(3, { preVote: true });
  cluster.campaign(1);
  assert.deepEqual(cluster.leaders(), [1]);
  cluster.isolate(3);
  // Node 3 times out again and again, but every pre-vote is lost: its term stays at 1.
  for (let i = 0; i < 100; i++) {
    cluster.node(3).tick();
    cluster.process(3);
    cluster.inFlight = cluster.inFlight.filter((m) => m.from !== 3);
  }
  assert.equal(cluster.node(3).status().term, 1);
  assert.equal(cluster.node(3).status().role, 'pre-candidate');
  cluster.heal();
  cluster.tickAll(3);
  assert.deepEqual(cluster.leaders(), [1]);
  for (const id of cluster.ids) assert.equal(cluster.node(id).status().term, 1, `node ${id} term`);
});

test('pre-vote: voters refuse while their leader is live and never adopt the pre-vote term', () => {
  const node = newNode(1, [1, 2, 3], { preVote: true });
  node.step({ type: 'Heartbeat', from: 2, to: 1, term: 2, commit: 0, round: 0 });
  drain(node);
  node.step({ type: 'PreVote', from: 3, to: 1, term: 3, lastLogIndex: 0, lastLogTerm: 0 });
  let [answer] = ofType(allMessages(drain(node)), 'PreVoteResponse');
  assert.deepEqual(answer, { type: 'PreVoteResponse', from: 1, to: 3, term: 2, granted: false });
  for (let i = 0; i < 10; i++) node.tick(); // leader silent for a full election timeout
  drain(node);
  const before = node.status();
  node.step({ type: 'PreVote', from: 3, to: 1, term: before.term + 1, lastLogIndex: 0, lastLogTerm: 0 });
  [answer] = ofType(allMessages(drain(node)), 'PreVoteResponse');
  assert.equal(answer?.granted, true);
  assert.equal(node.status().term, before.term, 'pre-vote term not adopted');
  assert.equal(node.status().vote, before.vote, 'pre-vote casts no vote');
});

test('pre-vote: a pre-candidate becomes a candidate only with a quorum of pre-votes', () => {
  const node = newNode(1, [1, 2, 3, 4, 5], { preVote: true });
  tickUntilCampaign(node);
  assert.equal(node.status().role, 'pre-candidate');
  const preVotes = ofType(allMessages(drain(node)), 'PreVote');
  assert.equal(preVotes.length, 4);
  assert.ok(preVotes.every((m) => m.term === 1));
  assert.equal(node.status().term, 0);
  node.step({ type: 'PreVoteResponse', from: 2, to: 1, term: 1, granted: true });
  assert.equal(node.status().role, 'pre-candidate', '2 of 5 is not a quorum');
  node.step({ type: 'PreVoteResponse', from: 2, to: 1, term: 1, granted: true });
  assert.equal(node.status().role, 'pre-candidate', 'a duplicate grant counts once');
  node.step({ type: 'PreVoteResponse', from: 3, to: 1, term: 1, granted: true });
  assert.equal(node.status().role, 'candidate');
  assert.equal(node.status().term, 1);
});

test('a candidate with a quorum of refusals steps back to follower', () => {
  const node = newNode(1, [1, 2, 3]);
  tickUntilCampaign(node);
  drain(node);
  node.step({ type: 'VoteResponse', from: 2, to: 1, term: 1, granted: false });
  assert.equal(node.status().role, 'candidate');
  node.step({ type: 'VoteResponse', from: 3, to: 1, term: 1, granted: false });
  assert.equal(node.status().role, 'follower');
});

test('any message with a higher term makes a leader step down', () => {
  const cluster = new TestCluster(3);
  cluster.campaign(1);
  const leader = cluster.node(1);
  leader.step({ type: 'HeartbeatResponse', from: 2, to: 1, term: 7, round: 0 });
  assert.equal(leader.status().role, 'follower');
  assert.equal(leader.status().term, 7);
  assert.equal(leader.status().leader, 0);
});

test('check-quorum: a leader that hears from no quorum for an election timeout steps down', () => {
  const cluster = new TestCluster(3, { checkQuorum: true, electionTicks: 10, heartbeatTicks: 2 });
  cluster.campaign(1);
  cluster.isolate(1);
  let ticks = 0;
  while (cluster.node(1).status().role === 'leader' && ticks < 100) {
    cluster.node(1).tick();
    cluster.process(1);
    cluster.inFlight = [];
    ticks += 1;
  }
  assert.equal(cluster.node(1).status().role, 'follower');
  // Responses received at election start count for the first round, so it takes one to two rounds.
  assert.ok(ticks > 10 && ticks <= 20, `stepped down after ${ticks} ticks`);

  // Without check-quorum, the same leader stays leader forever.
  const blind = new TestCluster(3, { checkQuorum: false });
  blind.campaign(1);
  blind.isolate(1);
  for (let i = 0; i < 100; i++) blind.node(1).tick();
  assert.equal(blind.node(1).status().role, 'leader');
});

test('check-quorum: a leader that keeps hearing from a quorum stays leader', () => {
  const cluster = new TestCluster(5, { checkQuorum: true });
  cluster.campaign(1);
  cluster.cut(1, 4);
  cluster.cut(1, 5);
  for (let i = 0; i < 50; i++) {
    cluster.node(1).tick();
    cluster.node(2).tick();
    cluster.node(3).tick();
    cluster.stabilize();
  }
  assert.equal(cluster.node(1).status().role, 'leader');
});

test('a stale leader learns the new term from the answer to its append', () => {
  const node = newNode(2, [1, 2, 3]);
  node.step({ type: 'Heartbeat', from: 3, to: 2, term: 4, commit: 0, round: 0 });
  drain(node);
  node.step({ type: 'AppendEntries', from: 1, to: 2, term: 2, prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 0 });
  const [answer] = allMessages(drain(node));
  assert.deepEqual(answer, { type: 'HeartbeatResponse', from: 2, to: 1, term: 4, round: 0 });
  assert.equal(node.status().leader, 3);
});

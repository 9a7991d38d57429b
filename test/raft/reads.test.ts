// Reads without the log (read-only.ts): ReadIndex rounds, follower read index, leases, and the
// vote rules that make a lease safe. Each test drives the core by hand through TestCluster and
// asserts the message pattern its name promises.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, makeConfig } from './cluster.js';
import { ofType } from './drive.js';
import { RaftConfigError } from '../../src/raft/errors.js';
import { RaftNode } from '../../src/raft/raft.js';
import { leaseTicksSafeMax } from '../../src/raft/read-only.js';
import type { HeartbeatRequest, Message } from '../../src/raft/types.js';

/** A 3-node cluster with node 1 leading and its no-op committed everywhere. */
function settledCluster(overrides: ConstructorParameters<typeof TestCluster>[1] = {}): TestCluster {
  const cluster = new TestCluster(3, { heartbeatTicks: 1, electionTicks: 10, ...overrides });
  cluster.campaign(1);
  cluster.stabilize();
  cluster.tickAll(1);
  assert.equal(cluster.node(1).status().role, 'leader');
  cluster.delivered = [];
  return cluster;
}

function reads(cluster: TestCluster, id: number): { context: number; index: number; via: string }[] {
  return (cluster.readStates.get(id) ?? []).map(({ context, index, via }) => ({ context, index, via }));
}

test('read-index: a burst of reads shares one heartbeat round, released once a quorum echoes it', () => {
  const cluster = settledCluster();
  const leader = cluster.node(1);
  const commit = leader.status().commit;
  for (const context of [11, 12, 13]) assert.deepEqual(leader.readIndex(context), { ok: true, via: 'read-index' });
  cluster.process(1);
  const heartbeats = ofType(cluster.inFlight, 'Heartbeat');
  assert.equal(heartbeats.length, 2, 'one heartbeat per follower for three reads');
  assert.equal(new Set(heartbeats.map((m) => m.round)).size, 1, 'both carry the same round');
  assert.deepEqual(reads(cluster, 1), [], 'nothing released before the round is echoed');
  cluster.stabilize();
  assert.deepEqual(reads(cluster, 1), [11, 12, 13].map((context) => ({ context, index: commit, via: 'read-index' })));
});

test('read-index: echoes of a round sent before the read was asked do not release it', () => {
  const cluster = settledCluster();
  const leader = cluster.node(1);
  leader.tick(); // a periodic heartbeat round r goes out …
  cluster.process(1);
  const roundR = ofType(cluster.inFlight, 'Heartbeat');
  cluster.inFlight = [];
  assert.equal(leader.readIndex(7).ok, true); // … and the read is asked after it
  cluster.process(1);
  const roundNext = ofType(cluster.inFlight, 'Heartbeat');
  assert.ok(roundNext[0]!.round > roundR[0]!.round);
  cluster.inFlight = [...roundR];
  cluster.stabilize();
  assert.deepEqual(reads(cluster, 1), [], 'a quorum echoed only the older round');
  cluster.inFlight = [...roundNext];
  cluster.stabilize();
  assert.deepEqual(reads(cluster, 1).map((read) => read.context), [7]);
});

test('read-index: a new leader serves no read until an entry of its own term has committed', () => {
  const cluster = new TestCluster(3, { heartbeatTicks: 1, electionTicks: 10 });
  // Appends never arrive, so the new leader's no-op cannot commit; heartbeats still do.
  cluster.dropIf = (m) => m.type === 'AppendEntries';
  cluster.campaign(1);
  const leader = cluster.node(1);
  assert.equal(leader.status().role, 'leader');
  assert.equal(leader.readIndex(5).ok, true);
  cluster.tickAll(3);
  assert.ok(cluster.delivered.some((m) => m.type === 'HeartbeatResponse' && m.round > 0), 'rounds were echoed');
  assert.deepEqual(reads(cluster, 1), [], 'no read before the term commits');
  cluster.heal();
  cluster.tickAll(2);
  const noOp = leader.status().lastIndex;
  assert.deepEqual(reads(cluster, 1), [{ context: 5, index: noOp, via: 'read-index' }], 'served at the commit index once the no-op committed');
});

test('follower read index: the follower asks the leader and serves at the index it is given', () => {
  const cluster = settledCluster();
  cluster.propose(1, 'x');
  cluster.stabilize();
  const commit = cluster.node(1).status().commit;
  assert.deepEqual(cluster.node(2).readIndex(21), { ok: true, via: 'read-index' });
  cluster.stabilize();
  assert.equal(cluster.delivered.filter((m) => m.type === 'ReadIndex').length, 1);
  assert.deepEqual(reads(cluster, 2), [{ context: 21, index: commit, via: 'read-index' }]);
  assert.ok(cluster.node(2).status().commit >= commit, 'the confirming heartbeat also carried the commit index');
});

test('follower read index: a read forwarded to a leader that loses leadership fails instead of hanging', () => {
  const cluster = settledCluster();
  assert.equal(cluster.node(2).readIndex(31).ok, true);
  cluster.process(2);
  cluster.inFlight = []; // the request is lost
  cluster.isolate(1);
  cluster.campaign(3);
  assert.equal(cluster.node(3).status().role, 'leader');
  assert.equal(cluster.node(2).status().leader, 3);
  assert.deepEqual(cluster.failedReads.get(2)?.map(({ context, reason }) => ({ context, reason })), [{ context: 31, reason: 'leader-changed' }]);
});

test("a leader's pending reads fail when it steps down", () => {
  const cluster = settledCluster();
  const leader = cluster.node(1);
  assert.equal(leader.readIndex(41).ok, true);
  cluster.process(1);
  cluster.inFlight = [];
  leader.step({ type: 'AppendEntries', from: 2, to: 1, term: leader.status().term + 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 0 });
  cluster.process(1);
  assert.deepEqual(cluster.failedReads.get(1), [{ context: 41, reason: 'leader-changed', leader: 2 }]);
});

test('lease: a leader with a confirmed round answers reads with no message, until leaseTicks after that round was sent', () => {
  const leaseTicks = 4;
  const cluster = settledCluster({ leaseTicks });
  const leader = cluster.node(1);
  leader.tick(); // round sent at this tick
  const sentAt = leader.status().tick;
  cluster.stabilize();
  assert.equal(leader.status().leaseExpiryTick, sentAt + leaseTicks);
  cluster.delivered = [];
  assert.deepEqual(leader.leaseRead(51), { ok: true, via: 'lease' });
  cluster.process(1);
  assert.deepEqual(reads(cluster, 1), [{ context: 51, index: leader.status().commit, via: 'lease' }]);
  assert.equal(cluster.inFlight.length, 0, 'a lease read costs no message');
  // Cut off from its quorum, the leader keeps its lease exactly until it runs out.
  cluster.isolate(1);
  while (leader.status().tick < sentAt + leaseTicks - 1) leader.tick();
  assert.deepEqual(leader.leaseRead(52), { ok: true, via: 'lease' });
  cluster.process(1);
  assert.equal(reads(cluster, 1).at(-1)!.via, 'lease', 'still inside the lease');
  leader.tick();
  assert.equal(leader.status().leaseExpiryTick, 0, 'expired');
  assert.deepEqual(leader.leaseRead(53), { ok: true, via: 'read-index' }, 'after expiry the read falls back to a round');
  cluster.process(1);
  assert.equal(reads(cluster, 1).at(-1)!.context, 52, 'the read after expiry waits for a round instead of being served');
});

test('lease: a leadership transfer ends the lease for the rest of the term', () => {
  const cluster = settledCluster({ leaseTicks: 4 });
  const leader = cluster.node(1);
  leader.tick();
  cluster.stabilize();
  assert.ok(leader.status().leaseExpiryTick > 0);
  cluster.dropIf = (m) => m.type === 'TimeoutNow';
  assert.equal(leader.transferLeadership(2).ok, true);
  leader.tick();
  cluster.stabilize();
  assert.equal(leader.status().leaseExpiryTick, 0, 'no lease after a transfer started, even with rounds confirmed since');
  assert.deepEqual(leader.leaseRead(61), { ok: true, via: 'read-index' });
  cluster.stabilize();
  assert.equal(reads(cluster, 1).at(-1)!.via, 'read-index');
});

test('lease: the lease must be shorter than the election timeout minus the drift bound, unless marked unsafe', () => {
  assert.equal(leaseTicksSafeMax(10, 0.05), 8); // ⌊9 · 0.95 / 1.05⌋
  const config = (leaseTicks: number, leaseUnsafe?: boolean) => ({ ...makeConfig(1, [1, 2, 3], { electionTicks: 10, leaseTicks }), ...(leaseUnsafe === undefined ? {} : { leaseUnsafe }) });
  assert.doesNotThrow(() => new RaftNode(config(8)));
  assert.throws(() => new RaftNode(config(9)), (error: unknown) => error instanceof RaftConfigError && error.field === 'leaseTicks' && /at most 8/.test(error.message));
  assert.doesNotThrow(() => new RaftNode(config(9, true)));
});

test('lease: with leases on (check-quorum off) a follower that heard from the leader refuses votes — but grants a transfer vote', () => {
  const cluster = settledCluster({ leaseTicks: 4, checkQuorum: false, preVote: false });
  const follower = cluster.node(2);
  const term = follower.status().term;
  const lastLogIndex = follower.status().lastIndex;
  const vote = (transfer: boolean): Message => ({ type: 'Vote', from: 3, to: 2, term: term + 1, lastLogIndex, lastLogTerm: term, transfer });
  follower.step(vote(false));
  cluster.process(2);
  assert.equal(follower.status().term, term, 'the vote request was ignored, its term not adopted');
  assert.equal(ofType(cluster.inFlight, 'VoteResponse').length, 0);
  follower.step(vote(true));
  cluster.process(2);
  assert.deepEqual(ofType(cluster.inFlight, 'VoteResponse').map((m) => m.granted), [true]);
});

test('lease: without leases (and without check-quorum) the same vote is granted — the rule above is what leases add', () => {
  const cluster = settledCluster({ checkQuorum: false, preVote: false });
  const follower = cluster.node(2);
  const term = follower.status().term;
  follower.step({ type: 'Vote', from: 3, to: 2, term: term + 1, lastLogIndex: follower.status().lastIndex, lastLogTerm: term, transfer: false });
  cluster.process(2);
  assert.deepEqual(ofType(cluster.inFlight, 'VoteResponse').map((m) => m.granted), [true]);
});

test('lease: a restarted node refuses votes for an election timeout (it may have echoed a lease round just before it crashed)', () => {
  const cluster = settledCluster({ leaseTicks: 4, checkQuorum: false, preVote: false });
  cluster.restart(2, { heartbeatTicks: 1, electionTicks: 10, leaseTicks: 4, checkQuorum: false, preVote: false });
  const follower = cluster.node(2);
  const status = follower.status();
  const vote: Message = { type: 'Vote', from: 3, to: 2, term: status.term + 1, lastLogIndex: status.lastIndex, lastLogTerm: status.term, transfer: false };
  follower.step(vote);
  cluster.process(2);
  assert.equal(ofType(cluster.inFlight, 'VoteResponse').length, 0, 'refused right after the restart');
  cluster.inFlight = [];
  for (let k = 0; k < 10; k++) follower.tick();
  follower.step(vote);
  cluster.process(2);
  assert.deepEqual(ofType(cluster.inFlight, 'VoteResponse').map((m) => m.granted), [true], 'granted once an election timeout passed');
});

test('heartbeats carry a round that followers echo; a stale heartbeat is answered with round 0', () => {
  const cluster = settledCluster();
  cluster.node(1).tick();
  cluster.process(1);
  const heartbeat = ofType(cluster.inFlight, 'Heartbeat')[0] as HeartbeatRequest;
  cluster.stabilize();
  const echo = cluster.delivered.find((m) => m.type === 'HeartbeatResponse' && m.from === heartbeat.to);
  assert.deepEqual(echo && echo.type === 'HeartbeatResponse' ? echo.round : undefined, heartbeat.round);
  const follower = cluster.node(2);
  follower.step({ type: 'Heartbeat', from: 1, to: 2, term: 0, commit: 0, round: 99 });
  cluster.process(2);
  assert.deepEqual(
    ofType(cluster.inFlight, 'HeartbeatResponse').map((m) => m.round),
    [0],
  );
});

test('lease: it runs from when the confirmed round was sent, not from when its echoes arrived', () => {
  const leaseTicks = 4;
  const cluster = settledCluster({ leaseTicks, heartbeatTicks: 5 });
  const leader = cluster.node(1);
  let sentAt = 0;
  for (let k = 0; k < 5 && sentAt === 0; k++) {
    leader.tick();
    cluster.process(1);
    if (ofType(cluster.inFlight, 'Heartbeat').length > 0) sentAt = leader.status().tick;
  }
  assert.ok(sentAt > 0, 'a periodic round went out');
  leader.tick();
  leader.tick(); // the echoes arrive two ticks after the round left
  cluster.stabilize();
  assert.equal(leader.status().leaseExpiryTick, sentAt + leaseTicks);
});

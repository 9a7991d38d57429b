import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, bytes } from './cluster.js';
import { allMessages, drain, ofType } from './drive.js';

for (const options of [{ preVote: false, checkQuorum: false }, { preVote: true, checkQuorum: true }]) {
  test(`transfer to a caught-up follower: TimeoutNow, and it wins at once (preVote=${options.preVote}, checkQuorum=${options.checkQuorum})`, () => {
    const cluster = new TestCluster(3, options);
    cluster.campaign(1);
    cluster.tickAll(1);
    cluster.delivered = [];
    assert.deepEqual(cluster.node(1).transferLeadership(2), { ok: true });
    const sent = allMessages(drain(cluster.node(1)));
    assert.deepEqual(ofType(sent, 'TimeoutNow').map((m) => m.to), [2]);
    cluster.inFlight.push(...sent);
    cluster.stabilize();
    assert.deepEqual(cluster.leaders(), [2]);
    assert.equal(cluster.node(2).status().term, 2, 'the target skipped pre-vote and won the next term');
    const votes = cluster.delivered.filter((m) => m.type === 'Vote');
    assert.ok(votes.length > 0 && votes.every((m) => m.type === 'Vote' && m.transfer));
  });
}

test('proposals are refused while a transfer is in progress', () => {
  const cluster = new TestCluster(3);
  cluster.campaign(1);
  cluster.isolate(2);
  cluster.node(1).transferLeadership(2);
  assert.deepEqual(cluster.node(1).propose([bytes('x')]), { ok: false, reason: 'transferring', leader: 1 });
  assert.equal(cluster.node(1).status().transferee, 2);
});

test('transfer to a lagging follower replicates to it first, then sends TimeoutNow', () => {
  const cluster = new TestCluster(3);
  cluster.campaign(1);
  cluster.cut(1, 3);
  for (let i = 0; i < 5; i++) cluster.propose(1, `x${i}`);
  cluster.stabilize();
  cluster.heal();
  cluster.delivered = [];
  assert.deepEqual(cluster.node(1).transferLeadership(3), { ok: true });
  // Node 3's window is full of lost appends; heartbeat responses recover it, then it catches up.
  for (let i = 0; i < 5 && cluster.leaders()[0] === 1; i++) cluster.tickAll(1);
  const toThree = cluster.delivered.filter((m) => m.from === 1 && m.to === 3).map((m) => m.type);
  const firstTimeoutNow = toThree.indexOf('TimeoutNow');
  assert.ok(firstTimeoutNow > 0, 'TimeoutNow only after appends');
  assert.ok(toThree.slice(0, firstTimeoutNow).includes('AppendEntries'));
  assert.deepEqual(cluster.leaders(), [3]);
  cluster.tickAll(1);
  assert.deepEqual(cluster.appliedTexts(3), ['x0', 'x1', 'x2', 'x3', 'x4']);
});

test('a transfer that does not finish within an election timeout is abandoned', () => {
  const cluster = new TestCluster(3, { electionTicks: 10 });
  cluster.campaign(1);
  cluster.isolate(3);
  assert.deepEqual(cluster.node(1).transferLeadership(3), { ok: true });
  for (let i = 0; i < 9; i++) cluster.node(1).tick();
  assert.equal(cluster.node(1).status().transferee, 3);
  cluster.node(1).tick();
  assert.equal(cluster.node(1).status().transferee, 0);
  assert.equal(cluster.node(1).propose([bytes('after')]).ok, true);
  assert.equal(cluster.node(1).status().role, 'leader');
});

test('transfer refusals say why', () => {
  const cluster = new TestCluster(3);
  cluster.campaign(1);
  assert.deepEqual(cluster.node(2).transferLeadership(3), { ok: false, reason: 'not-leader' });
  assert.deepEqual(cluster.node(1).transferLeadership(1), { ok: false, reason: 'already-leader' });
  assert.deepEqual(cluster.node(1).transferLeadership(9), { ok: false, reason: 'unknown-target' });
  cluster.isolate(2);
  assert.deepEqual(cluster.node(1).transferLeadership(2), { ok: true });
  assert.deepEqual(cluster.node(1).transferLeadership(3), { ok: false, reason: 'transfer-in-progress' });
});

test('TimeoutNow from anyone but the current leader is ignored', () => {
  const cluster = new TestCluster(3);
  cluster.campaign(1);
  cluster.node(2).step({ type: 'TimeoutNow', from: 3, to: 2, term: 1 });
  assert.equal(cluster.node(2).status().role, 'follower');
});

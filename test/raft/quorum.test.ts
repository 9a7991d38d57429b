import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quorumMatchIndex, quorumSize, voteOutcome } from '../../src/raft/quorum.js';
import { Inflights } from '../../src/raft/inflights.js';
import { TestCluster } from './cluster.js';

test('quorum sizes for 1..7 voters are floor(n/2)+1, self included', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(quorumSize), [1, 2, 2, 3, 3, 4, 4]);
  assert.throws(() => quorumSize(0), RangeError);
});

test('the quorum match index is the highest index a majority holds', () => {
  assert.equal(quorumMatchIndex([5]), 5);
  assert.equal(quorumMatchIndex([5, 3]), 3);
  assert.equal(quorumMatchIndex([5, 3, 1]), 3);
  assert.equal(quorumMatchIndex([9, 1, 1, 8]), 1);
  assert.equal(quorumMatchIndex([9, 7, 1, 8, 2]), 7);
});

test('vote outcomes', () => {
  assert.equal(voteOutcome(2, 0, 3), 'won');
  assert.equal(voteOutcome(1, 1, 3), 'pending');
  assert.equal(voteOutcome(1, 2, 3), 'lost');
  assert.equal(voteOutcome(2, 2, 4), 'pending');
  assert.equal(voteOutcome(3, 0, 4), 'won');
});

for (let size = 1; size <= 7; size++) {
  test(`${size} voters: a candidate reaching exactly a quorum wins, one short does not`, () => {
    const needed = quorumSize(size);
    for (const reachable of [needed, needed - 1]) {
      if (reachable < 1) continue;
      const cluster = new TestCluster(size);
      // Node 1 plus (reachable - 1) others can talk; the rest are cut off from everyone.
      for (let id = reachable + 1; id <= size; id++) cluster.isolate(id);
      cluster.campaign(1);
      const won = cluster.node(1).status().role === 'leader';
      assert.equal(won, reachable >= needed, `${size} voters, ${reachable} reachable`);
      if (won) {
        cluster.tickAll(1);
        assert.equal(cluster.node(1).status().commit, 1, 'and commits with exactly that quorum');
      }
    }
  });
}

test('the inflight window holds exactly its capacity and frees by acknowledged index', () => {
  const window = new Inflights(3);
  window.add(2);
  window.add(4);
  window.add(6);
  assert.equal(window.full(), true);
  assert.throws(() => window.add(8), RangeError);
  window.freeUpTo(4);
  assert.equal(window.count, 1);
  window.add(8);
  window.add(9);
  assert.equal(window.count, 3);
  window.freeUpTo(100);
  assert.equal(window.count, 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, bytes } from './cluster.js';
import { drain, entry, newNode, nodeWithLog, ofType } from './drive.js';
import { RaftInvariantError } from '../../src/raft/errors.js';
import type { SnapshotMeta } from '../../src/raft/types.js';

const voters = [1, 2, 3];

function snapshotOf(cluster: TestCluster, id: number, index: number): SnapshotMeta {
  return { index, term: cluster.node(id).termAt(index)!, config: { voters } };
}

test('a follower behind a compacted prefix gets InstallSnapshot, installs it, then catches up', () => {
  const cluster = new TestCluster(3);
  cluster.campaign(1);
  cluster.isolate(3);
  for (let i = 0; i < 6; i++) cluster.propose(1, `x${i}`);
  cluster.stabilize();
  cluster.tickAll(1);
  const leader = cluster.node(1);
  const applied = leader.status().applied;
  assert.equal(applied, 7);
  leader.compact(snapshotOf(cluster, 1, 5));
  assert.equal(leader.status().firstIndex, 6);
  assert.equal(leader.entryAt(5), undefined);
  assert.equal(leader.termAt(5), 1);

  cluster.heal();
  cluster.delivered = [];
  cluster.tickAll(1);
  const snapshots = ofType(cluster.delivered, 'InstallSnapshot');
  assert.equal(snapshots.length, 1);
  assert.deepEqual(snapshots[0]!.snapshot, { index: 5, term: 1, config: { voters } });
  const follower = cluster.node(3);
  assert.equal(cluster.disk(3).snapshot?.index, 5, 'the Ready handed the snapshot to the host');
  assert.equal(follower.status().snapshotIndex, 5);
  cluster.tickAll(2);
  assert.equal(follower.status().lastIndex, 7);
  assert.equal(follower.status().commit, 7);
  assert.deepEqual(cluster.appliedTexts(3), ['x4', 'x5'], 'entries after the snapshot applied on top of it');
  assert.equal(cluster.node(1).status().progress!.get(3)!.state, 'replicate');
});

test('InstallSnapshot at or below the follower commit is answered with its commit and changes nothing', () => {
  const node = nodeWithLog(2, voters, [1, 1, 1, 1], 1, {}, 3);
  node.step({ type: 'InstallSnapshot', from: 1, to: 2, term: 1, snapshot: { index: 2, term: 1, config: { voters } } });
  const drained = drain(node);
  assert.equal(drained.readies.some((r) => r.snapshot !== null), false);
  const [reply] = ofType(drained.messagesAfterPersist, 'InstallSnapshotResponse');
  assert.deepEqual([reply?.success, reply?.matchIndex], [true, 3]);
  assert.equal(node.status().lastIndex, 4);
});

test('InstallSnapshot matching an entry the follower holds keeps its log and fast-forwards commit', () => {
  const node = nodeWithLog(2, voters, [1, 1, 2, 2, 2], 2, {}, 1);
  node.step({ type: 'InstallSnapshot', from: 1, to: 2, term: 2, snapshot: { index: 4, term: 2, config: { voters } } });
  const drained = drain(node);
  assert.equal(drained.readies.some((r) => r.snapshot !== null), false);
  assert.equal(node.status().lastIndex, 5, 'log kept');
  assert.equal(node.status().commit, 4);
  assert.deepEqual(drained.committed.map((e) => e.index), [1, 2, 3, 4], 'restored with nothing applied');
});

test('InstallSnapshot that does not match resets the log and is handed out before later entries', () => {
  const node = nodeWithLog(2, voters, [1, 1, 2, 2, 2], 3, {}, 1);
  const snapshot = { index: 4, term: 3, config: { voters } };
  node.step({ type: 'InstallSnapshot', from: 1, to: 2, term: 3, snapshot });
  node.step({ type: 'AppendEntries', from: 1, to: 2, term: 3, prevLogIndex: 4, prevLogTerm: 3, entries: [entry(5, 3)], commit: 5 });
  const ready = node.ready();
  assert.deepEqual(ready.snapshot, snapshot);
  assert.deepEqual(ready.entries.map((e) => [e.index, e.term]), [[5, 3]]);
  assert.deepEqual(ready.committedEntries.map((e) => e.index), [5], 'applied on top of the restored snapshot');
  node.advance(ready);
  const status = node.status();
  assert.deepEqual([status.snapshotIndex, status.firstIndex, status.lastIndex, status.commit, status.applied], [4, 5, 5, 5, 5]);
  assert.equal(node.entryAt(3), undefined);
});

test('restore from a snapshot plus later entries, then lead and replicate from it', () => {
  const snapshot = { index: 10, term: 2, config: { voters } };
  const restored = newNode(1, voters, {}, {
    hardState: { term: 3, vote: 1, commit: 11 },
    snapshot,
    entries: [entry(11, 3), entry(12, 3)],
    applied: 10,
  });
  const status = restored.status();
  assert.deepEqual([status.firstIndex, status.lastIndex, status.snapshotIndex, status.commit, status.applied, status.term], [11, 12, 10, 11, 10, 3]);
  assert.equal(restored.termAt(10), 2);
  assert.equal(restored.termAt(9), undefined);
  assert.equal(restored.entryAt(10), undefined);
  assert.equal(restored.termAt(0), 0, 'index 0 is "nothing", term 0, even after compaction');
  const first = drain(restored);
  assert.deepEqual(first.committed.map((e) => e.index), [11], 'applies from applied+1 up to commit');

  const cluster = new TestCluster(3);
  cluster.nodes.set(1, restored);
  cluster.disk(1).snapshot = snapshot;
  cluster.disk(1).entries = [entry(11, 3), entry(12, 3)];
  cluster.disk(1).appliedIndex = 11;
  cluster.campaign(1);
  cluster.tickAll(2);
  assert.deepEqual(cluster.leaders(), [1]);
  for (const id of [2, 3]) {
    assert.equal(cluster.disk(id).snapshot?.index, 10, `node ${id} got the snapshot`);
    assert.equal(cluster.node(id).status().commit, 13, `node ${id} commit`);
  }
});

test('compact rejects a snapshot above applied or with the wrong term', () => {
  const cluster = new TestCluster(1);
  cluster.campaign(1);
  cluster.propose(1, 'a');
  cluster.processAll();
  const node = cluster.node(1);
  assert.throws(() => node.compact({ index: 3, term: 1, config: { voters: [1] } }), RaftInvariantError);
  assert.throws(() => node.compact({ index: 2, term: 7, config: { voters: [1] } }), RaftInvariantError);
  node.compact({ index: 2, term: 1, config: { voters: [1] } });
  assert.equal(node.status().snapshotIndex, 2);
  node.compact({ index: 1, term: 1, config: { voters: [1] } }); // an older snapshot is a no-op
  assert.equal(node.status().snapshotIndex, 2);
});

test('a lost InstallSnapshot is retried after two election timeouts', () => {
  const cluster = new TestCluster(3, { electionTicks: 10 });
  cluster.campaign(1);
  cluster.isolate(3);
  for (let i = 0; i < 4; i++) cluster.propose(1, `x${i}`);
  cluster.tickAll(1);
  cluster.node(1).compact(snapshotOf(cluster, 1, 4));
  cluster.heal();
  const sentAtTick: number[] = [];
  let tick = 0;
  cluster.dropIf = (m) => {
    if (m.type !== 'InstallSnapshot') return false;
    sentAtTick.push(tick);
    return true;
  };
  for (tick = 1; tick <= 25; tick++) {
    cluster.node(1).tick();
    cluster.stabilize();
  }
  assert.equal(sentAtTick.length, 2, `sent at ticks ${sentAtTick.join(', ')}`);
  assert.equal(sentAtTick[1]! - sentAtTick[0]!, 20, 'once more after 2 × electionTicks without an answer');
});

test('the snapshot goes to the host as metadata and a proposal after it still commits', () => {
  const cluster = new TestCluster(1);
  cluster.campaign(1);
  cluster.propose(1, 'a');
  cluster.processAll();
  cluster.node(1).compact({ index: 2, term: 1, config: { voters: [1] } });
  cluster.propose(1, 'b');
  cluster.processAll();
  assert.deepEqual(cluster.appliedTexts(1), ['a', 'b']);
  assert.equal(cluster.node(1).propose([bytes('c')]).ok, true);
});

test('sim bug 1: a follower whose lost inflight window was compacted away gets a snapshot', () => {
  // A replicate follower loses its whole window, then the leader compacts past it: the heartbeat
  // response recovery path used to find no term at nextIndex-1 and silently send nothing, forever.
  const cluster = new TestCluster(3, { inflightMax: 2 });
  cluster.campaign(1);
  cluster.tickAll(1);
  cluster.dropIf = (m) => m.to === 3;
  // One proposal per Ready, so each goes in an append of its own and the window of 2 fills.
  for (let i = 0; i < 6; i++) {
    cluster.propose(1, `x${i}`);
    cluster.stabilize();
  }
  cluster.tickAll(1);
  const leader = cluster.node(1);
  assert.equal(leader.status().progress!.get(3)!.inflight, 2);
  leader.compact(snapshotOf(cluster, 1, 6));
  cluster.heal();
  cluster.tickAll(3);
  assert.equal(cluster.disk(3).snapshot?.index, 6);
  assert.equal(cluster.node(3).status().lastIndex, leader.status().lastIndex);
  assert.equal(cluster.node(3).status().commit, leader.status().commit);
});

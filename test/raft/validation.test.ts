import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateMessage } from '../../src/raft/validate.js';
import { MessageValidationError, RaftConfigError } from '../../src/raft/errors.js';
import { RaftNode } from '../../src/raft/raft.js';
import { bytes, makeConfig } from './cluster.js';
import { entry, newNode } from './drive.js';
import type { RaftRestoreState } from '../../src/raft/types.js';

function rejectsField(candidate: unknown, field: string): void {
  assert.throws(
    () => validateMessage(candidate),
    (error: unknown) => error instanceof MessageValidationError && error.field === field,
    `expected a complaint about ${field}`,
  );
}

const goodAppend = {
  type: 'AppendEntries',
  from: 1,
  to: 2,
  term: 3,
  prevLogIndex: 4,
  prevLogTerm: 2,
  entries: [entry(5, 2), entry(6, 3), entry(7, 3)],
  commit: 4,
};

test('a well-formed message passes validation unchanged', () => {
  assert.equal(validateMessage(goodAppend), goodAppend);
  const vote = { type: 'Vote', from: 1, to: 2, term: 3, lastLogIndex: 0, lastLogTerm: 0, transfer: false };
  assert.equal(validateMessage(vote), vote);
});

test('message validation names the bad field', () => {
  rejectsField(null, 'message');
  rejectsField({ ...goodAppend, type: 'Gossip' }, 'type');
  rejectsField({ ...goodAppend, from: 0 }, 'from');
  rejectsField({ ...goodAppend, to: 1.5 }, 'to');
  rejectsField({ ...goodAppend, term: -1 }, 'term');
  rejectsField({ ...goodAppend, prevLogTerm: 9 }, 'prevLogTerm');
  rejectsField({ ...goodAppend, commit: '4' }, 'commit');
  rejectsField({ ...goodAppend, entries: {} }, 'entries');
  rejectsField({ ...goodAppend, entries: [entry(5, 2), entry(6, 3), entry(9, 3)] }, 'entries[2].index');
  rejectsField({ ...goodAppend, entries: [entry(5, 2), entry(6, 1)] }, 'entries[1].term');
  rejectsField({ ...goodAppend, entries: [entry(5, 1)] }, 'entries[0].term');
  rejectsField({ ...goodAppend, entries: [entry(5, 4)] }, 'entries[0].term');
  rejectsField({ ...goodAppend, entries: [{ index: 5, term: 2, data: 'abc' }] }, 'entries[0].data');
  rejectsField({ type: 'Vote', from: 1, to: 2, term: 3, lastLogIndex: 0, lastLogTerm: 0 }, 'transfer');
  rejectsField({ type: 'Vote', from: 1, to: 2, term: 3, lastLogIndex: 5, lastLogTerm: 4, transfer: false }, 'lastLogTerm');
  rejectsField({ type: 'VoteResponse', from: 1, to: 2, term: 3, granted: 1 }, 'granted');
  rejectsField({ type: 'AppendEntriesResponse', from: 1, to: 2, term: 3, success: true, matchIndex: 1, hintIndex: 0 }, 'hintTerm');
  rejectsField({ type: 'Heartbeat', from: 1, to: 2, term: 3 }, 'commit');
  rejectsField({ type: 'InstallSnapshot', from: 1, to: 2, term: 3, snapshot: { index: 3, term: 2, config: { voters: [1, -2] } } }, 'snapshot.config.voters[1]');
  rejectsField({ type: 'InstallSnapshot', from: 1, to: 2, term: 3, snapshot: { index: 'x', term: 2, config: { voters: [1] } } }, 'snapshot.index');
  rejectsField({ type: 'InstallSnapshotResponse', from: 1, to: 2, term: 3, matchIndex: 4 }, 'success');
});

test('step rejects a message addressed to another node or from a non-voter', () => {
  const node = newNode(2, [1, 2, 3]);
  assert.throws(() => node.step({ type: 'Heartbeat', from: 1, to: 3, term: 1, commit: 0, round: 0 }), (e: unknown) => e instanceof MessageValidationError && e.field === 'to');
  assert.throws(() => node.step({ type: 'Heartbeat', from: 7, to: 2, term: 1, commit: 0, round: 0 }), (e: unknown) => e instanceof MessageValidationError && e.field === 'from');
  assert.throws(() => node.step({ type: 'Heartbeat', from: 2, to: 2, term: 1, commit: 0, round: 0 }), (e: unknown) => e instanceof MessageValidationError && e.field === 'from');
  assert.equal(node.status().term, 0, 'a rejected message changes nothing');
});

function rejectsConfig(build: () => unknown, field: string): void {
  assert.throws(build, (error: unknown) => error instanceof RaftConfigError && error.field === field, `expected a complaint about ${field}`);
}

test('config validation names the bad field', () => {
  const base = makeConfig(1, [1, 2, 3]);
  rejectsConfig(() => new RaftNode({ ...base, id: 4 }), 'id');
  rejectsConfig(() => new RaftNode({ ...base, id: 0 }), 'id');
  rejectsConfig(() => new RaftNode({ ...base, voters: [] }), 'voters');
  rejectsConfig(() => new RaftNode({ ...base, voters: [1, 2, 2] }), 'voters[2]');
  rejectsConfig(() => new RaftNode({ ...base, voters: [1, 2.5] }), 'voters[1]');
  rejectsConfig(() => new RaftNode({ ...base, electionTicks: 1, heartbeatTicks: 1 }), 'electionTicks');
  rejectsConfig(() => new RaftNode({ ...base, heartbeatTicks: 0 }), 'heartbeatTicks');
  rejectsConfig(() => new RaftNode({ ...base, electionTicks: 10, heartbeatTicks: 6 }), 'heartbeatTicks');
  rejectsConfig(() => new RaftNode({ ...base, inflightMax: 0 }), 'inflightMax');
  rejectsConfig(() => new RaftNode({ ...base, batchEntriesMax: 0 }), 'batchEntriesMax');
  rejectsConfig(() => new RaftNode({ ...base, batchBytesMax: 0 }), 'batchBytesMax');
  assert.doesNotThrow(() => new RaftNode({ ...base, electionTicks: 10, heartbeatTicks: 5 }));
});

test('restore validation names the bad field', () => {
  const config = makeConfig(1, [1, 2, 3]);
  const good: RaftRestoreState = {
    hardState: { term: 3, vote: 2, commit: 6 },
    snapshot: { index: 4, term: 2, config: { voters: [1, 2, 3] } },
    entries: [entry(5, 2), entry(6, 3), entry(7, 3)],
    applied: 5,
  };
  assert.doesNotThrow(() => new RaftNode(config, good));
  rejectsConfig(() => new RaftNode(config, { ...good, entries: [entry(6, 2)] }), 'restore.entries[0].index');
  rejectsConfig(() => new RaftNode(config, { ...good, entries: [entry(5, 2), entry(6, 1)] }), 'restore.entries[1].term');
  rejectsConfig(() => new RaftNode(config, { ...good, entries: [entry(5, 1)] }), 'restore.entries[0].term');
  rejectsConfig(() => new RaftNode(config, { ...good, hardState: { term: 3, vote: 2, commit: 8 } }), 'restore.hardState.commit');
  rejectsConfig(() => new RaftNode(config, { ...good, hardState: { term: 3, vote: 9, commit: 6 } }), 'restore.hardState.vote');
  rejectsConfig(() => new RaftNode(config, { ...good, applied: 7 }), 'restore.applied');
  rejectsConfig(() => new RaftNode(config, { ...good, applied: 3 }), 'restore.applied');
  rejectsConfig(() => new RaftNode(config, { ...good, snapshot: { index: 4, term: 0, config: { voters: [1] } } }), 'restore.snapshot.term');
});

test('several Readies may be outstanding; advance() takes them back oldest first, once each', () => {
  const node = newNode(1, [1]);
  for (let i = 0; i < 30; i++) node.tick();
  const first = node.ready();
  assert.equal(node.propose([bytes('a')]).ok, true);
  assert.equal(node.hasReady(), true, 'a new proposal is ready while the first Ready is outstanding');
  const second = node.ready();
  assert.deepEqual(second.entries.map((e) => e.index), [2]);
  assert.throws(() => node.advance(second), /oldest Ready not yet advanced/);
  node.advance(first);
  node.advance(second);
  assert.throws(() => node.advance(second), /oldest Ready not yet advanced/);
  assert.throws(() => node.propose(['text' as unknown as Uint8Array]), TypeError);
  assert.equal(node.propose([bytes('ok')]).ok, true);
});

test('sim bug 2: a Ready torn between its entries and its hard state still restarts, adopting the log term', () => {
  // The host persists entries, then the hard state; a crash in between leaves term-5 entries
  // beside a term-4 hard state (vote 2). Nothing was promised from that Ready, so restart works.
  const config = makeConfig(1, [1, 2, 3]);
  const node = new RaftNode(config, {
    hardState: { term: 4, vote: 2, commit: 1 },
    snapshot: null,
    entries: [entry(1, 1), entry(2, 4), entry(3, 5)],
    applied: 1,
  });
  const status = node.status();
  assert.deepEqual([status.term, status.vote, status.lastIndex, status.commit], [5, 0, 3, 1]);
  const first = node.ready();
  assert.deepEqual(first.hardState, { term: 5, vote: 0, commit: 1 }, 'the adopted hard state is persisted');
  node.advance(first);
  // It can vote in term 5 (no vote recorded there) …
  node.step({ type: 'Vote', from: 3, to: 1, term: 5, lastLogIndex: 3, lastLogTerm: 5, transfer: false });
  let ready = node.ready();
  assert.deepEqual(ready.messagesAfterPersist, [{ type: 'VoteResponse', from: 1, to: 3, term: 5, granted: true }]);
  assert.deepEqual(ready.hardState, { term: 5, vote: 3, commit: 1 });
  node.advance(ready);
  // … and follow a term-5 leader.
  node.step({ type: 'AppendEntries', from: 3, to: 1, term: 5, prevLogIndex: 3, prevLogTerm: 5, entries: [entry(4, 5)], commit: 4 });
  ready = node.ready();
  assert.equal(node.status().leader, 3);
  assert.deepEqual(ready.committedEntries.map((e) => e.index), [2, 3, 4]);
  node.advance(ready);

  // A snapshot newer than the hard state (torn after the snapshot) is adopted the same way.
  const fromSnapshot = new RaftNode(config, {
    hardState: { term: 2, vote: 1, commit: 0 },
    snapshot: { index: 6, term: 3, config: { voters: [1, 2, 3] } },
    entries: [],
    applied: 6,
  });
  assert.deepEqual([fromSnapshot.status().term, fromSnapshot.status().vote, fromSnapshot.status().commit], [3, 0, 6]);
  // Terms that decrease along the log are still refused.
  assert.throws(
    () => new RaftNode(config, { hardState: { term: 4, vote: 0, commit: 0 }, snapshot: null, entries: [entry(1, 5), entry(2, 3)], applied: 0 }),
    (error: unknown) => error instanceof RaftConfigError && error.field === 'restore.entries[1].term',
  );
});

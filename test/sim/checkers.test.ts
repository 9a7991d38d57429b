// The invariant checkers fed synthetic histories: each must accept a legal history (including the
// tricky legal ones) and reject a history that breaks its invariant, with a precise message.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterInvariants, type NodeObservation } from '../../src/check/cluster-invariants.js';
import { chainHash, EMPTY_LOG_HASH } from '../../src/check/entry-hash.js';
import { ElectionSafety } from '../../src/check/election-safety.js';
import { LeaderCompleteness } from '../../src/check/leader-completeness.js';
import { LivenessDeadline } from '../../src/check/liveness.js';
import { EMPTY_LOG_BASE, LogMatching } from '../../src/check/log-matching.js';
import { ProgressOrder } from '../../src/check/progress-order.js';
import { StateMachineSafety } from '../../src/check/state-machine-safety.js';
import { InvariantViolation } from '../../src/check/violation.js';
import { VoteSafety } from '../../src/check/vote-safety.js';
import type { Entry, Role } from '../../src/raft/types.js';

/** Entries from "term@index" shorthands with distinct payloads per (index, term, tag). */
function log(spec: string, tag = 0): Entry[] {
  return spec
    .split(' ')
    .filter((word) => word.length > 0)
    .map((word) => {
      const [term, index] = word.split('@').map(Number) as [number, number];
      return { term, index, data: new Uint8Array([index, term, tag]) };
    });
}

function violates(invariant: string, pattern: RegExp, run: () => void): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof InvariantViolation, `expected an InvariantViolation, got ${String(error)}`);
    assert.equal(error.invariant, invariant);
    assert.match(error.message, pattern);
    return true;
  });
}

function prefixHash(entries: readonly Entry[]): number {
  return entries.reduce((hash, entry) => chainHash(hash, entry), EMPTY_LOG_HASH);
}

test('election safety: one leader per term; the same leader seen again is fine', () => {
  const checker = new ElectionSafety();
  checker.observeLeader(1, 3);
  checker.observeLeader(1, 3);
  checker.observeLeader(2, 4);
  assert.equal(checker.electionsWon, 2);
  violates('election safety', /term 4 has two leaders: node 2 and node 3/, () => checker.observeLeader(3, 4));
});

test('vote safety: one vote per node per term, even across restarts', () => {
  const checker = new VoteSafety();
  checker.observeVoteGranted(2, 5, 1);
  checker.observeVoteGranted(2, 5, 1); // a duplicated response
  checker.observeVoteGranted(2, 6, 3);
  checker.observeVoteGranted(3, 5, 3);
  violates('election safety', /node 2 voted twice in term 5: for node 1 and for node 3/, () => checker.observeVoteGranted(2, 5, 3));
});

test('log matching: agreeing logs, a legal overwrite of an uncommitted suffix, and divergence caught', () => {
  const checker = new LogMatching();
  checker.write(1, log('1@1 1@2 2@3'));
  checker.write(2, log('1@1 1@2'));
  checker.write(2, log('2@3'));
  // Node 3 held a different term-3 suffix and is overwritten by the leader's entries: legal.
  checker.write(3, [...log('1@1 1@2'), ...log('3@3 3@4', 9)]);
  assert.equal(checker.lastIndex(3), 4);
  checker.write(3, log('2@3'));
  assert.equal(checker.lastIndex(3), 3);
  assert.equal(checker.hashAt(3, 3), checker.hashAt(1, 3));
  // Node 4 holds an identical (index 3, term 2) entry but a different entry at index 2 underneath.
  violates('log matching', /node 1 and node 4 both hold index 3 term 2 but their logs differ/, () =>
    checker.write(4, log('1@1 2@2 2@3')),
  );
  // Two different entries with the same (index, term) are caught at that index.
  violates('log matching', /node 1 and node 5 both hold index 2 term 1/, () => checker.write(5, [...log('1@1'), ...log('1@2', 5)]));
});

test('log matching: gaps, non-contiguous batches, decreasing terms and writes under a snapshot are rejected', () => {
  const checker = new LogMatching();
  checker.write(1, log('1@1 1@2'));
  violates('log matching', /from index 4 but its log ends at 2: a gap/, () => checker.write(1, log('1@4')));
  violates('log matching', /non-contiguous batch: entries\[1\]\.index is 5, expected 4/, () => checker.write(1, log('1@3 1@5')));
  violates('log matching', /terms decrease: index 3 has term 1 after term 2/, () => checker.write(2, log('2@1 2@2 1@3')));
  const entries = log('1@1 1@2 1@3');
  checker.reset(5, { index: 3, term: 1, hash: prefixHash(entries) }, log('1@4'));
  violates('log matching', /at or below its snapshot index 3/, () => checker.write(5, log('1@3')));
});

test('log matching: a snapshot base that disagrees with a log holding its (index, term) is caught', () => {
  const checker = new LogMatching();
  checker.write(1, log('1@1 1@2'));
  checker.reset(2, { index: 2, term: 1, hash: prefixHash(log('1@1 1@2')) }, []);
  violates('log matching', /index 2 term 1/, () => checker.reset(3, { index: 2, term: 1, hash: prefixHash(log('1@1 1@2', 7)) }, []));
});

function leaderLog(entries: readonly Entry[], snapshotIndex = 0, snapshotTerm = 0) {
  return {
    snapshotIndex,
    snapshotTerm,
    lastIndex: entries.length === 0 ? snapshotIndex : entries[entries.length - 1]!.index,
    termAt: (index: number) => entries.find((entry) => entry.index === index)?.term,
  };
}

test('leader completeness: a new leader must hold what was committed in earlier terms', () => {
  const checker = new LeaderCompleteness();
  checker.observeCommit(1, 2, 5, 2); // node 1, leader of term 2, committed index 5 (term 2)
  checker.observeLeader(2, 3, leaderLog(log('1@1 1@2 2@3 2@4 2@5 3@6')));
  checker.observeLeader(4, 4, leaderLog([], 7, 3)); // compacted past index 5: held under its snapshot
  violates('leader completeness', /node 3 became leader of term 5 but lacks index 5/, () =>
    checker.observeLeader(3, 5, leaderLog(log('1@1 1@2 2@3 2@4'))),
  );
  violates('leader completeness', /node 3 became leader of term 6 but holds term 4 at index 5/, () =>
    checker.observeLeader(3, 6, leaderLog(log('1@1 1@2 2@3 2@4 4@5'))),
  );
});

test('leader completeness: no false alarm for a leader elected late in a lower term', () => {
  const checker = new LeaderCompleteness();
  // Term 7's leader committed index 9; a delayed election then completes in term 6 on a node
  // without index 9. Entries committed in term 7 are not required of a term-6 leader.
  checker.observeCommit(1, 7, 9, 7);
  checker.observeLeader(2, 6, leaderLog(log('1@1 1@2')));
});

test('state-machine safety: different entries applied at one index are caught, and so are diverging snapshots', () => {
  const checker = new StateMachineSafety();
  const entries = log('1@1 1@2');
  checker.observeApply(1, entries[0]!, prefixHash(entries.slice(0, 1)));
  checker.observeApply(2, entries[0]!, prefixHash(entries.slice(0, 1)));
  checker.observeApply(1, entries[1]!, prefixHash(entries));
  checker.observeSnapshot(3, 2, 1, prefixHash(entries));
  const other = log('2@2', 1)[0]!;
  violates('state-machine safety', /index 2: node 1 applied term 1 .* node 2 applied term 2/, () => checker.observeApply(2, other, 0));
  violates('state-machine safety', /node 4 restored a snapshot at index 2 term 1 that differs/, () => checker.observeSnapshot(4, 2, 1, 12345));
  assert.equal(checker.highestApplied, 2);
});

test('monotonic progress: commit going back, applies out of order, snapshots behind, durable commit lost', () => {
  const checker = new ProgressOrder();
  checker.startIncarnation(1, 0, 0);
  checker.observeCommit(1, 3);
  checker.observeApply(1, 1);
  checker.observeApply(1, 2);
  violates('monotonic progress', /commit index went back from 3 to 2/, () => checker.observeCommit(1, 2));
  violates('monotonic progress', /applied index 4 after index 2: gap/, () => checker.observeApply(1, 4));
  violates('monotonic progress', /applied index 2 after index 2: applied again/, () => checker.observeApply(1, 2));
  violates('monotonic progress', /snapshot at index 2, not ahead of its applied index 2/, () => checker.observeSnapshotRestore(1, 2));
  checker.observeSnapshotRestore(1, 10);
  checker.observeApply(1, 11);
  checker.observeDurableCommit(1, 11);
  violates('durability', /durably stored commit 9 after having stored 11/, () => checker.observeDurableCommit(1, 9));
  violates('monotonic progress', /restarted with commit 5 below the commit 11 it had made durable/, () => checker.startIncarnation(1, 5, 0));
  // A new incarnation starts from its durable state: applied may restart lower than before.
  checker.startIncarnation(1, 11, 4);
  checker.observeApply(1, 5);
});

test('liveness deadline: met in time passes, missed throws with the state', () => {
  const met = new LivenessDeadline('a leader is elected', 1_000, 500);
  met.check(1_200, false, () => 'n/a');
  met.check(1_400, true, () => 'n/a');
  met.check(9_999, false, () => 'n/a'); // once met, stays met
  assert.equal(met.elapsedUs, 400);
  const missed = new LivenessDeadline('a leader is elected', 0, 500);
  missed.check(500, false, () => 'n1 follower');
  violates('liveness', /a leader is elected did not happen within 1 ms .* state: n1 follower/, () => missed.check(501, false, () => 'n1 follower'));
});

class FakeNode implements NodeObservation {
  snapshotIndex = 0;
  snapshotTerm = 0;
  constructor(
    public role: Role,
    public term: number,
    public commit: number,
    readonly entries: Entry[],
  ) {}
  get lastIndex(): number {
    return this.entries.length;
  }
  termAt(index: number): number | undefined {
    return index === 0 ? 0 : this.entries[index - 1]?.term;
  }
}

test('the facade wires the checkers: a Figure-8 style history where a new leader lacks a committed entry', () => {
  const invariants = new ClusterInvariants();
  const committedLog = log('1@1 2@2');
  for (const node of [1, 2, 3]) invariants.nodeStarted(node, EMPTY_LOG_BASE, [], 0, 0);
  invariants.logWritten(1, committedLog);
  invariants.logWritten(2, committedLog);
  invariants.observeNode(1, new FakeNode('leader', 2, 2, committedLog));
  invariants.observeNode(2, new FakeNode('follower', 2, 2, committedLog));
  const stale = log('1@1');
  invariants.logWritten(3, stale);
  assert.throws(() => invariants.observeNode(3, new FakeNode('leader', 3, 1, stale)), /leader completeness violated: node 3 became leader of term 3 but lacks index 2/);
});

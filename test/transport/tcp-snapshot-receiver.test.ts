// Snapshot transfers as the receiver checks them: chunk 0 an InstallSnapshot for this link, chunks
// in sequence, the body within its bound, a partition's leftovers skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InstallSnapshotRequest } from '../../src/raft/types.js';
import { encodeMessage } from '../../src/transport/codec.js';
import type { SnapshotChunkFrame } from '../../src/transport/frame.js';
import { SnapshotReceiver } from '../../src/transport/tcp-snapshot-receiver.js';

const message: InstallSnapshotRequest = { type: 'InstallSnapshot', from: 2, to: 1, term: 4, snapshot: { index: 30, term: 3, config: { voters: [1, 2, 3] } } };
const chunk = (transferId: number, sequence: number, data: Uint8Array, last = false): SnapshotChunkFrame => ({ kind: 'snapshot-chunk', transferId, sequence, last, data });
const head = (transferId: number): SnapshotChunkFrame => chunk(transferId, 0, encodeMessage(message));

test('a transfer completes with its message and body; a new chunk 0 replaces an unfinished one', () => {
  const receiver = new SnapshotReceiver(2, 1, 1000, {});
  assert.equal(receiver.accept(head(1)).kind, 'pending');
  assert.equal(receiver.accept(chunk(1, 1, new Uint8Array([1, 2]))).kind, 'pending');
  assert.equal(receiver.accept(head(2)).kind, 'pending', 'transfer 2 replaces transfer 1');
  assert.equal(receiver.accept(chunk(2, 1, new Uint8Array([3]))).kind, 'pending');
  const done = receiver.accept(chunk(2, 2, new Uint8Array(0), true));
  assert.equal(done.kind, 'complete');
  assert.deepEqual(done.kind === 'complete' && done.message, message);
  assert.deepEqual(done.kind === 'complete' && done.body.map((part) => [...part]), [[3]]);
});

test('out-of-sequence chunks, a foreign chunk 0 and an oversized body are protocol errors', () => {
  const reason = (outcome: ReturnType<SnapshotReceiver['accept']>): string => (outcome.kind === 'error' ? outcome.reason : `not an error: ${outcome.kind}`);
  assert.match(reason(new SnapshotReceiver(2, 1, 1000, {}).accept(chunk(1, 1, new Uint8Array(1)))), /no transfer in progress/);
  const skipping = new SnapshotReceiver(2, 1, 1000, {});
  skipping.accept(head(1));
  assert.match(reason(skipping.accept(chunk(1, 2, new Uint8Array(1)))), /expected transfer 1 chunk 1/);
  assert.match(reason(new SnapshotReceiver(3, 1, 1000, {}).accept(head(1))), /InstallSnapshot from n3 to n1/, 'chunk 0 from the wrong peer');
  assert.match(reason(new SnapshotReceiver(2, 1, 1000, {}).accept(chunk(1, 0, new Uint8Array([1, 5])))), /snapshot transfer 1: malformed message/);
  const big = new SnapshotReceiver(2, 1, 10, {});
  big.accept(head(1));
  assert.equal(big.accept(chunk(1, 1, new Uint8Array(10))).kind, 'pending');
  assert.match(reason(big.accept(chunk(1, 2, new Uint8Array(1)))), /more than snapshotBytesMax 10/);
});

test('a transfer discarded by a partition: its later chunks are skipped, the next transfer works', () => {
  const receiver = new SnapshotReceiver(2, 1, 1000, {});
  receiver.accept(head(5));
  receiver.discard(chunk(5, 1, new Uint8Array(1)));
  assert.equal(receiver.accept(chunk(5, 2, new Uint8Array(1))).kind, 'pending');
  assert.equal(receiver.accept(chunk(5, 3, new Uint8Array(0), true)).kind, 'pending', 'the end of a discarded transfer delivers nothing');
  receiver.accept(head(6));
  assert.equal(receiver.accept(chunk(6, 1, new Uint8Array(0), true)).kind, 'complete');
});

// The Atomics locks, exercised across real worker threads: mutual exclusion (a non-atomic counter
// ends exact), readers overlapping under the rwlock (and never under the mutex), the phase-fair
// order (a waiting writer blocks readers that arrive after it; readers queued behind a writer go
// before the next writer), the mutex's starvation guard, and no starvation of either side under
// sustained pressure.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { setTimeout as delay } from 'node:timers/promises';
import { LOCK_KINDS, createSharedLock, inspectLock, attachSharedLock, type LockDescriptor, type LockKind } from '../../../src/kv/shared/lock.js';
import { ACTOR_COMMAND, BOARD, type LockScenario, type LockWorkerData } from './lock-worker.js';

const workerUrl = new URL('./lock-worker.js', import.meta.url);

interface Run {
  readonly messages: unknown[];
}

function startWorker(lock: LockDescriptor, board: SharedArrayBuffer, task: LockScenario): { worker: Worker; finished: Promise<Run> } {
  const workerData: LockWorkerData = { lock, board, task };
  const worker = new Worker(workerUrl, { workerData });
  const messages: unknown[] = [];
  worker.on('message', (message: unknown) => messages.push(message));
  const finished = new Promise<Run>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve({ messages }) : reject(new Error(`lock worker exited with ${code}`))));
  });
  return { worker, finished };
}

function newBoard(): { buffer: SharedArrayBuffer; words: Int32Array } {
  const buffer = new SharedArrayBuffer(BOARD.WORDS * 4);
  return { buffer, words: new Int32Array(buffer) };
}

/** Polls `condition` every millisecond until it holds; fails the test after `timeoutMs`. */
async function until(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await delay(1);
  }
}

for (const kind of LOCK_KINDS) {
  describe(`${kind}: mutual exclusion across threads`, () => {
    test('writers: a non-atomic read-modify-write counter ends exact and no two are ever inside', async () => {
      const lock = createSharedLock(kind);
      const { buffer, words } = newBoard();
      const threads = 4;
      const iterations = 4000;
      const runs = Array.from({ length: threads }, () => startWorker(lock.descriptor(), buffer, { scenario: 'counter', iterations, useReadLock: false }));
      await Promise.all(runs.map((r) => r.finished));
      assert.equal(words[BOARD.VIOLATIONS], 0, 'threads inside the critical section together');
      assert.equal(words[BOARD.COUNTER], threads * iterations);
    });

    test('readers and writers mixed: no reader ever sees a writer inside, writers stay exclusive', async () => {
      const lock = createSharedLock(kind);
      const { buffer, words } = newBoard();
      const iterations = 3000;
      const runs = [
        ...Array.from({ length: 2 }, () => startWorker(lock.descriptor(), buffer, { scenario: 'mixed', role: 'writer', iterations })),
        ...Array.from({ length: 2 }, () => startWorker(lock.descriptor(), buffer, { scenario: 'mixed', role: 'reader', iterations })),
      ];
      await Promise.all(runs.map((r) => r.finished));
      assert.equal(words[BOARD.VIOLATIONS], 0);
      assert.equal(words[BOARD.COUNTER], 2 * iterations);
      assert.equal(words[BOARD.READER_ENTRIES], 2 * iterations);
      if (kind === 'mutex') assert.equal(words[BOARD.INSIDE_MAX], 1, 'the mutex let two readers in at once');
    });

    test('no starvation: a writer gets in repeatedly while readers keep overlapping holds, and readers progress too', async () => {
      const lock = createSharedLock(kind);
      const { buffer, words } = newBoard();
      const readers = Array.from({ length: 3 }, () => startWorker(lock.descriptor(), buffer, { scenario: 'pressure-reader', holdMs: 3, deadlineMs: 8000 }));
      await until('readers running', () => Atomics.load(words, BOARD.READER_ENTRIES) >= 6);
      const acquisitions = 25;
      const writer = startWorker(lock.descriptor(), buffer, { scenario: 'pressure-writer', acquisitions, holdMs: 1, deadlineMs: 6000 });
      const writerRun = await writer.finished;
      await Promise.all(readers.map((r) => r.finished));
      const report = writerRun.messages.find((m): m is { acquired: number; readerEntriesDuring: number } => typeof m === 'object' && m !== null && 'acquired' in m);
      assert.ok(report !== undefined, 'writer did not report');
      // The readers stop only when the writer is done (or at their deadline, 2 s after the
      // writer's): every acquisition therefore happened while readers kept the lock busy.
      assert.equal(report.acquired, acquisitions, 'the writer was starved by overlapping readers');
      // Phase-fair: between two writer phases every queued reader gets a turn.
      assert.ok(report.readerEntriesDuring >= acquisitions, `readers starved by the writer: ${report.readerEntriesDuring} reader entries during ${acquisitions} writer entries`);
    });
  });
}

describe('rwlock: sharing and phase-fair order', () => {
  test('readers overlap: all of them are inside at once', async () => {
    const lock = createSharedLock('rwlock');
    const { buffer, words } = newBoard();
    const readers = 3;
    const runs = Array.from({ length: readers }, () => startWorker(lock.descriptor(), buffer, { scenario: 'overlap', readers, holdMs: 5000 }));
    await Promise.all(runs.map((r) => r.finished));
    assert.equal(words[BOARD.INSIDE_MAX], readers);
  });

  test('mutex: readers never overlap', async () => {
    const lock = createSharedLock('mutex');
    const { buffer, words } = newBoard();
    const readers = 3;
    const runs = Array.from({ length: readers }, () => startWorker(lock.descriptor(), buffer, { scenario: 'overlap', readers, holdMs: 40 }));
    await Promise.all(runs.map((r) => r.finished));
    assert.equal(words[BOARD.INSIDE_MAX], 1);
  });

  /** Three scripted actor threads whose lock calls the test sequences and observes. */
  async function withActors(kind: LockKind, body: (actors: { command(i: number, c: number): void; rank(i: number): number; lock: LockDescriptor }) => Promise<void>): Promise<void> {
    const lock = createSharedLock(kind);
    const { buffer, words } = newBoard();
    const runs = [0, 1, 2].map((actorIndex) => startWorker(lock.descriptor(), buffer, { scenario: 'actor', actorIndex, deadlineMs: 10000 }));
    const command = (i: number, c: number): void => {
      Atomics.store(words, BOARD.ACTORS + 4 * i, c);
      Atomics.notify(words, BOARD.ACTORS + 4 * i);
    };
    try {
      await body({ command, rank: (i) => Atomics.load(words, BOARD.ACTORS + 4 * i + 1), lock: lock.descriptor() });
    } finally {
      for (const i of [0, 1, 2]) {
        await until(`actor ${i} idle`, () => Atomics.load(words, BOARD.ACTORS + 4 * i) === ACTOR_COMMAND.IDLE).catch(() => undefined);
        command(i, ACTOR_COMMAND.EXIT);
      }
      await Promise.all(runs.map((r) => r.finished));
    }
  }

  test('a waiting writer blocks readers that arrive after it, and gets the lock before them', () =>
    withActors('rwlock', async ({ command, rank, lock }) => {
      const [firstReader, writer, lateReader] = [0, 1, 2];
      command(firstReader, ACTOR_COMMAND.READ_LOCK);
      await until('first reader in', () => rank(firstReader) === 1);
      command(writer, ACTOR_COMMAND.WRITE_LOCK);
      await until('writer announced', () => {
        const state = inspectLock(lock);
        return state.kind === 'rwlock' && state.writerAnnounced;
      });
      command(lateReader, ACTOR_COMMAND.READ_LOCK);
      await until('late reader queued', () => {
        const state = inspectLock(lock);
        return state.kind === 'rwlock' && state.readersInsideOrWaiting === 2;
      });
      await delay(30);
      assert.equal(rank(lateReader), 0, 'a reader got in past a waiting writer');
      assert.equal(rank(writer), 0, 'the writer got in while a reader held the lock');
      command(firstReader, ACTOR_COMMAND.UNLOCK);
      await until('writer in', () => rank(writer) === 2);
      await delay(30);
      assert.equal(rank(lateReader), 0, 'a reader got in while the writer held the lock');
      command(writer, ACTOR_COMMAND.UNLOCK);
      await until('late reader in', () => rank(lateReader) === 3);
      command(lateReader, ACTOR_COMMAND.UNLOCK);
    }));

  test('readers queued behind a writer go before the next writer (readers are not starved)', () =>
    withActors('rwlock', async ({ command, rank, lock }) => {
      const [writer, reader, nextWriter] = [0, 1, 2];
      command(writer, ACTOR_COMMAND.WRITE_LOCK);
      await until('writer in', () => rank(writer) === 1);
      command(reader, ACTOR_COMMAND.READ_LOCK);
      await until('reader queued', () => {
        const state = inspectLock(lock);
        return state.kind === 'rwlock' && state.readersInsideOrWaiting === 1;
      });
      command(nextWriter, ACTOR_COMMAND.WRITE_LOCK);
      await until('next writer queued', () => {
        const state = inspectLock(lock);
        return state.kind === 'rwlock' && state.writersQueued === 2;
      });
      command(writer, ACTOR_COMMAND.UNLOCK);
      await until('reader in', () => rank(reader) === 2);
      await delay(30);
      assert.equal(rank(nextWriter), 0, 'the next writer got in while a reader held the lock');
      command(reader, ACTOR_COMMAND.UNLOCK);
      await until('next writer in', () => rank(nextWriter) === 3);
      command(nextWriter, ACTOR_COMMAND.UNLOCK);
    }));

  test('mutex: a waiter that waited past the starvation threshold goes before newcomers', () =>
    withActors('mutex', async ({ command, rank, lock }) => {
      const [holder, starved, newcomer] = [0, 1, 2];
      command(holder, ACTOR_COMMAND.WRITE_LOCK);
      await until('holder in', () => rank(holder) === 1);
      command(starved, ACTOR_COMMAND.WRITE_LOCK);
      await until('waiter turned urgent', () => {
        const state = inspectLock(lock);
        return state.kind === 'mutex' && state.urgentWaiters === 1;
      });
      command(newcomer, ACTOR_COMMAND.READ_LOCK);
      await delay(30);
      assert.equal(rank(newcomer), 0, 'the newcomer got in while the lock was held');
      command(holder, ACTOR_COMMAND.UNLOCK);
      await until('urgent waiter in', () => rank(starved) === 2);
      await delay(30);
      assert.equal(rank(newcomer), 0, 'the newcomer got in while the urgent waiter held the lock');
      command(starved, ACTOR_COMMAND.UNLOCK);
      await until('newcomer in', () => rank(newcomer) === 3);
      command(newcomer, ACTOR_COMMAND.UNLOCK);
      const state = inspectLock(lock);
      assert.ok(state.kind === 'mutex' && state.urgentWaiters === 0);
    }));
});

describe('lock construction', () => {
  test('bad kinds and buffers are rejected with the field named', () => {
    assert.throws(() => createSharedLock('spin' as LockKind), /kv\.lock must be 'mutex' or 'rwlock'/);
    assert.throws(() => attachSharedLock({ kind: 'rwlock', buffer: new SharedArrayBuffer(4) }), /too small for an rwlock/);
    assert.throws(() => attachSharedLock({ kind: 'mutex', buffer: new ArrayBuffer(64) as unknown as SharedArrayBuffer }), /must be a SharedArrayBuffer/);
  });

  test('the same lock works on one thread: lock, unlock, relock', () => {
    for (const kind of LOCK_KINDS) {
      const lock = createSharedLock(kind);
      lock.writeLock();
      lock.writeUnlock();
      lock.readLock();
      lock.readUnlock();
      lock.writeLock();
      lock.writeUnlock();
      const state = inspectLock(lock.descriptor());
      if (state.kind === 'mutex') assert.deepEqual(state, { kind: 'mutex', held: false, urgentWaiters: 0 });
      else assert.deepEqual(state, { kind: 'rwlock', readersInsideOrWaiting: 0, writerAnnounced: false, writersQueued: 0 });
    }
  });
});

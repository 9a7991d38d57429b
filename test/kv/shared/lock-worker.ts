// Worker thread for locks.test.ts: runs one scenario against a shared lock and reports through
// shared words (Int32Array over `board`) and a final message. Every loop is bounded by an
// iteration count and a deadline.

import { parentPort, workerData } from 'node:worker_threads';
import { attachSharedLock, type LockDescriptor } from '../../../src/kv/shared/lock.js';

export type LockScenario =
  | { readonly scenario: 'counter'; readonly iterations: number; readonly useReadLock: boolean }
  | { readonly scenario: 'overlap'; readonly readers: number; readonly holdMs: number }
  | { readonly scenario: 'actor'; readonly actorIndex: number; readonly deadlineMs: number }
  | { readonly scenario: 'pressure-reader'; readonly holdMs: number; readonly deadlineMs: number }
  | { readonly scenario: 'pressure-writer'; readonly acquisitions: number; readonly holdMs: number; readonly deadlineMs: number }
  | { readonly scenario: 'mixed'; readonly role: 'reader' | 'writer'; readonly iterations: number };

export interface LockWorkerData {
  readonly lock: LockDescriptor;
  readonly board: SharedArrayBuffer;
  readonly task: LockScenario;
}

/** Word indices on the board. */
export const BOARD = {
  COUNTER: 0,
  INSIDE: 1,
  INSIDE_MAX: 2,
  VIOLATIONS: 3,
  READER_ENTRIES: 4,
  WRITER_ENTRIES: 5,
  STOP: 6,
  RANK: 7,
  READERS_INSIDE: 8,
  WRITERS_INSIDE: 9,
  SLEEP: 10,
  /** Actor i uses words ACTORS + 4i (command) and ACTORS + 4i + 1 (rank when it acquired). */
  ACTORS: 16,
  WORDS: 64,
} as const;

export const ACTOR_COMMAND = { IDLE: 0, READ_LOCK: 1, WRITE_LOCK: 2, UNLOCK: 3, EXIT: 4 } as const;

if (parentPort !== null) {
  const data = workerData as LockWorkerData;
  const lock = attachSharedLock(data.lock);
  const board = new Int32Array(data.board);
  const task = data.task;

  const sleepMs = (ms: number): void => {
    Atomics.wait(board, BOARD.SLEEP, 0, ms);
  };
  const atomicMax = (index: number, value: number): void => {
    let current = Atomics.load(board, index);
    while (value > current) {
      const witnessed = Atomics.compareExchange(board, index, current, value);
      if (witnessed === current) return;
      current = witnessed;
    }
  };

  switch (task.scenario) {
    case 'counter': {
      for (let i = 0; i < task.iterations; i++) {
        if (task.useReadLock) lock.readLock();
        else lock.writeLock();
        if (Atomics.add(board, BOARD.INSIDE, 1) !== 0) Atomics.add(board, BOARD.VIOLATIONS, 1);
        // A deliberately non-atomic read-modify-write, with work in between to widen the window
        // in which an unprotected interleaving would lose an update.
        const seen = board[BOARD.COUNTER]!;
        let scratch = seen;
        for (let k = 0; k < 20; k++) scratch = (scratch * 31 + k) | 0;
        board[BOARD.COUNTER] = seen + 1 + (scratch & 0);
        Atomics.sub(board, BOARD.INSIDE, 1);
        if (task.useReadLock) lock.readUnlock();
        else lock.writeUnlock();
      }
      break;
    }
    case 'overlap': {
      lock.readLock();
      const inside = Atomics.add(board, BOARD.INSIDE, 1) + 1;
      atomicMax(BOARD.INSIDE_MAX, inside);
      // Stay inside until every reader is in (rwlock) or the hold time ends (mutex: never all).
      const deadline = Date.now() + task.holdMs;
      // Bounded by the deadline. Watching the maximum (not the current count) lets every reader
      // leave once all were seen inside together.
      while (Atomics.load(board, BOARD.INSIDE_MAX) < task.readers && Date.now() < deadline) {
        sleepMs(1);
        atomicMax(BOARD.INSIDE_MAX, Atomics.load(board, BOARD.INSIDE));
      }
      Atomics.sub(board, BOARD.INSIDE, 1);
      lock.readUnlock();
      break;
    }
    case 'actor': {
      const commandIndex = BOARD.ACTORS + 4 * task.actorIndex;
      const deadline = Date.now() + task.deadlineMs;
      let held: 'read' | 'write' | null = null;
      // Bounded by the deadline; each turn handles one command.
      while (Date.now() < deadline) {
        const command = Atomics.load(board, commandIndex);
        if (command === ACTOR_COMMAND.IDLE) {
          Atomics.wait(board, commandIndex, ACTOR_COMMAND.IDLE, 50);
          continue;
        }
        Atomics.store(board, commandIndex, ACTOR_COMMAND.IDLE);
        if (command === ACTOR_COMMAND.EXIT) break;
        if (command === ACTOR_COMMAND.READ_LOCK) {
          lock.readLock();
          held = 'read';
        } else if (command === ACTOR_COMMAND.WRITE_LOCK) {
          lock.writeLock();
          held = 'write';
        } else if (command === ACTOR_COMMAND.UNLOCK) {
          if (held === 'read') lock.readUnlock();
          if (held === 'write') lock.writeUnlock();
          held = null;
          continue;
        }
        Atomics.store(board, commandIndex + 1, Atomics.add(board, BOARD.RANK, 1) + 1);
      }
      if (held === 'read') lock.readUnlock();
      if (held === 'write') lock.writeUnlock();
      break;
    }
    case 'pressure-reader': {
      const deadline = Date.now() + task.deadlineMs;
      while (Atomics.load(board, BOARD.STOP) === 0 && Date.now() < deadline) {
        lock.readLock();
        Atomics.add(board, BOARD.READER_ENTRIES, 1);
        sleepMs(task.holdMs);
        lock.readUnlock();
      }
      break;
    }
    case 'pressure-writer': {
      const deadline = Date.now() + task.deadlineMs;
      let acquired = 0;
      const readerEntriesAtStart = Atomics.load(board, BOARD.READER_ENTRIES);
      while (acquired < task.acquisitions && Date.now() < deadline) {
        lock.writeLock();
        acquired++;
        Atomics.add(board, BOARD.WRITER_ENTRIES, 1);
        sleepMs(task.holdMs);
        lock.writeUnlock();
      }
      const readerEntriesDuring = Atomics.load(board, BOARD.READER_ENTRIES) - readerEntriesAtStart;
      Atomics.store(board, BOARD.STOP, 1);
      parentPort.postMessage({ acquired, readerEntriesDuring });
      break;
    }
    case 'mixed': {
      for (let i = 0; i < task.iterations; i++) {
        if (task.role === 'reader') {
          lock.readLock();
          Atomics.add(board, BOARD.READERS_INSIDE, 1);
          if (Atomics.load(board, BOARD.WRITERS_INSIDE) !== 0) Atomics.add(board, BOARD.VIOLATIONS, 1);
          atomicMax(BOARD.INSIDE_MAX, Atomics.load(board, BOARD.READERS_INSIDE));
          Atomics.add(board, BOARD.READER_ENTRIES, 1);
          Atomics.sub(board, BOARD.READERS_INSIDE, 1);
          lock.readUnlock();
        } else {
          lock.writeLock();
          if (Atomics.add(board, BOARD.WRITERS_INSIDE, 1) !== 0) Atomics.add(board, BOARD.VIOLATIONS, 1);
          if (Atomics.load(board, BOARD.READERS_INSIDE) !== 0) Atomics.add(board, BOARD.VIOLATIONS, 1);
          const seen = board[BOARD.COUNTER]!;
          board[BOARD.COUNTER] = seen + 1;
          Atomics.add(board, BOARD.WRITER_ENTRIES, 1);
          Atomics.sub(board, BOARD.WRITERS_INSIDE, 1);
          lock.writeUnlock();
        }
      }
      break;
    }
  }
  parentPort.postMessage({ done: true });
}

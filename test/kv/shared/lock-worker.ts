// Worker thread for locks.test.ts: runs one scenario against a shared lock and reports through
// shared words (Int32Array over `board`) and a final message. Every loop is bounded by an
// iteration count, a deadline or the board's STOP word — but a lock call itself can block for
// ever if the lock is broken, so the test bounds each worker from the main thread as well
// (bounded.ts), terminating it when its deadline passes.

import { parentPort, workerData } from 'node:worker_threads';
import { attachSharedLock, inspectLock, type LockDescriptor } from '../../../src/kv/shared/lock.js';

export type LockScenario =
  | { readonly scenario: 'counter'; readonly iterations: number; readonly useReadLock: boolean }
  | { readonly scenario: 'overlap'; readonly readers: number; readonly holdMs: number }
  | { readonly scenario: 'actor'; readonly actorIndex: number; readonly deadlineMs: number }
  | { readonly scenario: 'pressure-reader'; readonly readerIndex: number; readonly holdMs: number; readonly deadlineMs: number }
  | { readonly scenario: 'phase-writer'; readonly rounds: number; readonly queueWaitMs: number }
  | { readonly scenario: 'exclusion'; readonly role: 'reader' | 'writer'; readonly durationMs: number; readonly holdChecks: number }
  | { readonly scenario: 'hot-reader'; readonly holdSpins: number; readonly deadlineMs: number }
  | { readonly scenario: 'writer-loop'; readonly deadlineMs: number };

export interface LockWorkerData {
  readonly lock: LockDescriptor;
  /** A participant slot reserved by the test (so it can release it when it kills this worker). */
  readonly participant?: number;
  readonly board: SharedArrayBuffer;
  readonly task: LockScenario;
}

/** What a phase-writer reports when it is done. */
export interface PhaseWriterReport {
  readonly rounds: number;
  /** Rounds in which the writer took the lock again before a reader that was already waiting. */
  readonly overtakes: number;
  /** Rounds in which no reader came to wait within queueWaitMs. */
  readonly roundsWithoutWaitingReader: number;
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
  /** A reader saw a writer inside while it held the read lock. */
  READER_SAW_WRITER: 11,
  /** A writer saw readers inside while it held the write lock. */
  WRITER_SAW_READERS: 12,
  /** A writer saw another writer inside. */
  WRITER_SAW_WRITER: 13,
  /** Workers that have attached to the lock (attaching may wait for writers already in line). */
  ATTACHED: 14,
  /** Set by the test once every worker attached: counter and exclusion workers start together. */
  START: 15,
  /** Actor i uses words ACTORS + 4i (command) and ACTORS + 4i + 1 (rank when it acquired). */
  ACTORS: 16,
  /** Sink for busy-work results, so the work is not optimised away. */
  SCRATCH: 47,
  /** Pressure reader i counts its entries in READER_ENTRIES_EACH + i. */
  READER_ENTRIES_EACH: 48,
  WORDS: 64,
} as const;

export const ACTOR_COMMAND = { IDLE: 0, READ_LOCK: 1, WRITE_LOCK: 2, UNLOCK: 3, EXIT: 4 } as const;

if (parentPort !== null) {
  const data = workerData as LockWorkerData;
  const lock = attachSharedLock(data.lock, data.participant);
  const board = new Int32Array(data.board);
  Atomics.add(board, BOARD.ATTACHED, 1);
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
  const stopped = (): boolean => Atomics.load(board, BOARD.STOP) !== 0;
  /**
   * Waits (at most 10 s) for the test's start signal. Starting a worker takes tens of
   * milliseconds, longer than a whole run of some scenarios: without a common start, the
   * threads would mostly run one after another and never contend.
   */
  const awaitStart = (): void => {
    const deadline = Date.now() + 10_000;
    while (Atomics.load(board, BOARD.START) === 0 && Date.now() < deadline) Atomics.wait(board, BOARD.START, 0, 50);
  };

  switch (task.scenario) {
    case 'counter': {
      awaitStart();
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
      // Bounded by STOP and the deadline.
      while (!stopped() && Date.now() < deadline) {
        lock.readLock();
        Atomics.add(board, BOARD.READER_ENTRIES, 1);
        Atomics.add(board, BOARD.READER_ENTRIES_EACH + task.readerIndex, 1);
        sleepMs(task.holdMs);
        lock.readUnlock();
      }
      break;
    }
    case 'phase-writer': {
      // Each round: hold the lock until the lock's own state shows a reader waiting, release,
      // and take the lock again at once. The fairness policy promises that the waiting reader
      // goes first (rwlock: readers queued behind a writer phase run before the next writer
      // phase; mutex: a waiter past the starvation threshold holds an urgent ticket that
      // newcomers may not pass). Whether it did is read off the reader entry count, so the
      // check depends on the lock's logic, not on how the OS schedules the threads.
      const readerWaiting = (): boolean => {
        const state = inspectLock(data.lock);
        // mutex: the urgent bit must be set too — it is what holds newcomers back, and a waiter
        // sets it just after recording its ticket.
        return state.kind === 'mutex' ? state.urgentWaiters > 0 && state.urgentFirst : state.readersInsideOrWaiting > 0;
      };
      let overtakes = 0;
      let roundsWithoutWaitingReader = 0;
      lock.writeLock();
      for (let round = 0; round < task.rounds; round++) {
        const waitUntil = Date.now() + task.queueWaitMs;
        // Bounded by queueWaitMs.
        while (!readerWaiting() && Date.now() < waitUntil) sleepMs(0.2);
        const waiting = readerWaiting();
        if (!waiting) roundsWithoutWaitingReader++;
        const readerEntriesBefore = Atomics.load(board, BOARD.READER_ENTRIES);
        lock.writeUnlock();
        lock.writeLock();
        Atomics.add(board, BOARD.WRITER_ENTRIES, 1);
        if (waiting && Atomics.load(board, BOARD.READER_ENTRIES) === readerEntriesBefore) overtakes++;
      }
      lock.writeUnlock();
      Atomics.store(board, BOARD.STOP, 1);
      const report: PhaseWriterReport = { rounds: task.rounds, overtakes, roundsWithoutWaitingReader };
      parentPort.postMessage(report);
      break;
    }
    case 'exclusion': {
      // Both sides stay inside for `holdChecks` checks of the other side's inside-count, so a
      // lock that lets a reader in beside a writer is caught while they overlap, not only if
      // one happens to enter at the very instant the other looks. All workers start together
      // and run for the same time, so the two sides really contend. A violation sets STOP, so
      // the test fails fast.
      awaitStart();
      const deadline = Date.now() + task.durationMs;
      // Bounded by the deadline and STOP (the clock is read every 64 turns).
      for (let turn = 0; !stopped() && ((turn & 63) !== 0 || Date.now() < deadline); turn++) {
        if (task.role === 'reader') {
          lock.readLock();
          Atomics.add(board, BOARD.READERS_INSIDE, 1);
          for (let check = 0; check < task.holdChecks; check++) {
            if (Atomics.load(board, BOARD.WRITERS_INSIDE) !== 0) {
              Atomics.add(board, BOARD.READER_SAW_WRITER, 1);
              Atomics.store(board, BOARD.STOP, 1);
              break;
            }
          }
          atomicMax(BOARD.INSIDE_MAX, Atomics.load(board, BOARD.READERS_INSIDE));
          Atomics.add(board, BOARD.READER_ENTRIES, 1);
          Atomics.sub(board, BOARD.READERS_INSIDE, 1);
          lock.readUnlock();
        } else {
          lock.writeLock();
          if (Atomics.add(board, BOARD.WRITERS_INSIDE, 1) !== 0) {
            Atomics.add(board, BOARD.WRITER_SAW_WRITER, 1);
            Atomics.store(board, BOARD.STOP, 1);
          }
          for (let check = 0; check < task.holdChecks; check++) {
            if (Atomics.load(board, BOARD.READERS_INSIDE) !== 0) {
              Atomics.add(board, BOARD.WRITER_SAW_READERS, 1);
              Atomics.store(board, BOARD.STOP, 1);
              break;
            }
          }
          const seen = board[BOARD.COUNTER]!;
          board[BOARD.COUNTER] = seen + 1;
          Atomics.add(board, BOARD.WRITER_ENTRIES, 1);
          Atomics.sub(board, BOARD.WRITERS_INSIDE, 1);
          lock.writeUnlock();
        }
      }
      break;
    }
    case 'hot-reader': {
      // Reads back to back, staying inside for most of each turn, until the test kills it.
      const deadline = Date.now() + task.deadlineMs;
      let scratch = 0;
      // Bounded by STOP and the deadline (the clock is read every 64 turns).
      for (let turn = 0; !stopped() && ((turn & 63) !== 0 || Date.now() < deadline); turn++) {
        lock.readLock();
        Atomics.add(board, BOARD.READER_ENTRIES, 1);
        for (let spin = 0; spin < task.holdSpins; spin++) scratch = (scratch * 31 + spin) | 0;
        lock.readUnlock();
      }
      board[BOARD.SCRATCH] = scratch;
      break;
    }
    case 'writer-loop': {
      const deadline = Date.now() + task.deadlineMs;
      // Bounded by STOP and the deadline.
      while (!stopped() && Date.now() < deadline) {
        lock.writeLock();
        Atomics.add(board, BOARD.WRITER_ENTRIES, 1);
        lock.writeUnlock();
      }
      break;
    }
  }
  parentPort.postMessage({ done: true });
}

// Deadlines for tests that wait on other threads: every wait here ends, with a message that says
// what did not happen and what the shared state looked like then, so a broken lock fails a test
// instead of hanging the suite.
//
// The one subtle thing: a thread blocked inside Atomics.wait (in a lock) cannot time itself out.
// Workers are therefore bounded from the main thread, which terminates them when a deadline
// passes; and a main thread that may itself block inside the lock (it is the map's writer) is
// watched by a watchdog thread (`watchMainThread`) that prints the lock state to stderr and kills
// the test process when the main thread stops turning its event loop. The test runner then
// reports the file as failed, with that message.

import { Worker } from 'node:worker_threads';
import { setTimeout as delay } from 'node:timers/promises';
import { inspectLock, type LockDescriptor } from '../../../src/kv/shared/lock.js';
import type { WatchdogData } from './watchdog-worker.js';

/** `promise`, or a rejection naming `what` (and the state from `describe`) after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string, describe: () => string = () => ''): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const state = describe();
      reject(new Error(`${what} within ${timeoutMs} ms${state === '' ? '' : `: ${state}`}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every millisecond until it holds; rejects after `timeoutMs`, naming `what`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 5000, describe: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Bounded by the deadline.
  while (!condition()) {
    if (Date.now() > deadline) {
      const state = describe();
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${state === '' ? '' : ` (${state})`}`);
    }
    await delay(1);
  }
}

/** The lock's state as one line, for failure messages. */
export function describeLock(lock: LockDescriptor): string {
  return `lock ${JSON.stringify(inspectLock(lock))}`;
}

/**
 * Waits (without blocking the event loop) until no thread holds or waits for `lock`, so that a
 * synchronous write on the main thread that follows cannot block; fails naming the holders
 * otherwise. Use before the main thread writes after reader threads have used the lock.
 */
export async function untilLockIdle(lock: LockDescriptor, what: string, timeoutMs = 5000): Promise<void> {
  await until(
    `${what}: the lock to be idle (no reader inside or waiting, no writer)`,
    () => {
      const state = inspectLock(lock);
      return state.kind === 'mutex' ? !state.held && state.urgentWaiters === 0 : state.readersInsideOrWaiting === 0 && state.writersQueued === 0;
    },
    timeoutMs,
    () => describeLock(lock),
  );
}

/**
 * Starts a watchdog thread (watchdog-worker.ts) that, if the main thread's event loop stalls for
 * `stallMs` (it is stuck in a lock), writes the watched locks' state to stderr and kills this
 * process. `watch` adds a lock to describe; `stop` ends the watchdog.
 */
export function watchMainThread(stallMs = 20_000): { watch(lock: LockDescriptor): void; stop(): void } {
  const heartbeat = new Int32Array(new SharedArrayBuffer(4));
  const workerData: WatchdogData = { heartbeat: heartbeat.buffer as SharedArrayBuffer, stallMs };
  const watchdog = new Worker(new URL('./watchdog-worker.js', import.meta.url), { workerData });
  watchdog.unref();
  const beat = setInterval(() => Atomics.add(heartbeat, 0, 1), 50);
  beat.unref();
  const watched: LockDescriptor[] = [];
  return {
    watch(lock: LockDescriptor): void {
      watched.push(lock);
      watchdog.postMessage(watched);
    },
    stop(): void {
      clearInterval(beat);
      void watchdog.terminate();
    },
  };
}

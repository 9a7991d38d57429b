// Messages between the reader pool (main thread), its reader workers and its reaper. Requests and
// answers for get/scan travel as binary batches (wire-format.ts); these envelopes only carry them.
//
// Every reader worker is given a lifeline: one end of a MessageChannel it never uses, whose other
// end the reaper holds. When the worker's thread ends — however it ends — its ports close and
// the reaper's end emits 'close'; that is the reaper's signal to release the worker's lock
// participant (see reaper-worker.ts).

import type { MessagePort } from 'node:worker_threads';
import type { LockDescriptor } from './lock.js';
import type { SharedSkipListDescriptor } from './shared-skip-list.js';

export interface ReaderWorkerData {
  readonly workerIndex: number;
  readonly descriptor: SharedSkipListDescriptor;
  readonly segmentPort: MessagePort;
  /** The lock participant slot reserved for this worker (the reaper releases it). */
  readonly participant: number;
  /** Held, never used: it closes when the worker's thread ends. */
  readonly lifeline: MessagePort;
  /** Bound on one answer batch's size. */
  readonly responseBytesMax: number;
}

/** Options of a self-driven read loop (benchmarks): gets of random keys for a fixed time. */
export interface ReadLoopRequest {
  readonly type: 'read-loop';
  readonly loopId: number;
  /** keyCount keys of keyLengthBytes each, back to back. */
  readonly keys: SharedArrayBuffer;
  readonly keyLengthBytes: number;
  readonly keyCount: number;
  readonly durationMs: number;
  readonly getsMax: number;
  readonly seed: number;
}

/**
 * Fault injection (tests): take the read lock, report 'holding-read-lock', then either exit the
 * thread after holdMs without releasing ('exit') or block until terminated ('hang').
 */
export interface InjectDeathRequest {
  readonly type: 'inject-death';
  readonly how: 'exit' | 'hang';
  readonly holdMs: number;
}

export type ToReaderWorker =
  | { readonly type: 'batch'; readonly batchId: number; readonly requests: Uint8Array }
  | ReadLoopRequest
  | InjectDeathRequest
  | { readonly type: 'close' };

export interface ReadLoopResult {
  readonly gets: number;
  readonly found: number;
  readonly elapsedMs: number;
}

export type FromReaderWorker =
  | { readonly type: 'ready'; readonly workerIndex: number }
  | { readonly type: 'answers'; readonly batchId: number; readonly answers: Uint8Array }
  | { readonly type: 'batch-failed'; readonly batchId: number; readonly message: string }
  | ({ readonly type: 'read-loop-done'; readonly loopId: number } & ReadLoopResult)
  | { readonly type: 'holding-read-lock' }
  | { readonly type: 'closed' };

export interface ReaperWorkerData {
  readonly lock: LockDescriptor;
}

export type ToReaper =
  | { readonly type: 'watch'; readonly participant: number; readonly lifeline: MessagePort }
  | { readonly type: 'close' };

export type FromReaper =
  | { readonly type: 'ready' }
  | { readonly type: 'released'; readonly participant: number; readonly readHolds: number; readonly mutexHeld: boolean }
  | { readonly type: 'release-failed'; readonly participant: number; readonly message: string };

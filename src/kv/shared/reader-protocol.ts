// Messages between the reader pool (main thread) and a reader worker. Requests and answers for
// get/scan travel as binary batches (wire-format.ts); these envelopes only carry them.

import type { MessagePort } from 'node:worker_threads';
import type { SharedSkipListDescriptor } from './shared-skip-list.js';

export interface ReaderWorkerData {
  readonly workerIndex: number;
  readonly descriptor: SharedSkipListDescriptor;
  readonly segmentPort: MessagePort;
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

export type ToReaderWorker =
  | { readonly type: 'batch'; readonly batchId: number; readonly requests: Uint8Array }
  | ReadLoopRequest
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
  | { readonly type: 'closed' };

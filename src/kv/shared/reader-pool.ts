// A pool of reader worker threads that serve get and scan straight from a SharedSkipList's shared
// memory, under the map's lock: with 'mutex' readers and the writer (the main thread's apply path)
// take turns one at a time; with 'rwlock' readers run in parallel with each other.
//
// Requests issued in one turn of the event loop are gathered into one binary batch per worker
// (wire-format.ts) and sent together at setImmediate, so postMessage's fixed cost is paid per
// batch. A request goes to the worker with the fewest requests outstanding. Bounds: at most
// `queuedRequestsMax` requests may be waiting or in flight (beyond that get/scan reject with
// ReaderPoolOverloadedError — the caller must bound its concurrency), a batch holds at most
// `batchRequestsMax`, and each worker has at most `batchesInFlightMax` batches outstanding; later
// batches wait in the pool.
//
// Closing is graceful: the pool stops accepting requests, lets every queued batch finish, then
// asks each worker to exit. A worker is never terminated mid-batch, because a thread killed while
// holding the read lock would leave the lock held and the writer blocked forever.

import { Worker } from 'node:worker_threads';
import type { KeyValueVersion, VersionedValue } from '../ordered-map.js';
import type { LockKind } from './lock.js';
import { KEY_BYTES_MAX } from './node-layout.js';
import type { FromReaderWorker, ReadLoopResult, ReaderWorkerData, ToReaderWorker } from './reader-protocol.js';
import type { ReaderAttachment, SharedSkipList } from './shared-skip-list.js';
import { ByteReader, ByteWriter, decodeGetAnswer, decodeScanAnswer, encodeGet, encodeScan } from './wire-format.js';

export interface ReaderPoolOptions {
  readonly map: SharedSkipList;
  /**
   * Optional check: the lock the caller expects. The lock belongs to the map (the writer takes it
   * too), so this only guards against wiring a profile's `kv.lock` to the wrong map.
   */
  readonly lock?: LockKind;
  /** Reader worker threads (1 … 64). */
  readonly threads: number;
  /** Requests waiting or in flight, across the pool (default 65 536). */
  readonly queuedRequestsMax?: number;
  /** Requests per batch message (default 256). */
  readonly batchRequestsMax?: number;
  /** Batches each worker may have outstanding (default 2: one being served, one queued behind it). */
  readonly batchesInFlightMax?: number;
  /** Largest scan limit accepted (default 10 000). */
  readonly scanLimitMax?: number;
  /** Largest answer batch a worker may send (default 64 MiB). */
  readonly responseBytesMax?: number;
}

export class ReaderPoolOverloadedError extends Error {
  override readonly name = 'ReaderPoolOverloadedError';
  constructor(readonly queuedRequestsMax: number) {
    super(`reader pool: ${queuedRequestsMax} requests already queued (queuedRequestsMax); bound the caller's concurrency`);
  }
}

export class ReaderPoolClosedError extends Error {
  override readonly name = 'ReaderPoolClosedError';
  constructor(detail: string) {
    super(`reader pool: ${detail}`);
  }
}

export interface ReadLoopOptions {
  /** Keys to read, all of the same length. */
  readonly keys: readonly Uint8Array[];
  readonly durationMs: number;
  /** Upper bound on gets per worker (default 10^9). */
  readonly getsPerWorkerMax?: number;
  /** Worker i draws keys with seed + i. */
  readonly seed: number;
}

export interface ReadLoopSummary {
  readonly perWorker: readonly ReadLoopResult[];
  readonly totalGets: number;
  readonly totalFound: number;
  /** Sum over workers of gets / elapsed. */
  readonly getsPerSecond: number;
}

type Pending =
  | { readonly kind: 'get'; readonly resolve: (value: VersionedValue | undefined) => void; readonly reject: (error: Error) => void }
  | { readonly kind: 'scan'; readonly resolve: (value: KeyValueVersion[]) => void; readonly reject: (error: Error) => void };

interface Batch {
  readonly encoded: ByteWriter;
  readonly pending: Pending[];
}

interface WorkerSlot {
  readonly index: number;
  readonly worker: Worker;
  readonly attachment: ReaderAttachment;
  open: Batch | null;
  readonly sealed: Batch[];
  readonly inFlight: Map<number, Batch>;
  outstandingRequests: number;
  exited: boolean;
  closedSignal: (() => void) | null;
  /** Settles the worker's start-up: null when it reported ready, an error if it died first. */
  readySignal: ((error: Error | null) => void) | null;
}

const DEFAULTS = {
  queuedRequestsMax: 65536,
  batchRequestsMax: 256,
  batchesInFlightMax: 2,
  scanLimitMax: 10000,
  responseBytesMax: 64 * 1024 * 1024,
} as const;

function checkBound(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`ReaderPool.create: ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

export class ReaderPool {
  readonly threads: number;
  readonly lockKind: LockKind;
  private readonly slots: WorkerSlot[] = [];
  private readonly queuedRequestsMax: number;
  private readonly batchRequestsMax: number;
  private readonly batchesInFlightMax: number;
  private readonly scanLimitMax: number;
  private queuedRequests = 0;
  private nextBatchId = 1;
  private nextLoopId = 1;
  private flushScheduled = false;
  private closing = false;
  private failure: Error | null = null;
  private readonly readLoops = new Map<number, { remaining: number; results: ReadLoopResult[]; resolve: (results: ReadLoopResult[]) => void; reject: (error: Error) => void }>();

  private constructor(
    private readonly map: SharedSkipList,
    options: ReaderPoolOptions,
  ) {
    this.threads = checkBound('threads', options.threads, 1, 64);
    this.lockKind = map.lockKind;
    if (options.lock !== undefined && options.lock !== map.lockKind) {
      throw new TypeError(`ReaderPool.create: lock is '${options.lock}' but the map was created with '${map.lockKind}'`);
    }
    this.queuedRequestsMax = checkBound('queuedRequestsMax', options.queuedRequestsMax ?? DEFAULTS.queuedRequestsMax, 1, 1 << 24);
    this.batchRequestsMax = checkBound('batchRequestsMax', options.batchRequestsMax ?? DEFAULTS.batchRequestsMax, 1, 1 << 16);
    this.batchesInFlightMax = checkBound('batchesInFlightMax', options.batchesInFlightMax ?? DEFAULTS.batchesInFlightMax, 1, 64);
    this.scanLimitMax = checkBound('scanLimitMax', options.scanLimitMax ?? DEFAULTS.scanLimitMax, 1, 1 << 24);
  }

  /** Starts `threads` reader workers on `map` and resolves once all are ready. */
  static async create(options: ReaderPoolOptions): Promise<ReaderPool> {
    const pool = new ReaderPool(options.map, options);
    const responseBytesMax = checkBound('responseBytesMax', options.responseBytesMax ?? DEFAULTS.responseBytesMax, 1 << 16, 1 << 30);
    const ready: Promise<void>[] = [];
    for (let index = 0; index < pool.threads; index++) {
      const attachment = options.map.attachReader();
      const workerData: ReaderWorkerData = { workerIndex: index, descriptor: attachment.descriptor, segmentPort: attachment.segmentPort, responseBytesMax };
      const worker = new Worker(new URL('./reader-worker.js', import.meta.url), { workerData, transferList: [attachment.segmentPort] });
      const slot: WorkerSlot = { index, worker, attachment, open: null, sealed: [], inFlight: new Map(), outstandingRequests: 0, exited: false, closedSignal: null, readySignal: null };
      pool.slots.push(slot);
      ready.push(
        new Promise<void>((resolve, reject) => {
          slot.readySignal = (error) => (error === null ? resolve() : reject(error));
        }),
      );
      pool.wire(slot);
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      await pool.close().catch(() => undefined);
      throw error;
    }
    return pool;
  }

  get(key: Uint8Array): Promise<VersionedValue | undefined> {
    return new Promise((resolve, reject) => {
      const problem = this.admissionProblem() ?? keyProblem('get key', key);
      if (problem !== null) return reject(problem);
      const batch = this.batchFor(this.leastLoadedSlot());
      encodeGet(batch.encoded, key);
      batch.pending.push({ kind: 'get', resolve, reject });
    });
  }

  scan(startInclusive: Uint8Array, endExclusive: Uint8Array | null, limit: number): Promise<KeyValueVersion[]> {
    return new Promise((resolve, reject) => {
      let problem = this.admissionProblem() ?? keyProblem('scan start', startInclusive);
      if (problem === null && endExclusive !== null) problem = keyProblem('scan end', endExclusive);
      if (problem === null && (!Number.isSafeInteger(limit) || limit < 0 || limit > this.scanLimitMax)) {
        problem = new RangeError(`reader pool scan: limit must be an integer in [0, ${this.scanLimitMax}], got ${limit}`);
      }
      if (problem !== null) return reject(problem);
      const batch = this.batchFor(this.leastLoadedSlot());
      encodeScan(batch.encoded, startInclusive, endExclusive, limit);
      batch.pending.push({ kind: 'scan', resolve, reject });
    });
  }

  /**
   * Benchmark helper: every worker reads random keys from `keys` (under the lock, straight from
   * shared memory) for `durationMs`, with no per-request messaging, and reports its count.
   */
  async runReadLoop(options: ReadLoopOptions): Promise<ReadLoopSummary> {
    const problem = this.admissionProblem();
    if (problem !== null) throw problem;
    const first = options.keys[0];
    if (first === undefined) throw new RangeError('runReadLoop: keys must not be empty');
    const keyLengthBytes = first.length;
    const keyBuffer = new SharedArrayBuffer(Math.max(1, keyLengthBytes * options.keys.length));
    const keyBytes = new Uint8Array(keyBuffer);
    options.keys.forEach((key, i) => {
      if (key.length !== keyLengthBytes) throw new RangeError(`runReadLoop: keys[${i}] is ${key.length} bytes, keys[0] is ${keyLengthBytes}`);
      keyBytes.set(key, i * keyLengthBytes);
    });
    const loopId = this.nextLoopId++;
    const results = await new Promise<ReadLoopResult[]>((resolve, reject) => {
      this.readLoops.set(loopId, { remaining: this.slots.length, results: [], resolve, reject });
      for (const slot of this.slots) {
        this.post(slot, {
          type: 'read-loop',
          loopId,
          keys: keyBuffer,
          keyLengthBytes,
          keyCount: options.keys.length,
          durationMs: options.durationMs,
          getsMax: options.getsPerWorkerMax ?? 1e9,
          seed: options.seed + slot.index,
        });
      }
    });
    const totalGets = results.reduce((sum, r) => sum + r.gets, 0);
    const totalFound = results.reduce((sum, r) => sum + r.found, 0);
    const getsPerSecond = results.reduce((sum, r) => sum + (r.elapsedMs > 0 ? (r.gets * 1000) / r.elapsedMs : 0), 0);
    return { perWorker: results, totalGets, totalFound, getsPerSecond };
  }

  /** Requests waiting or in flight. */
  get queuedRequestCount(): number {
    return this.queuedRequests;
  }

  /**
   * Finishes every accepted request, then stops the workers and detaches them from the map.
   * Safe to call twice.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.flush();
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.exited) return;
        const exited = new Promise<void>((resolve) => {
          if (slot.exited) resolve();
          else slot.worker.once('exit', () => resolve());
        });
        // Batches still queued are sent by flush/onAnswers as in-flight ones return; the close
        // message queues behind them in the worker's port, so it is handled last.
        await this.drained(slot);
        if (!slot.exited) this.post(slot, { type: 'close' });
        await exited;
        slot.attachment.detach();
      }),
    );
  }

  // ---- internals -------------------------------------------------------------------------------

  private admissionProblem(): Error | null {
    if (this.failure !== null) return this.failure;
    if (this.closing) return new ReaderPoolClosedError('closed');
    if (this.queuedRequests >= this.queuedRequestsMax) return new ReaderPoolOverloadedError(this.queuedRequestsMax);
    return null;
  }

  private leastLoadedSlot(): WorkerSlot {
    let best = this.slots[0]!;
    for (const slot of this.slots) if (slot.outstandingRequests < best.outstandingRequests) best = slot;
    return best;
  }

  private batchFor(slot: WorkerSlot): Batch {
    this.queuedRequests++;
    slot.outstandingRequests++;
    let batch = slot.open;
    if (batch === null || batch.pending.length >= this.batchRequestsMax) {
      if (batch !== null) slot.sealed.push(batch);
      batch = { encoded: new ByteWriter(4096, 1 << 30, 'reader pool request batch'), pending: [] };
      slot.open = batch;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return batch;
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const slot of this.slots) {
      if (slot.open !== null && slot.open.pending.length > 0) {
        slot.sealed.push(slot.open);
        slot.open = null;
      }
      this.sendSealed(slot);
    }
  }

  private sendSealed(slot: WorkerSlot): void {
    // Bounded by the sealed queue's length and the in-flight limit.
    while (slot.sealed.length > 0 && slot.inFlight.size < this.batchesInFlightMax && !slot.exited) {
      const batch = slot.sealed.shift()!;
      const batchId = this.nextBatchId++;
      slot.inFlight.set(batchId, batch);
      const requests = batch.encoded.takeCopy();
      this.post(slot, { type: 'batch', batchId, requests }, [requests.buffer as ArrayBuffer]);
    }
    if (slot.closedSignal !== null && slot.sealed.length === 0 && slot.inFlight.size === 0) {
      const signal = slot.closedSignal;
      slot.closedSignal = null;
      signal();
    }
  }

  private drained(slot: WorkerSlot): Promise<void> {
    if (slot.exited || (slot.sealed.length === 0 && slot.inFlight.size === 0 && slot.open === null)) return Promise.resolve();
    return new Promise((resolve) => {
      slot.closedSignal = resolve;
    });
  }

  private post(slot: WorkerSlot, message: ToReaderWorker, transfer?: ArrayBuffer[]): void {
    slot.worker.postMessage(message, transfer);
  }

  private wire(slot: WorkerSlot): void {
    slot.worker.on('message', (message: FromReaderWorker) => this.onMessage(slot, message));
    slot.worker.on('error', (error: Error) => {
      const failure = new ReaderPoolClosedError(`reader worker ${slot.index} failed: ${error.message}`);
      this.settleReady(slot, failure);
      this.fail(slot, failure);
    });
    slot.worker.on('exit', (code: number) => {
      slot.exited = true;
      this.settleReady(slot, new ReaderPoolClosedError(`reader worker ${slot.index} exited (code ${code}) before it was ready`));
      if (!this.closing || slot.inFlight.size > 0 || slot.sealed.length > 0) {
        this.fail(slot, new ReaderPoolClosedError(`reader worker ${slot.index} exited (code ${code}) with requests outstanding`));
      }
      if (slot.closedSignal !== null) {
        const signal = slot.closedSignal;
        slot.closedSignal = null;
        signal();
      }
    });
  }

  private onMessage(slot: WorkerSlot, message: FromReaderWorker): void {
    switch (message.type) {
      case 'answers': {
        const batch = this.takeInFlight(slot, message.batchId);
        const reader = new ByteReader(message.answers, `reader worker ${slot.index} answer batch ${message.batchId}`);
        let settled = 0;
        try {
          for (const pending of batch.pending) {
            if (pending.kind === 'get') pending.resolve(decodeGetAnswer(reader));
            else pending.resolve(decodeScanAnswer(reader));
            settled++;
          }
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error));
          for (const pending of batch.pending.slice(settled)) pending.reject(failure);
        }
        this.sendSealed(slot);
        break;
      }
      case 'batch-failed': {
        const batch = this.takeInFlight(slot, message.batchId);
        const failure = new Error(`reader worker ${slot.index}: ${message.message}`);
        for (const pending of batch.pending) pending.reject(failure);
        this.sendSealed(slot);
        break;
      }
      case 'read-loop-done': {
        const loop = this.readLoops.get(message.loopId);
        if (loop === undefined) return;
        loop.results.push({ gets: message.gets, found: message.found, elapsedMs: message.elapsedMs });
        if (--loop.remaining === 0) {
          this.readLoops.delete(message.loopId);
          loop.resolve(loop.results);
        }
        break;
      }
      case 'ready':
        this.settleReady(slot, null);
        break;
      case 'closed':
        break;
    }
  }

  private settleReady(slot: WorkerSlot, error: Error | null): void {
    const signal = slot.readySignal;
    slot.readySignal = null;
    if (signal !== null) signal(error);
  }

  private takeInFlight(slot: WorkerSlot, batchId: number): Batch {
    const batch = slot.inFlight.get(batchId);
    if (batch === undefined) throw new Error(`reader pool: worker ${slot.index} answered unknown batch ${batchId}`);
    slot.inFlight.delete(batchId);
    this.queuedRequests -= batch.pending.length;
    slot.outstandingRequests -= batch.pending.length;
    return batch;
  }

  /** A worker broke: fail everything it held and refuse new work (the pool cannot heal itself). */
  private fail(slot: WorkerSlot, error: Error): void {
    if (this.failure === null) this.failure = error;
    const batches = [...slot.inFlight.values(), ...slot.sealed, ...(slot.open === null ? [] : [slot.open])];
    slot.inFlight.clear();
    slot.sealed.length = 0;
    slot.open = null;
    for (const batch of batches) {
      this.queuedRequests -= batch.pending.length;
      slot.outstandingRequests -= batch.pending.length;
      for (const pending of batch.pending) pending.reject(error);
    }
    for (const [loopId, loop] of this.readLoops) {
      this.readLoops.delete(loopId);
      loop.reject(error);
    }
  }
}

function keyProblem(what: string, key: Uint8Array): Error | null {
  if (!(key instanceof Uint8Array)) return new TypeError(`reader pool ${what} must be a Uint8Array`);
  if (key.length > KEY_BYTES_MAX) return new RangeError(`reader pool ${what} is ${key.length} bytes, the limit is ${KEY_BYTES_MAX}`);
  return null;
}

export type { ReadLoopResult } from './reader-protocol.js';

// A pool of reader worker threads that serve get and scan straight from a SharedSkipList's shared
// memory, under the map's lock: with 'mutex' readers and the writer (the main thread's apply path)
// take turns one at a time; with 'rwlock' readers run in parallel with each other.
//
// Requests issued in one turn of the event loop are gathered into one binary batch per worker
// (wire-format.ts) and sent together at setImmediate, so postMessage's fixed cost is paid per
// batch. A request goes to the ready worker with the fewest requests outstanding. Bounds: at most
// `queuedRequestsMax` requests may be waiting or in flight (beyond that get/scan reject with
// ReaderPoolOverloadedError — the caller must bound its concurrency), a batch holds at most
// `batchRequestsMax`, and each worker has at most `batchesInFlightMax` batches outstanding; later
// batches wait in the pool.
//
// A worker that dies — however: an uncaught error, process.exit, running out of memory, being
// terminated — may die holding the read lock, which would block the writer for ever. Each worker
// therefore reads through a lock participant slot reserved for it here, and a reaper thread
// (reaper-worker.ts) releases that slot when the worker's thread ends; it does so from its own
// event loop, because the main thread may be the one asleep in writeLock. The pool itself, on the
// worker's 'exit', fails the requests the worker had been sent (ReaderWorkerDiedError: they were
// not answered and may be retried), keeps the ones not yet sent, and starts a replacement that
// serves them — up to `restartsMax` replacements over the pool's life, after which the pool
// refuses requests rather than crash-loop.
//
// Closing is graceful: the pool stops accepting requests, lets every queued batch finish, then
// asks each worker to exit. `terminate` stops the workers at once (safe now that dead readers'
// holds are released); requests not yet answered then fail.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { KeyValueVersion, VersionedValue } from '../ordered-map.js';
import { reserveParticipant, type LockKind, type ReleasedHolds } from './lock.js';
import { KEY_BYTES_MAX } from './node-layout.js';
import type { FromReaper, FromReaderWorker, ReadLoopResult, ReaderWorkerData, ReaperWorkerData, ToReaderWorker, ToReaper } from './reader-protocol.js';
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
  /** Workers started to replace dead ones over the pool's life (0 … 1000, default 16). */
  readonly restartsMax?: number;
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

/** The worker serving a request died before answering it. Reads change nothing, so retry. */
export class ReaderWorkerDiedError extends Error {
  override readonly name = 'ReaderWorkerDiedError';
  readonly retryable = true;
  constructor(
    readonly workerIndex: number,
    how: string,
    requestsInFlight: number,
  ) {
    super(`reader pool: reader worker ${workerIndex} ${how} with ${requestsInFlight} request(s) in flight; they were not answered and may be retried`);
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

export interface ReaderPoolStats {
  /** Workers started to replace dead ones. */
  readonly workerRestarts: number;
  /** rwlock: read holds of dead workers that the reaper released. */
  readonly readHoldsReleased: number;
  /** mutex: times the reaper released a mutex that a dead worker held. */
  readonly mutexHoldsReleased: number;
}

/** A fault injected with injectReaderDeath. */
export interface InjectedDeath {
  /** Resolves once the worker holds the read lock (for 'terminate': once terminate() was called). */
  readonly holding: Promise<void>;
  /** Resolves with what the reaper released once the worker's thread has ended. */
  readonly released: Promise<ReleasedHolds>;
}

type Pending =
  | { readonly kind: 'get'; readonly resolve: (value: VersionedValue | undefined) => void; readonly reject: (error: Error) => void }
  | { readonly kind: 'scan'; readonly resolve: (value: KeyValueVersion[]) => void; readonly reject: (error: Error) => void };

interface Batch {
  readonly encoded: ByteWriter;
  readonly pending: Pending[];
}

/** One position in the pool; its worker is replaced when it dies. */
interface WorkerSlot {
  readonly index: number;
  worker: Worker;
  attachment: ReaderAttachment;
  /** The lock participant slot the current worker reads through. */
  participant: number;
  /** The current worker reported ready and has not exited. */
  ready: boolean;
  exited: boolean;
  /** The last 'error' event of the current worker, for the message when it exits. */
  lastError: Error | null;
  open: Batch | null;
  readonly sealed: Batch[];
  readonly inFlight: Map<number, Batch>;
  outstandingRequests: number;
  closedSignal: (() => void) | null;
  /** Settles the first worker's start-up: null when it reported ready, an error if it died first. */
  readySignal: ((error: Error | null) => void) | null;
  /** Fault injection: called when the worker reports it holds the read lock. */
  holdingSignal: (() => void) | null;
}

const DEFAULTS = {
  queuedRequestsMax: 65536,
  batchRequestsMax: 256,
  batchesInFlightMax: 2,
  scanLimitMax: 10000,
  responseBytesMax: 64 * 1024 * 1024,
  restartsMax: 16,
} as const;

/** How long close/terminate wait for the reaper to release the workers' slots, and to exit. */
const REAPER_WAIT_MS = 5000;

const READER_WORKER_URL = new URL('./reader-worker.js', import.meta.url);
const REAPER_WORKER_URL = new URL('./reaper-worker.js', import.meta.url);

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
  private readonly responseBytesMax: number;
  private readonly restartsMax: number;
  private queuedRequests = 0;
  private nextBatchId = 1;
  private nextLoopId = 1;
  private flushScheduled = false;
  private started = false;
  private closing = false;
  private failure: Error | null = null;
  private restarts = 0;
  private readHoldsReleased = 0;
  private mutexHoldsReleased = 0;
  private readonly readLoops = new Map<number, { remaining: number; results: ReadLoopResult[]; resolve: (results: ReadLoopResult[]) => void; reject: (error: Error) => void }>();
  private reaper: Worker | null = null;
  private reaperStopped: Promise<void> | null = null;
  /** Participants handed to the reaper and not yet released. */
  private readonly unreleased = new Set<number>();
  private readonly releaseWaiters = new Map<number, (released: ReleasedHolds) => void>();
  private allReleasedSignal: (() => void) | null = null;

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
    this.responseBytesMax = checkBound('responseBytesMax', options.responseBytesMax ?? DEFAULTS.responseBytesMax, 1 << 16, 1 << 30);
    this.restartsMax = checkBound('restartsMax', options.restartsMax ?? DEFAULTS.restartsMax, 0, 1000);
  }

  /** Starts the reaper and `threads` reader workers on `map`; resolves once all are ready. */
  static async create(options: ReaderPoolOptions): Promise<ReaderPool> {
    const pool = new ReaderPool(options.map, options);
    try {
      await pool.startReaper();
      const ready: Promise<void>[] = [];
      for (let index = 0; index < pool.threads; index++) {
        const slot = pool.launch(index);
        pool.slots.push(slot);
        ready.push(
          new Promise<void>((resolve, reject) => {
            slot.readySignal = (error) => (error === null ? resolve() : reject(error));
          }),
        );
      }
      await Promise.all(ready);
    } catch (error) {
      await pool.terminate().catch(() => undefined);
      throw error;
    }
    pool.started = true;
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

  get stats(): ReaderPoolStats {
    return { workerRestarts: this.restarts, readHoldsReleased: this.readHoldsReleased, mutexHoldsReleased: this.mutexHoldsReleased };
  }

  /**
   * Fault injection, for tests: worker `workerIndex` takes the read lock and dies holding it —
   * by process.exit after holding it `holdMs` ('exit'), or by being terminated while it holds it
   * ('terminate'). The pool then handles the death as any other (reaper, failed requests,
   * replacement). Await the returned promises with a deadline.
   */
  injectReaderDeath(workerIndex: number, how: 'exit' | 'terminate', holdMs = 0): InjectedDeath {
    const slot = this.slots[workerIndex];
    if (slot === undefined || !slot.ready) throw new RangeError(`injectReaderDeath: worker ${workerIndex} is not a ready worker of this pool (threads ${this.threads})`);
    if (!Number.isSafeInteger(holdMs) || holdMs < 0) throw new RangeError(`injectReaderDeath: holdMs must be a non-negative integer, got ${holdMs}`);
    const worker = slot.worker;
    const released = new Promise<ReleasedHolds>((resolve) => this.releaseWaiters.set(slot.participant, resolve));
    const holding = new Promise<void>((resolve) => {
      slot.holdingSignal = () => {
        if (how === 'terminate') void worker.terminate();
        resolve();
      };
    });
    this.post(slot, { type: 'inject-death', how: how === 'exit' ? 'exit' : 'hang', holdMs });
    return { holding, released };
  }

  /**
   * Finishes every accepted request, then stops the workers and the reaper, and detaches the
   * workers from the map. Safe to call twice.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.flush();
    await Promise.all(
      this.slots.map(async (slot) => {
        // Bounded by the requests already accepted: no new ones are admitted. A worker that dies
        // meanwhile fails what it held (it is not replaced while closing), which also ends this.
        await this.drained(slot);
        if (slot.exited) return;
        const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
        // The close message queues behind any batch in the worker's port, so it is handled last.
        this.post(slot, { type: 'close' });
        await exited;
      }),
    );
    await this.stopReaper();
  }

  /**
   * Stops every worker at once: requests not yet answered fail with ReaderPoolClosedError. A
   * worker stopped inside the lock is released by the reaper, so the writer is not left blocked.
   */
  async terminate(): Promise<void> {
    this.closing = true;
    const error = new ReaderPoolClosedError('terminated');
    for (const slot of this.slots) this.failQueued(slot, error, true);
    this.rejectReadLoops(error);
    await Promise.all(this.slots.map((slot) => (slot.exited ? undefined : slot.worker.terminate())));
    await this.stopReaper();
  }

  // ---- internals -------------------------------------------------------------------------------

  private admissionProblem(): Error | null {
    if (this.failure !== null) return this.failure;
    if (this.closing) return new ReaderPoolClosedError('closed');
    if (this.queuedRequests >= this.queuedRequestsMax) return new ReaderPoolOverloadedError(this.queuedRequestsMax);
    return null;
  }

  /** The ready worker with the fewest requests outstanding; if none is ready, the least loaded. */
  private leastLoadedSlot(): WorkerSlot {
    let best: WorkerSlot | null = null;
    for (const slot of this.slots) {
      if (slot.ready && (best === null || slot.outstandingRequests < best.outstandingRequests)) best = slot;
    }
    if (best !== null) return best;
    best = this.slots[0]!;
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
    // Bounded by the sealed queue's length and the in-flight limit. A worker that is not ready
    // (a replacement starting) gets its batches when it reports ready.
    while (slot.ready && slot.sealed.length > 0 && slot.inFlight.size < this.batchesInFlightMax) {
      const batch = slot.sealed.shift()!;
      const batchId = this.nextBatchId++;
      slot.inFlight.set(batchId, batch);
      const requests = batch.encoded.takeCopy();
      this.post(slot, { type: 'batch', batchId, requests }, [requests.buffer as ArrayBuffer]);
    }
    this.signalIfDrained(slot);
  }

  private signalIfDrained(slot: WorkerSlot): void {
    if (slot.closedSignal !== null && (slot.exited || (slot.sealed.length === 0 && slot.inFlight.size === 0))) {
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

  // ---- workers: start, death, replacement --------------------------------------------------------

  /**
   * Starts a worker for position `index`: reserves its lock participant, hands the participant
   * and one end of a fresh lifeline to the reaper — before the worker exists, so no death can go
   * unwatched — and gives the worker the other end.
   */
  private launch(index: number, replacing?: WorkerSlot): WorkerSlot {
    const participant = reserveParticipant(this.map.lock.descriptor());
    const attachment = this.map.attachReader();
    const lifeline = new MessageChannel();
    this.unreleased.add(participant);
    this.toReaper({ type: 'watch', participant, lifeline: lifeline.port2 }, [lifeline.port2]);
    const workerData: ReaderWorkerData = {
      workerIndex: index,
      descriptor: attachment.descriptor,
      segmentPort: attachment.segmentPort,
      participant,
      lifeline: lifeline.port1,
      responseBytesMax: this.responseBytesMax,
    };
    let worker: Worker;
    try {
      worker = new Worker(READER_WORKER_URL, { workerData, transferList: [attachment.segmentPort, lifeline.port1] });
    } catch (error) {
      attachment.detach();
      lifeline.port1.close(); // the reaper frees the participant
      throw error;
    }
    const slot: WorkerSlot = replacing ?? {
      index,
      worker,
      attachment,
      participant,
      ready: false,
      exited: false,
      lastError: null,
      open: null,
      sealed: [],
      inFlight: new Map(),
      outstandingRequests: 0,
      closedSignal: null,
      readySignal: null,
      holdingSignal: null,
    };
    slot.worker = worker;
    slot.attachment = attachment;
    slot.participant = participant;
    slot.ready = false;
    slot.exited = false;
    slot.lastError = null;
    slot.holdingSignal = null;
    // Events of an earlier worker of the same position are ignored: it is gone.
    worker.on('message', (message: FromReaderWorker) => {
      if (slot.worker === worker) this.onMessage(slot, message);
    });
    worker.on('error', (error: Error) => {
      if (slot.worker === worker) slot.lastError = error;
    });
    worker.on('exit', (code: number) => {
      if (slot.worker === worker) this.onExit(slot, code);
    });
    return slot;
  }

  private onExit(slot: WorkerSlot, code: number): void {
    slot.exited = true;
    slot.ready = false;
    slot.holdingSignal = null;
    slot.attachment.detach();
    const how = slot.lastError !== null ? `failed (${slot.lastError.message})` : `exited (code ${code})`;
    if (slot.readySignal !== null) {
      const signal = slot.readySignal;
      slot.readySignal = null;
      signal(new ReaderPoolClosedError(`reader worker ${slot.index} ${how} before it was ready`));
    }
    const unexpected = !this.closing || slot.inFlight.size > 0 || slot.sealed.length > 0 || slot.open !== null;
    if (unexpected) {
      // What the worker was sent is lost with it; what it was not yet sent can go to a replacement.
      const sentRequests = [...slot.inFlight.values()].reduce((sum, batch) => sum + batch.pending.length, 0);
      this.failInFlight(slot, new ReaderWorkerDiedError(slot.index, how, sentRequests));
      this.rejectReadLoops(new ReaderWorkerDiedError(slot.index, how, 0));
      if (this.closing || !this.started) {
        this.failQueued(slot, new ReaderPoolClosedError(`reader worker ${slot.index} ${how} while the pool was ${this.closing ? 'closing' : 'starting'}`), false);
      } else if (this.restarts < this.restartsMax) {
        this.restarts++;
        try {
          this.launch(slot.index, slot);
        } catch (error) {
          // No slot left in the lock, or no thread could be started: stop rather than run short.
          const reason = error instanceof Error ? error.message : String(error);
          this.failure ??= new ReaderPoolClosedError(`reader worker ${slot.index} ${how}, and its replacement could not be started (${reason}); refusing requests`);
          for (const other of this.slots) this.failQueued(other, this.failure, false);
        }
      } else {
        this.failure ??= new ReaderPoolClosedError(`reader worker ${slot.index} ${how}, and ${this.restartsMax} workers were already replaced (restartsMax); refusing requests`);
        for (const other of this.slots) this.failQueued(other, this.failure, false);
      }
    }
    this.signalIfDrained(slot);
  }

  /** Fails the batches sent to the slot's worker. */
  private failInFlight(slot: WorkerSlot, error: Error): void {
    const batches = [...slot.inFlight.values()];
    slot.inFlight.clear();
    this.failBatches(slot, batches, error);
  }

  /** Fails the batches not yet sent (and, with `sentToo`, the ones sent). */
  private failQueued(slot: WorkerSlot, error: Error, sentToo: boolean): void {
    const batches = [...slot.sealed, ...(slot.open === null ? [] : [slot.open])];
    slot.sealed.length = 0;
    slot.open = null;
    if (sentToo) {
      batches.push(...slot.inFlight.values());
      slot.inFlight.clear();
    }
    this.failBatches(slot, batches, error);
    this.signalIfDrained(slot);
  }

  private failBatches(slot: WorkerSlot, batches: readonly Batch[], error: Error): void {
    for (const batch of batches) {
      this.queuedRequests -= batch.pending.length;
      slot.outstandingRequests -= batch.pending.length;
      for (const pending of batch.pending) pending.reject(error);
    }
  }

  private rejectReadLoops(error: Error): void {
    for (const [loopId, loop] of this.readLoops) {
      this.readLoops.delete(loopId);
      loop.reject(error);
    }
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
      case 'ready': {
        slot.ready = true;
        const signal = slot.readySignal;
        slot.readySignal = null;
        if (signal !== null) signal(null);
        this.sendSealed(slot);
        break;
      }
      case 'holding-read-lock': {
        const signal = slot.holdingSignal;
        slot.holdingSignal = null;
        if (signal !== null) signal();
        break;
      }
      case 'closed':
        break;
    }
  }

  private takeInFlight(slot: WorkerSlot, batchId: number): Batch {
    const batch = slot.inFlight.get(batchId);
    if (batch === undefined) throw new Error(`reader pool: worker ${slot.index} answered unknown batch ${batchId}`);
    slot.inFlight.delete(batchId);
    this.queuedRequests -= batch.pending.length;
    slot.outstandingRequests -= batch.pending.length;
    return batch;
  }

  // ---- the reaper ----------------------------------------------------------------------------------

  private async startReaper(): Promise<void> {
    const workerData: ReaperWorkerData = { lock: this.map.lock.descriptor() };
    const reaper = new Worker(REAPER_WORKER_URL, { workerData });
    this.reaper = reaper;
    let readySignal: ((error: Error | null) => void) | null = null;
    const ready = new Promise<void>((resolve, reject) => {
      readySignal = (error) => (error === null ? resolve() : reject(error));
    });
    let lastError: Error | null = null;
    reaper.on('message', (message: FromReaper) => {
      switch (message.type) {
        case 'ready':
          readySignal?.(null);
          break;
        case 'released':
          this.onReleased(message.participant, { readHolds: message.readHolds, mutexHeld: message.mutexHeld });
          break;
        case 'release-failed':
          this.failure ??= new ReaderPoolClosedError(`the reaper could not release lock participant ${message.participant}: ${message.message}`);
          break;
      }
    });
    reaper.on('error', (error: Error) => {
      lastError = error;
    });
    reaper.on('exit', (code: number) => {
      const how = lastError !== null ? `failed (${lastError.message})` : `exited (code ${code})`;
      readySignal?.(new ReaderPoolClosedError(`the reaper thread ${how} before it was ready`));
      if (this.reaperStopped === null) {
        // Without the reaper a reader that dies could leave the lock held for ever.
        this.failure ??= new ReaderPoolClosedError(`the reaper thread ${how}; refusing requests, as a reader that died now could block the writer`);
      }
    });
    await ready;
  }

  private toReaper(message: ToReaper, transfer: MessagePort[] = []): void {
    this.reaper?.postMessage(message, transfer);
  }

  private onReleased(participant: number, released: ReleasedHolds): void {
    this.unreleased.delete(participant);
    this.readHoldsReleased += released.readHolds;
    if (released.mutexHeld) this.mutexHoldsReleased++;
    const waiter = this.releaseWaiters.get(participant);
    this.releaseWaiters.delete(participant);
    waiter?.(released);
    if (this.unreleased.size === 0 && this.allReleasedSignal !== null) {
      const signal = this.allReleasedSignal;
      this.allReleasedSignal = null;
      signal();
    }
  }

  /** Waits (bounded) for the reaper to release every worker's slot, then ends it. Idempotent. */
  private stopReaper(): Promise<void> {
    this.reaperStopped ??= (async () => {
      const reaper = this.reaper;
      if (reaper === null) return;
      if (this.unreleased.size > 0) {
        const allReleased = new Promise<void>((resolve) => {
          this.allReleasedSignal = resolve;
        });
        await waitAtMost(allReleased, REAPER_WAIT_MS);
      }
      const exited = new Promise<void>((resolve) => reaper.once('exit', () => resolve()));
      reaper.postMessage({ type: 'close' } satisfies ToReaper);
      if (!(await waitAtMost(exited, REAPER_WAIT_MS))) await reaper.terminate();
    })();
    return this.reaperStopped;
  }
}

/** Whether `promise` settled within `timeoutMs`. */
async function waitAtMost(promise: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function keyProblem(what: string, key: Uint8Array): Error | null {
  if (!(key instanceof Uint8Array)) return new TypeError(`reader pool ${what} must be a Uint8Array`);
  if (key.length > KEY_BYTES_MAX) return new RangeError(`reader pool ${what} is ${key.length} bytes, the limit is ${KEY_BYTES_MAX}`);
  return null;
}

export type { ReadLoopResult } from './reader-protocol.js';

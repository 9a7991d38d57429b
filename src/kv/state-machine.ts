// The replicated state machine: applies committed log entries to an OrderedMap, deterministically.
// Determinism is the whole contract: the response and the new state depend only on the state
// before and the entry (its bytes and its index), never on a clock, randomness, or the node, so
// the same log gives the same state and the same responses on every node.
//
//   - An entry with empty data (a new leader's no-op) applies as nothing.
//   - Every write's version is the entry's index.
//   - A register-session entry creates a session whose id is the entry's index. Every other
//     request carries (sessionId, sequence, lowestUnacknowledged) and goes through the sessions
//     (sessions.ts): a retry gets the remembered response; a request of an unknown session, a
//     stale sequence, or one beyond the session's bound gets an error and is not applied. Reads
//     through the log go through sessions too; reads outside it (`read`) do not.
//   - Limits (key, value, scan, data held) answer with an error response, never a throw. The
//     limits must be the same on every node of a cluster: they decide responses.
//   - "The store is full" is decided by `dataBytesMax` over the *logical* bytes held (keys plus
//     values), never by the map's physical memory: a node restored from a snapshot lays out its
//     memory differently from one that applied the same log entry by entry, so a physical limit
//     would let two replicas answer the same write differently and diverge. The map's own memory
//     running out is therefore not a response but an error that stops the node (size the map's
//     memory above dataBytesMax times its per-key overhead).
//   - Undecodable data answers 'malformed-request' (attributed to its session when the header is
//     readable) and changes nothing: a bad entry must not stop every replica.
//   - Snapshots stream from the live map (snapshot-cursor.ts): taking one copies only the
//     sessions; while a stream is open, every write first hands the key's current state to the
//     stream's cursor, which keeps it if the stream still needs it. Nothing else on the apply
//     path pays for snapshots: with no stream open the hook is one length check.
// Only a broken host contract throws: entries applied out of order (StateMachineOrderError).

import type { Entry } from '../raft/types.js';
import {
  type KvCommand,
  type KvReadCommand,
  type KvRequest,
  type KvResponse,
  KvDecodeError,
  KV_FORMAT_VERSION,
  decodeRequest,
  decodeRequestHeader,
  encodeResponse,
  scanItemBytes,
} from './commands.js';
import { ABSENT, type KeyValueVersion, type OrderedMap } from './ordered-map.js';
import { ClientSessions, DEFAULT_SESSION_LIMITS, type SessionLimits } from './sessions.js';
import { SNAPSHOT_SCAN_BATCH_PAIRS, SnapshotCursor } from './snapshot-cursor.js';
import { SNAPSHOT_CHUNK_BYTES_DEFAULT, decodeSnapshot, encodeSnapshot } from './snapshot-format.js';

const SCAN_BATCH_ITEMS = 64;
const ZERO_BYTE = new Uint8Array(1);
const SNAPSHOT_STREAMS_MAX_DEFAULT = 4;

export interface KvLimits {
  readonly keyBytesMax: number;
  readonly valueBytesMax: number;
  /** The largest `limit` a scan may ask for. */
  readonly scanLimitMax: number;
  /**
   * A scan stops adding items once its response holds this many bytes (it always returns at
   * least one item if any is in range), so one scan's response — which the session remembers —
   * stays bounded even at scanLimitMax large values.
   */
  readonly scanResponseBytesMax: number;
  /** Keys plus values held, in bytes; a write that would go above it answers 'store-full'. */
  readonly dataBytesMax: number;
}

export const DEFAULT_KV_LIMITS: KvLimits = {
  keyBytesMax: 1024,
  valueBytesMax: 1024 * 1024,
  scanLimitMax: 1000,
  scanResponseBytesMax: 1024 * 1024,
  dataBytesMax: 256 * 1024 * 1024,
};

export interface KvStateMachineOptions {
  readonly limits?: Partial<KvLimits>;
  readonly sessionLimits?: Partial<SessionLimits>;
  /**
   * Most snapshot streams open at once (default 4). Each may hold pre-images up to a copy of the
   * data (snapshot-cursor.ts), so a host that forgets to finish or return() its streams hears
   * about it here instead of through memory. Local to the node: it decides no response.
   */
  readonly snapshotStreamsMax?: number;
  /**
   * Pairs a snapshot stream reads from the live map per batch (default SNAPSHOT_SCAN_BATCH_PAIRS):
   * the most work one chunk can add beyond what it encodes. Local to the node.
   */
  readonly snapshotScanBatchPairs?: number;
}

/**
 * How a response came about: applied now; remembered from an earlier apply; refused because the
 * session is unknown ('expired'), the sequence was acknowledged already ('stale') or the session
 * is at its bound ('refused'); or undecodable. Only 'applied' changed anything.
 */
export type ResponseOrigin = 'applied' | 'session' | 'expired' | 'stale' | 'refused' | 'malformed';

export type ApplyResult =
  | { readonly type: 'noop'; readonly index: number }
  | {
      readonly type: 'response';
      readonly index: number;
      /**
       * The request's session; for a register-session entry the session it created (= index);
       * 0 when the entry was too malformed to name one.
       */
      readonly sessionId: number;
      /** 0 for a register-session entry and when the entry was too malformed to name one. */
      readonly sequence: number;
      /** The encoded response (commands.ts); treat as read-only, the session may hold the same bytes. */
      readonly response: Uint8Array;
      readonly origin: ResponseOrigin;
    };

/** The host applied entries out of order: a bug in the host, never a client's fault. */
export class StateMachineOrderError extends Error {
  override readonly name = 'StateMachineOrderError';
  constructor(
    readonly expectedIndex: number,
    readonly gotIndex: number,
  ) {
    super(`state machine: applied entry index ${gotIndex} but the next index is ${expectedIndex}`);
  }
}

/**
 * A snapshot as a chunk stream, open from the moment `snapshot()` returns. Single use: iterate it
 * once. Finishing it, an error, or `return()` (a `for await` left early) releases its cursor's side
 * table; a stream neither finished nor returned keeps it, and counts against snapshotStreamsMax.
 */
export class KvSnapshotStream implements AsyncIterableIterator<Uint8Array> {
  constructor(
    private readonly chunks: AsyncGenerator<Uint8Array>,
    private readonly release: () => void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    try {
      const result = await this.chunks.next();
      if (result.done === true) this.release();
      return result;
    } catch (error) {
      this.release();
      throw error;
    }
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    // Released first: a generator that never started would not run its own cleanup.
    this.release();
    return this.chunks.return(undefined);
  }
}

function resolveLimits(partial: Partial<KvLimits> | undefined): KvLimits {
  const limits = { ...DEFAULT_KV_LIMITS, ...partial };
  for (const [field, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw new RangeError(`kv limits: ${field} must be a positive safe integer, got ${String(value)}`);
  }
  return limits;
}

function errorResponse(code: 'session-expired' | 'stale-request' | 'too-many-unacknowledged', reason: string): Uint8Array {
  return encodeResponse({ type: 'error', code, reason });
}

export class KvStateMachine {
  readonly limits: KvLimits;
  private readonly sessions: ClientSessions;
  private readonly snapshotStreamsMax: number;
  private readonly snapshotScanBatchPairs: number;
  /** Cursors of the snapshot streams open now; every write is shown to each first. */
  private readonly cursors: SnapshotCursor[] = [];
  private appliedIndex = 0;
  /** Σ (key length + value length) over the map: the logical size `dataBytesMax` limits. */
  private dataBytesHeld = 0;

  constructor(
    private readonly map: OrderedMap,
    options: KvStateMachineOptions = {},
  ) {
    this.limits = resolveLimits(options.limits);
    this.sessions = new ClientSessions({ ...DEFAULT_SESSION_LIMITS, ...options.sessionLimits });
    this.snapshotStreamsMax = options.snapshotStreamsMax ?? SNAPSHOT_STREAMS_MAX_DEFAULT;
    if (!Number.isSafeInteger(this.snapshotStreamsMax) || this.snapshotStreamsMax < 1) {
      throw new RangeError(`snapshotStreamsMax must be a positive safe integer, got ${String(options.snapshotStreamsMax)}`);
    }
    this.snapshotScanBatchPairs = options.snapshotScanBatchPairs ?? SNAPSHOT_SCAN_BATCH_PAIRS;
    if (!Number.isSafeInteger(this.snapshotScanBatchPairs) || this.snapshotScanBatchPairs < 1) {
      throw new RangeError(`snapshotScanBatchPairs must be a positive safe integer, got ${String(options.snapshotScanBatchPairs)}`);
    }
    if (map.size !== 0) throw new RangeError(`state machine needs an empty map, got one holding ${map.size} keys`);
  }

  /** The index of the last entry applied (or restored), 0 for none. */
  get lastAppliedIndex(): number {
    return this.appliedIndex;
  }

  get keyCount(): number {
    return this.map.size;
  }

  /** Keys plus values held, in bytes (what dataBytesMax limits). */
  get dataBytes(): number {
    return this.dataBytesHeld;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Bytes the sessions' remembered responses count for (sessions.ts: with per-response overhead). */
  get sessionResponseBytes(): number {
    return this.sessions.rememberedResponseBytes;
  }

  /** Snapshot streams open now (taken, and neither finished nor returned). */
  get openSnapshotStreams(): number {
    return this.cursors.length;
  }

  /** Pre-images held by the open snapshot streams' side tables, summed. */
  get snapshotPreImageCount(): number {
    let count = 0;
    for (const cursor of this.cursors) count += cursor.preImageCount;
    return count;
  }

  apply(entry: Entry): ApplyResult {
    const index = entry.index;
    if (index !== this.appliedIndex + 1) throw new StateMachineOrderError(this.appliedIndex + 1, index);
    this.appliedIndex = index;
    if (entry.data.length === 0) return { type: 'noop', index };

    if (entry.data[0] === 0 || entry.data[0]! > KV_FORMAT_VERSION) {
      // No request format at all (a foreign payload): answered without building an exception,
      // whose stack trace would cost more than the rest of the apply. Known older versions go
      // through the decoder, which says what changed.
      const reason = `malformed request: format version at byte 0: expected ${KV_FORMAT_VERSION}, got ${entry.data[0]}`;
      return { type: 'response', index, sessionId: 0, sequence: 0, response: encodeResponse({ type: 'error', code: 'malformed-request', reason }), origin: 'malformed' };
    }
    let request: KvRequest;
    try {
      request = decodeRequest(entry.data);
    } catch (error) {
      if (!(error instanceof KvDecodeError)) throw error;
      const header = decodeRequestHeader(entry.data);
      return {
        type: 'response',
        index,
        sessionId: header?.sessionId ?? 0,
        sequence: header?.sequence ?? 0,
        response: encodeResponse({ type: 'error', code: 'malformed-request', reason: error.message }),
        origin: 'malformed',
      };
    }

    if (request.type === 'register-session') {
      this.sessions.register(index);
      const response = encodeResponse({ type: 'session-registered', sessionId: index });
      return { type: 'response', index, sessionId: index, sequence: 0, response, origin: 'applied' };
    }

    const { sessionId, sequence } = request;
    const lookup = this.sessions.begin(sessionId, sequence, request.lowestUnacknowledged, index);
    switch (lookup.type) {
      case 'new': {
        const response = encodeResponse(this.execute(request.command, index));
        this.sessions.remember(lookup.session, sequence, response);
        return { type: 'response', index, sessionId, sequence, response, origin: 'applied' };
      }
      case 'duplicate':
        return { type: 'response', index, sessionId, sequence, response: lookup.response, origin: 'session' };
      case 'expired': {
        const reason = `session ${sessionId} is unknown (never registered, or evicted to keep the session table within its bounds): request not applied; register a new session`;
        return { type: 'response', index, sessionId, sequence, response: errorResponse('session-expired', reason), origin: 'expired' };
      }
      case 'stale': {
        const reason = `stale request: session ${sessionId} sequence ${sequence} is below its lowest unacknowledged sequence ${lookup.lowestUnacknowledged} (its response was acknowledged and forgotten)`;
        return { type: 'response', index, sessionId, sequence, response: errorResponse('stale-request', reason), origin: 'stale' };
      }
      case 'full': {
        const limits = this.sessions.limits;
        const reason =
          `session ${sessionId} already remembers ${lookup.responseCount} unacknowledged responses (${lookup.responseBytes} bytes with overhead); ` +
          `the limits are ${limits.responsesPerSessionMax} responses and ${limits.responseBytesPerSessionMax} bytes: request not applied; raise lowestUnacknowledged first`;
        return { type: 'response', index, sessionId, sequence, response: errorResponse('too-many-unacknowledged', reason), origin: 'refused' };
      }
    }
  }

  /**
   * Applies consecutive entries and returns their results in order: exactly `apply` on each, but
   * when the map has `writeBatch` (the shared skip list) its write lock is taken once for the
   * whole batch, and reader threads see the batch whole. An entry out of order throws having
   * applied the ones before it, as a loop over `apply` would.
   */
  applyBatch(entries: readonly Entry[]): ApplyResult[] {
    const applyAll = (): ApplyResult[] => {
      const results: ApplyResult[] = [];
      for (const entry of entries) results.push(this.apply(entry));
      return results;
    };
    return this.map.writeBatch === undefined ? applyAll() : this.map.writeBatch(applyAll);
  }

  /**
   * A 32-bit digest of the whole state — every pair (key, value, version) in key order, the
   * applied index and the session table — for comparing replicas (the simulation's checkers).
   * Reads everything: not for the hot path.
   */
  contentDigest(): number {
    let h = Math.imul(0x811c9dc5 ^ this.appliedIndex, 0x01000193);
    const mixBytes = (bytes: Uint8Array): void => {
      h = Math.imul(h ^ bytes.length, 0x01000193);
      for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    };
    for (const pair of this.map.entries()) {
      mixBytes(pair.key);
      mixBytes(pair.value);
      h = Math.imul(h ^ pair.version, 0x01000193);
    }
    h = Math.imul(h ^ this.sessions.size, 0x01000193);
    return h >>> 0;
  }

  /**
   * Answers a read outside the log (read-index, lease and follower reads): the same rules and
   * limits as through the log, but no session and no index.
   */
  read(command: KvReadCommand): KvResponse {
    return this.execute(command, this.appliedIndex);
  }

  /**
   * The limit checks a read must pass, without the lookup: an error response, or null if the read
   * may go ahead. For hosts that serve the lookup elsewhere (reader threads on a shared map), so
   * that every path answers a bad read the same way.
   */
  checkRead(command: KvReadCommand): KvResponse | null {
    if (command.type === 'get') return this.checkKey('key', command.key);
    const refused = this.checkKey('start', command.start) ?? (command.end === null ? null : this.checkKey('end', command.end));
    if (refused !== null) return refused;
    if (command.limit > this.limits.scanLimitMax) {
      return { type: 'error', code: 'scan-limit-too-large', reason: `scan limit ${command.limit} exceeds the maximum of ${this.limits.scanLimitMax}` };
    }
    return null;
  }

  /**
   * The whole state as of now (lastAppliedIndex), as a chunk stream (snapshot-format.ts). Taking
   * it copies only the sessions; the pairs are read from the live map in key order, in bounded
   * batches, as the stream is consumed, and the host may keep applying entries between chunks:
   * a write to a key the stream has not reached yet first leaves the key's pre-image with the
   * stream (snapshot-cursor.ts says what that costs at worst). Several streams may be open at
   * once, up to snapshotStreamsMax.
   */
  snapshot(chunkBytes = SNAPSHOT_CHUNK_BYTES_DEFAULT): KvSnapshotStream {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 64) throw new RangeError(`chunkBytes must be an integer ≥ 64, got ${chunkBytes}`);
    if (this.cursors.length >= this.snapshotStreamsMax) {
      throw new RangeError(`snapshot: ${this.cursors.length} streams are open already (snapshotStreamsMax ${this.snapshotStreamsMax}); finish one or call return() on it`);
    }
    const cursor = new SnapshotCursor(this.map, this.appliedIndex, this.snapshotScanBatchPairs);
    this.cursors.push(cursor);
    const chunks = encodeSnapshot({ lastAppliedIndex: this.appliedIndex, sessions: this.sessions.copyForSnapshot(), pairs: cursor.pairs() }, chunkBytes);
    return new KvSnapshotStream(chunks, () => this.closeCursor(cursor));
  }

  /**
   * Replaces the whole state by a snapshot stream of the state at `expectedIndex` (the index the
   * Raft snapshot metadata names; a stream of another index is refused as soon as its header is
   * read, SnapshotIndexMismatchError). The stream is read and checked completely before anything
   * changes: on a malformed or truncated stream this throws SnapshotFormatError and the state is
   * as it was. Snapshot streams open on the old state fail on their next chunk
   * (SnapshotCursorClosedError): the map they read is gone. With a map that has `writeBatch`,
   * the replacement happens under one write-lock hold, so reader threads never see half of it.
   */
  async restore(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expectedIndex: number): Promise<void> {
    const contents = await decodeSnapshot(
      chunks,
      {
        keyBytesMax: this.limits.keyBytesMax,
        valueBytesMax: this.limits.valueBytesMax,
        // A remembered response is at most a value, or a scan bounded by scanResponseBytesMax plus its last item.
        responseBytesMax: 64 + this.limits.valueBytesMax + this.limits.scanResponseBytesMax + this.limits.keyBytesMax,
        responsesPerSessionMax: this.sessions.limits.responsesPerSessionMax,
      },
      { expectedLastAppliedIndex: expectedIndex },
    );
    for (const cursor of this.cursors.splice(0)) cursor.close(`the state machine was restored to index ${contents.lastAppliedIndex} while this snapshot of index ${cursor.index} streamed`);
    const replaceData = (): number => {
      this.map.clear();
      let dataBytes = 0;
      for (const pair of contents.pairs) {
        this.map.put(pair.key, pair.value, pair.version);
        dataBytes += pair.key.length + pair.value.length;
      }
      return dataBytes;
    };
    this.dataBytesHeld = this.map.writeBatch === undefined ? replaceData() : this.map.writeBatch(replaceData);
    // Responses are views into the stream's chunks; copy so the sessions hold only their own bytes.
    this.sessions.replaceAll(
      contents.sessions.map((session) => ({
        ...session,
        responses: session.responses.map(({ sequence, response }) => ({ sequence, response: Uint8Array.from(response) })),
      })),
    );
    this.appliedIndex = contents.lastAppliedIndex;
  }

  private closeCursor(cursor: SnapshotCursor): void {
    cursor.close();
    const at = this.cursors.indexOf(cursor);
    if (at >= 0) this.cursors.splice(at, 1);
  }

  /** Shows the open snapshot cursors `key`'s state before it is written. */
  private beforeWrite(key: Uint8Array): void {
    const current = this.map.get(key);
    for (const cursor of this.cursors) cursor.beforeWrite(key, current);
  }

  private execute(command: KvCommand, index: number): KvResponse {
    const limits = this.limits;
    switch (command.type) {
      case 'put': {
        const refused = this.checkKey('key', command.key) ?? this.checkValue(command.value);
        if (refused !== null) return refused;
        return this.write(command.key, command.value, index);
      }
      case 'get': {
        const refused = this.checkKey('key', command.key);
        if (refused !== null) return refused;
        const found = this.map.get(command.key);
        return found === undefined ? { type: 'not-found' } : { type: 'value', value: found.value, version: found.version };
      }
      case 'delete': {
        const refused = this.checkKey('key', command.key);
        if (refused !== null) return refused;
        if (this.cursors.length !== 0) this.beforeWrite(command.key);
        const removedValueBytes = this.map.delete(command.key);
        if (removedValueBytes === ABSENT) return { type: 'not-found' };
        this.dataBytesHeld -= command.key.length + removedValueBytes;
        return { type: 'ok', version: index };
      }
      case 'cas': {
        const refused = this.checkKey('key', command.key) ?? this.checkValue(command.value);
        if (refused !== null) return refused;
        const current = this.map.get(command.key);
        const currentVersion = current?.version ?? 0;
        if (currentVersion !== command.expectedVersion) return { type: 'cas-mismatch', currentVersion };
        return this.write(command.key, command.value, index);
      }
      case 'scan': {
        const refused = this.checkKey('start', command.start) ?? (command.end === null ? null : this.checkKey('end', command.end));
        if (refused !== null) return refused;
        if (command.limit > limits.scanLimitMax) {
          return { type: 'error', code: 'scan-limit-too-large', reason: `scan limit ${command.limit} exceeds the maximum of ${limits.scanLimitMax}` };
        }
        return this.scanBounded(command.start, command.end, command.limit);
      }
    }
  }

  /**
   * Up to `limit` items, stopping early once the response reaches scanResponseBytesMax. The map is
   * asked in batches, so a map that copies what it returns never holds more than a batch beyond
   * the response; one item past the limit tells whether keys remain in the range.
   */
  private scanBounded(start: Uint8Array, end: Uint8Array | null, limit: number): KvResponse {
    const items: KeyValueVersion[] = [];
    let responseBytes = 0;
    let from = start;
    // Each round adds at least one item or ends the scan, so it runs at most limit + 1 times.
    for (;;) {
      const batchLimit = Math.min(limit + 1 - items.length, SCAN_BATCH_ITEMS);
      const batch = this.map.scan(from, end, batchLimit);
      for (const item of batch) {
        if (items.length === limit || (items.length > 0 && responseBytes >= this.limits.scanResponseBytesMax)) {
          return { type: 'scan', items, hasMore: true };
        }
        items.push(item);
        responseBytes += scanItemBytes(item.key.length, item.value.length);
      }
      const last = batch[batch.length - 1];
      if (batch.length < batchLimit || last === undefined) return { type: 'scan', items, hasMore: false };
      // The smallest key after `last` is `last` followed by a zero byte.
      from = Buffer.concat([last.key, ZERO_BYTE]);
    }
  }

  /**
   * Puts, unless the logical size would exceed dataBytesMax (a replace counts only its growth).
   * Only a write that would not fit as a new key looks the old value up first; every other write
   * learns the replaced size from put itself (a second search doubles the cost of a put on the
   * shared skip list).
   */
  private write(key: Uint8Array, value: Uint8Array, index: number): KvResponse {
    const writtenBytes = key.length + value.length;
    if (this.dataBytesHeld + writtenBytes > this.limits.dataBytesMax) {
      const previous = this.map.get(key);
      const dataBytesAfter = this.dataBytesHeld + writtenBytes - (previous === undefined ? 0 : key.length + previous.value.length);
      if (dataBytesAfter > this.limits.dataBytesMax) {
        return {
          type: 'error',
          code: 'store-full',
          reason: `store full: this write would hold ${dataBytesAfter} bytes of keys and values, over the limit of ${this.limits.dataBytesMax}`,
        };
      }
    }
    if (this.cursors.length !== 0) this.beforeWrite(key);
    const replacedValueBytes = this.map.put(key, value, index);
    this.dataBytesHeld += writtenBytes - (replacedValueBytes === ABSENT ? 0 : key.length + replacedValueBytes);
    return { type: 'ok', version: index };
  }

  private checkKey(field: 'key' | 'start' | 'end', key: Uint8Array): KvResponse | null {
    if (key.length <= this.limits.keyBytesMax) return null;
    return { type: 'error', code: 'key-too-large', reason: `${field} is ${key.length} bytes, over the limit of ${this.limits.keyBytesMax}` };
  }

  private checkValue(value: Uint8Array): KvResponse | null {
    if (value.length <= this.limits.valueBytesMax) return null;
    return { type: 'error', code: 'value-too-large', reason: `value is ${value.length} bytes, over the limit of ${this.limits.valueBytesMax}` };
  }
}

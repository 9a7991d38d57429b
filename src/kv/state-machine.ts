// The replicated state machine: applies committed log entries to an OrderedMap, deterministically.
// Determinism is the whole contract: the response and the new state depend only on the state
// before and the entry (its bytes and its index), never on a clock, randomness, or the node, so
// the same log gives the same state and the same responses on every node.
//
//   - An entry with empty data (a new leader's no-op) applies as nothing.
//   - Every write's version is the entry's index.
//   - Each request carries (clientId, sequence) and goes through the client sessions
//     (sessions.ts): a retry gets the remembered response, an older sequence a 'stale-request'
//     error; neither is applied again. Reads through the log go through sessions too.
//   - Limits (key, value, scan, data held) answer with an error response, never a throw. The
//     limits must be the same on every node of a cluster: they decide responses.
//   - "The store is full" is decided by `dataBytesMax` over the *logical* bytes held (keys plus
//     values), never by the map's physical memory: a node restored from a snapshot lays out its
//     memory differently from one that applied the same log entry by entry, so a physical limit
//     would let two replicas answer the same write differently and diverge. The map's own memory
//     running out is therefore not a response but an error that stops the node (size the map's
//     memory above dataBytesMax times its per-key overhead).
//   - Undecodable data answers 'malformed-request' (attributed to its client when the header is
//     readable) and changes nothing: a bad entry must not stop every replica.
// Only a broken host contract throws: entries applied out of order (StateMachineOrderError).

import type { Entry } from '../raft/types.js';
import {
  type KvCommand,
  type KvReadCommand,
  type KvResponse,
  KvDecodeError,
  decodeRequest,
  decodeRequestHeader,
  encodeResponse,
  scanItemBytes,
} from './commands.js';
import { ABSENT, type KeyValueVersion, type OrderedMap } from './ordered-map.js';
import { ClientSessions, DEFAULT_SESSION_LIMITS, type ClientSession, type SessionLimits } from './sessions.js';
import { SNAPSHOT_CHUNK_BYTES_DEFAULT, decodeSnapshot, encodeSnapshot } from './snapshot-format.js';

const SCAN_BATCH_ITEMS = 64;
const ZERO_BYTE = new Uint8Array(1);

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
}

/** How a response came about: applied now, remembered from an earlier apply, refused as stale, or undecodable. */
export type ResponseOrigin = 'applied' | 'session' | 'stale' | 'malformed';

export type ApplyResult =
  | { readonly type: 'noop'; readonly index: number }
  | {
      readonly type: 'response';
      readonly index: number;
      /** 0 when the entry was too malformed to name its client. */
      readonly clientId: number;
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

function resolveLimits(partial: Partial<KvLimits> | undefined): KvLimits {
  const limits = { ...DEFAULT_KV_LIMITS, ...partial };
  for (const [field, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw new RangeError(`kv limits: ${field} must be a positive safe integer, got ${String(value)}`);
  }
  return limits;
}

export class KvStateMachine {
  readonly limits: KvLimits;
  private readonly sessions: ClientSessions;
  private appliedIndex = 0;
  /** Σ (key length + value length) over the map: the logical size `dataBytesMax` limits. */
  private dataBytesHeld = 0;

  constructor(
    private readonly map: OrderedMap,
    options: KvStateMachineOptions = {},
  ) {
    this.limits = resolveLimits(options.limits);
    this.sessions = new ClientSessions({ ...DEFAULT_SESSION_LIMITS, ...options.sessionLimits });
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

  apply(entry: Entry): ApplyResult {
    const index = entry.index;
    if (index !== this.appliedIndex + 1) throw new StateMachineOrderError(this.appliedIndex + 1, index);
    this.appliedIndex = index;
    if (entry.data.length === 0) return { type: 'noop', index };

    let request;
    try {
      request = decodeRequest(entry.data);
    } catch (error) {
      if (!(error instanceof KvDecodeError)) throw error;
      const header = decodeRequestHeader(entry.data);
      return {
        type: 'response',
        index,
        clientId: header?.clientId ?? 0,
        sequence: header?.sequence ?? 0,
        response: encodeResponse({ type: 'error', code: 'malformed-request', reason: error.message }),
        origin: 'malformed',
      };
    }

    const { clientId, sequence } = request;
    const lookup = this.sessions.check(clientId, sequence, index);
    switch (lookup.type) {
      case 'duplicate':
        return { type: 'response', index, clientId, sequence, response: lookup.response, origin: 'session' };
      case 'stale': {
        const reason = `stale request: client ${clientId} sequence ${sequence} is older than its last applied sequence ${lookup.lastSequence}`;
        return { type: 'response', index, clientId, sequence, response: encodeResponse({ type: 'error', code: 'stale-request', reason }), origin: 'stale' };
      }
      case 'new': {
        const response = encodeResponse(this.execute(request.command, index));
        this.sessions.record(clientId, sequence, response, index);
        return { type: 'response', index, clientId, sequence, response, origin: 'applied' };
      }
    }
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
   * The whole state as of now, as a chunk stream (snapshot-format.ts). The data is captured when
   * this is called — results of the map stay valid after later writes (the OrderedMap contract) —
   * so the host may keep applying entries while the stream is consumed.
   */
  snapshot(chunkBytes = SNAPSHOT_CHUNK_BYTES_DEFAULT): AsyncIterable<Uint8Array> {
    const pairs: KeyValueVersion[] = Array.from(this.map.entries());
    const sessions: ClientSession[] = this.sessions.list();
    return encodeSnapshot({ lastAppliedIndex: this.appliedIndex, pairs, sessions }, chunkBytes);
  }

  /**
   * Replaces the whole state by a snapshot stream. The stream is read and checked completely
   * before anything changes: on a malformed or truncated stream this throws SnapshotFormatError
   * and the state is as it was.
   */
  async restore(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
    const contents = await decodeSnapshot(chunks, {
      keyBytesMax: this.limits.keyBytesMax,
      valueBytesMax: this.limits.valueBytesMax,
      // A remembered response is at most a value, or a scan bounded by scanResponseBytesMax plus its last item.
      responseBytesMax: 64 + this.limits.valueBytesMax + this.limits.scanResponseBytesMax + this.limits.keyBytesMax,
    });
    this.map.clear();
    let dataBytes = 0;
    for (const pair of contents.pairs) {
      this.map.put(pair.key, pair.value, pair.version);
      dataBytes += pair.key.length + pair.value.length;
    }
    this.dataBytesHeld = dataBytes;
    // Responses are views into the stream's chunks; copy so the session table holds only its own bytes.
    this.sessions.replaceAll(contents.sessions.map((session) => ({ ...session, response: Uint8Array.from(session.response) })));
    this.appliedIndex = contents.lastAppliedIndex;
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

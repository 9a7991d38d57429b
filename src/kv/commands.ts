// The KV commands and their answers, as bytes. A request is what a client proposes (it becomes a
// log entry's `data`); a response is what applying it produced. Both are binary: no JSON on this
// path, integers little-endian, byte strings length-prefixed with a u32.
//
// Request (format version 2):
//   offset 0   u8   format version (2)
//          1   u8   operation: 1 put · 2 get · 3 delete · 4 cas · 5 scan · 6 register-session
//   register-session: nothing follows (the request is 2 bytes). Its session id is the log index
//   of the entry that carries it, so it needs no field: every replica derives the same id.
//   Every other operation:
//          2   u64  sessionId              (1 … 2^53-1: the index of the register-session entry)
//         10   u64  sequence               (1 … 2^53-1)
//         18   u64  lowestUnacknowledged   (1 … sequence: the lowest sequence whose response the
//                                           client has not yet received)
//         26   body:
//     put     u32 keyLength, key, u32 valueLength, value
//     get     u32 keyLength, key
//     delete  u32 keyLength, key
//     cas     u64 expectedVersion (0 = "must not exist"), u32 keyLength, key, u32 valueLength, value
//     scan    u32 limit, u32 startLength, start, u8 hasEnd (0|1), [u32 endLength, end]
//   and nothing after the body.
//
// Read command (a get or scan served outside the log, without a session — encodeReadCommand):
//   offset 0   u8   format version (2)
//          1   u8   operation: 2 get · 5 scan
//          2   body, as above, and nothing after it
//
// Response (format version 2):
//   offset 0   u8   format version (2)
//          1   u8   status, then:
//     1 ok                  u64 version (the log index of the write; for a delete, of the delete)
//     2 value               u64 version, u32 valueLength, value
//     3 not-found           —
//     4 cas-mismatch        u64 currentVersion (0 = the key does not exist)
//     5 scan                u8 hasMore (0|1), u32 count, count × (u64 version, u32 keyLength, key, u32 valueLength, value)
//     6 error               u8 code, u32 reasonLength, reason (UTF-8)
//     7 session-registered  u64 sessionId
//
// Version 1 (clientId and sequence, no register-session, no lowestUnacknowledged) is refused
// with an error naming it: a version-1 client's retries could apply twice, which is what version
// 2 exists to stop, so there is no compatibility path.
//
// u64 fields carry safe integers only (JavaScript numbers); a larger value is a decode error.
// Decoding never trusts a length: every field is bounds-checked and a bad one is reported with
// its name and byte offset (KvDecodeError).

import type { KeyValueVersion } from './ordered-map.js';

export const KV_FORMAT_VERSION = 2;

export type KvCommand =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'get'; readonly key: Uint8Array }
  | { readonly type: 'delete'; readonly key: Uint8Array }
  | { readonly type: 'cas'; readonly key: Uint8Array; readonly expectedVersion: number; readonly value: Uint8Array }
  | { readonly type: 'scan'; readonly start: Uint8Array; readonly end: Uint8Array | null; readonly limit: number };

export type KvCommandType = KvCommand['type'];
/** The commands that only read: these may also be answered outside the log (read-index, lease). */
export type KvReadCommand = Extract<KvCommand, { type: 'get' } | { type: 'scan' }>;

/** A command sent within a session (sessions.ts says what the three numbers promise). */
export interface KvSessionRequest {
  readonly type: 'command';
  readonly sessionId: number;
  readonly sequence: number;
  /** The lowest sequence whose response the client has not received yet (≤ sequence). */
  readonly lowestUnacknowledged: number;
  readonly command: KvCommand;
}

export type KvRequest = { readonly type: 'register-session' } | KvSessionRequest;

export type KvErrorCode =
  | 'malformed-request'
  | 'key-too-large'
  | 'value-too-large'
  | 'scan-limit-too-large'
  | 'stale-request'
  | 'store-full'
  /** The session is unknown (never registered, or evicted): the request was not applied. */
  | 'session-expired'
  /** The session already remembers as many unacknowledged responses as it may: not applied. */
  | 'too-many-unacknowledged';

export type KvResponse =
  | { readonly type: 'ok'; readonly version: number }
  | { readonly type: 'value'; readonly value: Uint8Array; readonly version: number }
  | { readonly type: 'not-found' }
  | { readonly type: 'cas-mismatch'; readonly currentVersion: number }
  /** `hasMore`: keys in the range were left out (by the limit or the response byte bound). */
  | { readonly type: 'scan'; readonly items: readonly KeyValueVersion[]; readonly hasMore: boolean }
  | { readonly type: 'error'; readonly code: KvErrorCode; readonly reason: string }
  | { readonly type: 'session-registered'; readonly sessionId: number };

/** Malformed request or response bytes: `field` names what was wrong, `offset` where (in bytes). */
export class KvDecodeError extends Error {
  override readonly name = 'KvDecodeError';
  constructor(
    readonly what: 'request' | 'response',
    readonly field: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`malformed ${what}: ${field} at byte ${offset}: ${reason}`);
  }
}

type OperationType = KvCommandType | 'register-session';
const OPERATION_CODES: Readonly<Record<OperationType, number>> = { put: 1, get: 2, delete: 3, cas: 4, scan: 5, 'register-session': 6 };
const OPERATION_BY_CODE: readonly (OperationType | undefined)[] = [undefined, 'put', 'get', 'delete', 'cas', 'scan', 'register-session'];

const STATUS_OK = 1;
const STATUS_VALUE = 2;
const STATUS_NOT_FOUND = 3;
const STATUS_CAS_MISMATCH = 4;
const STATUS_SCAN = 5;
const STATUS_ERROR = 6;
const STATUS_SESSION_REGISTERED = 7;

const ERROR_CODES: Readonly<Record<KvErrorCode, number>> = {
  'malformed-request': 1,
  'key-too-large': 2,
  'value-too-large': 3,
  'scan-limit-too-large': 4,
  'stale-request': 5,
  'store-full': 6,
  'session-expired': 7,
  'too-many-unacknowledged': 8,
};
const ERROR_BY_CODE: readonly (KvErrorCode | undefined)[] = [
  undefined,
  'malformed-request',
  'key-too-large',
  'value-too-large',
  'scan-limit-too-large',
  'stale-request',
  'store-full',
  'session-expired',
  'too-many-unacknowledged',
];

/** The bytes before a session request's body. */
export const REQUEST_HEADER_BYTES = 26;
const REGISTER_SESSION_REQUEST_BYTES = 2;
const TWO_POW_32 = 4294967296;
/** The high 32-bit word of a u64 that still holds a safe integer is below 2^21. */
const SAFE_HIGH_WORD_LIMIT = 2097152;

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/** A cursor over a buffer sized exactly beforehand, so encoding allocates once. */
class ByteWriter {
  readonly bytes: Buffer;
  offset = 0;
  constructor(sizeBytes: number) {
    this.bytes = Buffer.allocUnsafe(sizeBytes);
  }
  u8(value: number): void {
    this.bytes[this.offset++] = value;
  }
  u32(value: number): void {
    this.bytes.writeUInt32LE(value, this.offset);
    this.offset += 4;
  }
  u64(value: number): void {
    this.bytes.writeUInt32LE(value >>> 0, this.offset);
    this.bytes.writeUInt32LE(Math.floor(value / TWO_POW_32), this.offset + 4);
    this.offset += 8;
  }
  byteString(value: Uint8Array): void {
    this.u32(value.length);
    this.bytes.set(value, this.offset);
    this.offset += value.length;
  }
  done(): Uint8Array {
    if (this.offset !== this.bytes.length) throw new Error(`encoder sized ${this.bytes.length} bytes but wrote ${this.offset}`);
    return this.bytes;
  }
}

function checkU64(field: string, value: number, minimum: number): void {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new RangeError(`${field} must be a safe integer ≥ ${minimum}, got ${value}`);
  }
}

function checkU32(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= TWO_POW_32) {
    throw new RangeError(`${field} must be an integer in [0, 2^32), got ${value}`);
  }
}

/** The size of a command's body (what follows the operation, or a session request's header). */
function commandBodyBytes(command: KvCommand): number {
  switch (command.type) {
    case 'put':
      return 8 + command.key.length + command.value.length;
    case 'get':
    case 'delete':
      return 4 + command.key.length;
    case 'cas':
      checkU64('expectedVersion', command.expectedVersion, 0);
      return 16 + command.key.length + command.value.length;
    case 'scan':
      checkU32('limit', command.limit);
      return 9 + command.start.length + (command.end === null ? 0 : 4 + command.end.length);
  }
}

function writeCommandBody(writer: ByteWriter, command: KvCommand): void {
  switch (command.type) {
    case 'put':
      writer.byteString(command.key);
      writer.byteString(command.value);
      break;
    case 'get':
    case 'delete':
      writer.byteString(command.key);
      break;
    case 'cas':
      writer.u64(command.expectedVersion);
      writer.byteString(command.key);
      writer.byteString(command.value);
      break;
    case 'scan':
      writer.u32(command.limit);
      writer.byteString(command.start);
      writer.u8(command.end === null ? 0 : 1);
      if (command.end !== null) writer.byteString(command.end);
      break;
  }
}

/**
 * A read served outside the log (read-index, lease, …) has no session: it is sent as format
 * version, operation (2 get · 5 scan) and the body, as in a request — 2 bytes plus the body.
 */
export function encodeReadCommand(command: KvReadCommand): Uint8Array {
  const writer = new ByteWriter(2 + commandBodyBytes(command));
  writer.u8(KV_FORMAT_VERSION);
  writer.u8(OPERATION_CODES[command.type]);
  writeCommandBody(writer, command);
  return writer.done();
}

export function encodeRequest(request: KvRequest): Uint8Array {
  if (request.type === 'register-session') {
    const writer = new ByteWriter(REGISTER_SESSION_REQUEST_BYTES);
    writer.u8(KV_FORMAT_VERSION);
    writer.u8(OPERATION_CODES['register-session']);
    return writer.done();
  }
  checkU64('sessionId', request.sessionId, 1);
  checkU64('sequence', request.sequence, 1);
  checkU64('lowestUnacknowledged', request.lowestUnacknowledged, 1);
  if (request.lowestUnacknowledged > request.sequence) {
    throw new RangeError(`lowestUnacknowledged (${request.lowestUnacknowledged}) must be ≤ sequence (${request.sequence}): a request being sent has not been answered`);
  }
  const command = request.command;
  const writer = new ByteWriter(REQUEST_HEADER_BYTES + commandBodyBytes(command));
  writer.u8(KV_FORMAT_VERSION);
  writer.u8(OPERATION_CODES[command.type]);
  writer.u64(request.sessionId);
  writer.u64(request.sequence);
  writer.u64(request.lowestUnacknowledged);
  writeCommandBody(writer, command);
  return writer.done();
}

/** The encoded size of a scan item, for the scan response byte bound. */
export function scanItemBytes(keyLength: number, valueLength: number): number {
  return 16 + keyLength + valueLength;
}

export function encodeResponse(response: KvResponse): Uint8Array {
  switch (response.type) {
    case 'ok': {
      const writer = new ByteWriter(OK_RESPONSE_BYTES);
      writer.u8(KV_FORMAT_VERSION);
      writer.u8(STATUS_OK);
      writer.u64(response.version);
      return writer.done();
    }
    case 'value': {
      const writer = new ByteWriter(14 + response.value.length);
      writer.u8(KV_FORMAT_VERSION);
      writer.u8(STATUS_VALUE);
      writer.u64(response.version);
      writer.byteString(response.value);
      return writer.done();
    }
    case 'not-found': {
      const writer = new ByteWriter(2);
      writer.u8(KV_FORMAT_VERSION);
      writer.u8(STATUS_NOT_FOUND);
      return writer.done();
    }
    case 'cas-mismatch': {
      const writer = new ByteWriter(10);
      writer.u8(KV_FORMAT_VERSION);
      writer.u8(STATUS_CAS_MISMATCH);
      writer.u64(response.currentVersion);
      return writer.done();
    }
    case 'scan': {
      let sizeBytes = 7;
      for (const item of response.items) sizeBytes += scanItemBytes(item.key.length, item.value.length);
      const writer = new ByteWriter(sizeBytes);
      writer.u8(KV_FORMAT_VERSION);
      writer.u8(STATUS_SCAN);
      writer.u8(response.hasMore ? 1 : 0);
      writer.u32(response.items.length);
      for (const item of response.items) {
        writer.u64(item.version);
        writer.byteString(item.key);
        writer.byteString(item.value);
      }
      return writer.done();
    }
    case 'error': {
      const reason = Buffer.from(response.reason, 'utf8');
      const writer = new ByteWriter(7 + reason.length);
      writer.u8(KV_FORMAT_VERSION);
      writer.u8(STATUS_ERROR);
      writer.u8(ERROR_CODES[response.code]);
      writer.byteString(reason);
      return writer.done();
    }
    case 'session-registered': {
      checkU64('sessionId', response.sessionId, 1);
      const writer = new ByteWriter(10);
      writer.u8(KV_FORMAT_VERSION);
      writer.u8(STATUS_SESSION_REGISTERED);
      writer.u64(response.sessionId);
      return writer.done();
    }
  }
}

/** The size of an encoded 'ok' response. */
export const OK_RESPONSE_BYTES = 10;

/** The version an encoded 'ok' response carries, or -1 for any other response (read without decoding it all). */
export function okResponseVersion(response: Uint8Array): number {
  if (response.length !== OK_RESPONSE_BYTES || response[0] !== KV_FORMAT_VERSION || response[1] !== STATUS_OK) return -1;
  const b = response;
  return (b[2]! | (b[3]! << 8) | (b[4]! << 16)) + b[5]! * 0x1000000 + ((b[6]! | (b[7]! << 8) | (b[8]! << 16)) + b[9]! * 0x1000000) * TWO_POW_32;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/** A bounds-checked cursor; every read names its field so an error says what was cut short. */
class ByteReader {
  offset = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: 'request' | 'response',
  ) {}

  fail(field: string, offset: number, reason: string): never {
    throw new KvDecodeError(this.what, field, offset, reason);
  }
  private need(field: string, count: number): void {
    const available = this.bytes.length - this.offset;
    if (available < count) {
      this.fail(field, this.offset, `needs ${count} bytes but only ${available} remain (input is ${this.bytes.length} bytes)`);
    }
  }
  u8(field: string): number {
    this.need(field, 1);
    return this.bytes[this.offset++]!;
  }
  u32(field: string): number {
    this.need(field, 4);
    const b = this.bytes;
    const o = this.offset;
    this.offset += 4;
    return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
  }
  u64(field: string, minimum: number): number {
    const start = this.offset;
    const low = this.u32(field);
    const high = this.u32(field);
    if (high >= SAFE_HIGH_WORD_LIMIT) this.fail(field, start, 'exceeds 2^53-1 (not a safe integer)');
    const value = high * TWO_POW_32 + low;
    if (value < minimum) this.fail(field, start, `must be ≥ ${minimum}, got ${value}`);
    return value;
  }
  /** A u32 length then that many bytes, returned as a view (no copy). */
  byteString(field: string): Uint8Array {
    const lengthOffset = this.offset;
    const length = this.u32(`${field} length`);
    const available = this.bytes.length - this.offset;
    if (length > available) {
      this.fail(`${field} length`, lengthOffset, `says ${length} bytes but only ${available} remain (input is ${this.bytes.length} bytes)`);
    }
    const view = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }
  end(): void {
    if (this.offset !== this.bytes.length) {
      this.fail('end', this.offset, `${this.bytes.length - this.offset} unexpected trailing bytes`);
    }
  }
}

function readFormatVersion(reader: ByteReader): void {
  const version = reader.u8('format version');
  if (version === KV_FORMAT_VERSION) return;
  const why = version === 1 ? ' (version 1 carried clientId and sequence without registered sessions; this build needs sessions registered through the log)' : '';
  reader.fail('format version', 0, `unsupported version ${version}${why}; this build reads ${KV_FORMAT_VERSION}`);
}

function readOperation(reader: ByteReader): OperationType {
  const operationOffset = reader.offset;
  const operationCode = reader.u8('operation');
  const operation = OPERATION_BY_CODE[operationCode];
  if (operation === undefined) reader.fail('operation', operationOffset, `unknown operation code ${operationCode} (1 put, 2 get, 3 delete, 4 cas, 5 scan, 6 register-session)`);
  return operation;
}

/** The session fields of a request; `lowestUnacknowledged` ≤ `sequence` is checked. */
function readSessionFields(reader: ByteReader): { sessionId: number; sequence: number; lowestUnacknowledged: number } {
  const sessionId = reader.u64('sessionId', 1);
  const sequence = reader.u64('sequence', 1);
  const lowestOffset = reader.offset;
  const lowestUnacknowledged = reader.u64('lowestUnacknowledged', 1);
  if (lowestUnacknowledged > sequence) {
    reader.fail('lowestUnacknowledged', lowestOffset, `${lowestUnacknowledged} is above the sequence ${sequence} (the request itself is unacknowledged)`);
  }
  return { sessionId, sequence, lowestUnacknowledged };
}

/**
 * The session and sequence alone, for attributing an undecodable request to its session: null
 * if even they are unreadable, and for a register-session request (which has neither).
 */
export function decodeRequestHeader(bytes: Uint8Array): { sessionId: number; sequence: number } | null {
  try {
    const reader: ByteReader = new ByteReader(bytes, 'request');
    readFormatVersion(reader);
    if (readOperation(reader) === 'register-session') return null;
    const { sessionId, sequence } = readSessionFields(reader);
    return { sessionId, sequence };
  } catch (error) {
    if (error instanceof KvDecodeError) return null;
    throw error;
  }
}

function readCommandBody(reader: ByteReader, operation: KvCommandType): KvCommand {
  switch (operation) {
    case 'put': {
      const key = reader.byteString('key');
      return { type: 'put', key, value: reader.byteString('value') };
    }
    case 'get':
      return { type: 'get', key: reader.byteString('key') };
    case 'delete':
      return { type: 'delete', key: reader.byteString('key') };
    case 'cas': {
      const expectedVersion = reader.u64('expectedVersion', 0);
      const key = reader.byteString('key');
      return { type: 'cas', key, expectedVersion, value: reader.byteString('value') };
    }
    case 'scan': {
      const limit = reader.u32('limit');
      const start = reader.byteString('start');
      const hasEndOffset = reader.offset;
      const hasEnd = reader.u8('hasEnd');
      if (hasEnd > 1) reader.fail('hasEnd', hasEndOffset, `must be 0 or 1, got ${hasEnd}`);
      return { type: 'scan', limit, start, end: hasEnd === 1 ? reader.byteString('end') : null };
    }
  }
}

/** Decodes a read command (encodeReadCommand); keys are views into `bytes`. */
export function decodeReadCommand(bytes: Uint8Array): KvReadCommand {
  const reader: ByteReader = new ByteReader(bytes, 'request');
  readFormatVersion(reader);
  const operationOffset = reader.offset;
  const operation = readOperation(reader);
  if (operation !== 'get' && operation !== 'scan') reader.fail('operation', operationOffset, `a read outside the log is a get (2) or a scan (5), got ${operation}`);
  const command = readCommandBody(reader, operation) as KvReadCommand;
  reader.end();
  return command;
}

/** Decodes a request; keys and values are views into `bytes` (copy them to keep them). */
export function decodeRequest(bytes: Uint8Array): KvRequest {
  const reader: ByteReader = new ByteReader(bytes, 'request');
  readFormatVersion(reader);
  const operation = readOperation(reader);
  if (operation === 'register-session') {
    reader.end();
    return { type: 'register-session' };
  }
  const { sessionId, sequence, lowestUnacknowledged } = readSessionFields(reader);
  const command = readCommandBody(reader, operation);
  reader.end();
  return { type: 'command', sessionId, sequence, lowestUnacknowledged, command };
}

/** Decodes a response; values and keys are views into `bytes`. */
export function decodeResponse(bytes: Uint8Array): KvResponse {
  const reader: ByteReader = new ByteReader(bytes, 'response');
  readFormatVersion(reader);
  const statusOffset = reader.offset;
  const status = reader.u8('status');
  let response: KvResponse;
  switch (status) {
    case STATUS_OK:
      response = { type: 'ok', version: reader.u64('version', 1) };
      break;
    case STATUS_VALUE: {
      const version = reader.u64('version', 1);
      response = { type: 'value', version, value: reader.byteString('value') };
      break;
    }
    case STATUS_NOT_FOUND:
      response = { type: 'not-found' };
      break;
    case STATUS_CAS_MISMATCH:
      response = { type: 'cas-mismatch', currentVersion: reader.u64('currentVersion', 0) };
      break;
    case STATUS_SCAN: {
      const hasMoreOffset = reader.offset;
      const hasMore = reader.u8('hasMore');
      if (hasMore > 1) reader.fail('hasMore', hasMoreOffset, `must be 0 or 1, got ${hasMore}`);
      const countOffset = reader.offset;
      const count = reader.u32('count');
      // Each item takes at least 16 bytes, so a count the input cannot hold is caught before looping.
      if (count * 16 > bytes.length - reader.offset) reader.fail('count', countOffset, `${count} items cannot fit in the ${bytes.length - reader.offset} bytes left`);
      const items: KeyValueVersion[] = [];
      for (let i = 0; i < count; i++) {
        const version = reader.u64(`items[${i}].version`, 1);
        const key = reader.byteString(`items[${i}].key`);
        items.push({ key, value: reader.byteString(`items[${i}].value`), version });
      }
      response = { type: 'scan', items, hasMore: hasMore === 1 };
      break;
    }
    case STATUS_ERROR: {
      const codeOffset = reader.offset;
      const codeNumber = reader.u8('error code');
      const code = ERROR_BY_CODE[codeNumber];
      if (code === undefined) reader.fail('error code', codeOffset, `unknown error code ${codeNumber}`);
      response = { type: 'error', code, reason: Buffer.from(reader.byteString('reason')).toString('utf8') };
      break;
    }
    case STATUS_SESSION_REGISTERED:
      response = { type: 'session-registered', sessionId: reader.u64('sessionId', 1) };
      break;
    default:
      reader.fail('status', statusOffset, `unknown status ${status}`);
  }
  reader.end();
  return response;
}

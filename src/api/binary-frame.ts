// The binary client protocol's frames: length-prefixed and versioned, every request carrying an id
// that its reply echoes, so one connection holds many requests in flight (pipelining) and replies
// come back in whatever order the node settles them. Integers little-endian; u64 fields carry safe
// integers only. The payloads are the KV encodings of src/kv/commands.ts, unchanged.
//
// Every frame (protocol version 1):
//   offset 0   u32  length L of the rest of the frame: L ≥ 7 and 4 + L ≤ frameBytesMax
//          4   u8   protocol version (1)
//          5   u8   kind
//          6   u8   detail (by kind, below)
//          7   u32  request id (chosen by the client, echoed by the reply; 0 in a 'closing' frame)
//         11   payload, L − 7 bytes, by kind
//
// Requests (client → node):
//   1 submit  detail 0; payload: one encoded KV request (encodeRequest: a session command or a
//             register-session) — the node proposes it through the log
//   2 read    detail: read mode (0 the node's default · 2 read-index · 3 lease ·
//             4 follower-read-index · 5 stale; 1 'log' is refused: log reads are submitted);
//             payload: one encoded read command (encodeReadCommand: a get or a scan)
//   3 status  detail 0; payload empty — answered with a status frame
//   4 ping    detail 0; payload empty — answered at once with a pong (by the connection, not the
//             node: it tells a hung process from a slow request)
//
// Replies (node → client):
//   1 ok      detail 0; payload: u64 index (the write's log index or the read's index), then the
//             encoded KV response (encodeResponse)
//   2 error   detail: node error kind (NODE_ERROR_KINDS index + 1); payload: u8 outcome
//             (0 not-applied · 1 unknown), u64 leader id (0: none known), u16 length + the leader's
//             binary address ("host:port", empty if unknown), then the reason (UTF-8) to the end
//   3 status  detail 0; payload: JSON (UTF-8) {status, counters} — not on any hot path
//   4 pong    detail 0; payload empty
//   5 closing detail 0; request id 0; payload: the reason (UTF-8). The node sends it when it
//             drops the connection (a malformed frame) and then closes; nothing follows.
//
// The length prefix is the one field a peer controls that decides how much is buffered: it is
// checked against frameBytesMax as soon as its 4 bytes arrive, so a stray HTTP client ("GET " reads
// as a 542 MB length) is refused at its first bytes.

import type { NodeReply, NodeErrorKind, Outcome } from '../server/node.js';
import type { ReadMode } from '../server/node-options.js';
import { NODE_ERROR_KINDS } from './served-node.js';

export const CLIENT_PROTOCOL_VERSION = 1;
export const CLIENT_FRAME_HEADER_BYTES = 11;
/** Requests: a 1 MiB value plus a 1 KiB key fit with room to spare. */
export const REQUEST_FRAME_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;
/** Replies: a scan response is bounded at about 1 MiB by the state machine; status JSON is small. */
export const REPLY_FRAME_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
const TWO_POW_32 = 4294967296;
const SAFE_HIGH_WORD_LIMIT = 2097152;

export type RequestKind = 'submit' | 'read' | 'status' | 'ping';
export type ReplyKind = 'ok' | 'error' | 'status' | 'pong' | 'closing';
const REQUEST_CODES: Readonly<Record<RequestKind, number>> = { submit: 1, read: 2, status: 3, ping: 4 };
const REQUEST_BY_CODE: readonly (RequestKind | undefined)[] = [undefined, 'submit', 'read', 'status', 'ping'];
const REPLY_CODES: Readonly<Record<ReplyKind, number>> = { ok: 1, error: 2, status: 3, pong: 4, closing: 5 };
const REPLY_BY_CODE: readonly (ReplyKind | undefined)[] = [undefined, 'ok', 'error', 'status', 'pong', 'closing'];
/** Read mode codes; 0 is "the node's default". */
const READ_MODE_CODES: Readonly<Record<ReadMode, number>> = { log: 1, 'read-index': 2, lease: 3, 'follower-read-index': 4, stale: 5 };
const READ_MODE_BY_CODE: readonly (ReadMode | undefined)[] = [undefined, 'log', 'read-index', 'lease', 'follower-read-index', 'stale'];

export type ClientRequestFrame =
  | { readonly kind: 'submit'; readonly requestId: number; readonly payload: Uint8Array }
  | { readonly kind: 'read'; readonly requestId: number; readonly mode: ReadMode | null; readonly payload: Uint8Array }
  | { readonly kind: 'status' | 'ping'; readonly requestId: number };

export type ClientReplyFrame =
  | { readonly kind: 'ok'; readonly requestId: number; readonly index: number; readonly response: Uint8Array }
  | {
      readonly kind: 'error';
      readonly requestId: number;
      readonly error: NodeErrorKind;
      readonly outcome: Outcome;
      readonly leader: number;
      readonly leaderAddress: string;
      readonly reason: string;
    }
  | { readonly kind: 'status'; readonly requestId: number; readonly json: string }
  | { readonly kind: 'pong'; readonly requestId: number }
  | { readonly kind: 'closing'; readonly requestId: 0; readonly reason: string };

/** A malformed frame: what was wrong, in words a log line can carry. */
export class ClientFrameError extends Error {
  override readonly name = 'ClientFrameError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`malformed client frame: ${field}: ${reason}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

function frame(kindCode: number, detail: number, requestId: number, payloadBytes: number): Buffer {
  if (!Number.isInteger(requestId) || requestId < 0 || requestId >= TWO_POW_32) throw new RangeError(`requestId must be an integer in [0, 2^32), got ${requestId}`);
  const bytes = Buffer.allocUnsafe(CLIENT_FRAME_HEADER_BYTES + payloadBytes);
  bytes.writeUInt32LE(CLIENT_FRAME_HEADER_BYTES - 4 + payloadBytes, 0);
  bytes[4] = CLIENT_PROTOCOL_VERSION;
  bytes[5] = kindCode;
  bytes[6] = detail;
  bytes.writeUInt32LE(requestId, 7);
  return bytes;
}

function writeU64(target: Buffer, offset: number, value: number): void {
  const low = value >>> 0;
  target.writeUInt32LE(low, offset);
  target.writeUInt32LE((value - low) / TWO_POW_32, offset + 4);
}

export function encodeRequestFrame(request: ClientRequestFrame): Uint8Array {
  const code = REQUEST_CODES[request.kind];
  switch (request.kind) {
    case 'submit':
    case 'read': {
      const detail = request.kind === 'read' && request.mode !== null ? READ_MODE_CODES[request.mode] : 0;
      const bytes = frame(code, detail, request.requestId, request.payload.length);
      bytes.set(request.payload, CLIENT_FRAME_HEADER_BYTES);
      return bytes;
    }
    case 'status':
    case 'ping':
      return frame(code, 0, request.requestId, 0);
  }
}

export function encodeReplyFrame(reply: ClientReplyFrame): Uint8Array {
  const code = REPLY_CODES[reply.kind];
  switch (reply.kind) {
    case 'ok': {
      const bytes = frame(code, 0, reply.requestId, 8 + reply.response.length);
      writeU64(bytes, CLIENT_FRAME_HEADER_BYTES, reply.index);
      bytes.set(reply.response, CLIENT_FRAME_HEADER_BYTES + 8);
      return bytes;
    }
    case 'error': {
      const address = Buffer.from(reply.leaderAddress, 'utf8');
      if (address.length > 0xffff) throw new RangeError('leaderAddress longer than 65535 bytes');
      const reason = Buffer.from(reply.reason, 'utf8');
      const bytes = frame(code, NODE_ERROR_KINDS.indexOf(reply.error) + 1, reply.requestId, 11 + address.length + reason.length);
      let offset = CLIENT_FRAME_HEADER_BYTES;
      bytes[offset++] = reply.outcome === 'unknown' ? 1 : 0;
      writeU64(bytes, offset, reply.leader);
      offset += 8;
      bytes.writeUInt16LE(address.length, offset);
      offset += 2;
      bytes.set(address, offset);
      bytes.set(reason, offset + address.length);
      return bytes;
    }
    case 'status':
    case 'closing': {
      const text = Buffer.from(reply.kind === 'status' ? reply.json : reply.reason, 'utf8');
      const bytes = frame(code, 0, reply.requestId, text.length);
      bytes.set(text, CLIENT_FRAME_HEADER_BYTES);
      return bytes;
    }
    case 'pong':
      return frame(code, 0, reply.requestId, 0);
  }
}

/** A node's reply as a reply frame for `requestId`. */
export function replyFrameOf(requestId: number, reply: NodeReply, leaderAddress: string): Uint8Array {
  if (reply.ok) return encodeReplyFrame({ kind: 'ok', requestId, index: reply.index, response: reply.response });
  return encodeReplyFrame({ kind: 'error', requestId, error: reply.error, outcome: reply.outcome, leader: reply.leader, leaderAddress, reason: reply.reason });
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function u32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16)) + bytes[offset + 3]! * 0x1000000;
}

function u64(bytes: Uint8Array, offset: number, field: string): number {
  const high = u32(bytes, offset + 4);
  if (high >= SAFE_HIGH_WORD_LIMIT) throw new ClientFrameError(field, 'exceeds 2^53-1 (not a safe integer)');
  return high * TWO_POW_32 + u32(bytes, offset);
}

function utf8(bytes: Uint8Array, field: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ClientFrameError(field, 'is not valid UTF-8');
  }
}

/** The header of one whole frame (as FrameCutter returns it): version checked. */
function header(bytes: Uint8Array): { kindCode: number; detail: number; requestId: number; payload: Uint8Array } {
  const version = bytes[4]!;
  if (version !== CLIENT_PROTOCOL_VERSION) throw new ClientFrameError('protocol version', `unsupported version ${version} (this build speaks ${CLIENT_PROTOCOL_VERSION})`);
  return { kindCode: bytes[5]!, detail: bytes[6]!, requestId: u32(bytes, 7), payload: bytes.subarray(CLIENT_FRAME_HEADER_BYTES) };
}

/** Decodes one whole request frame; throws ClientFrameError naming the field. */
export function decodeRequestFrame(bytes: Uint8Array): ClientRequestFrame {
  const { kindCode, detail, requestId, payload } = header(bytes);
  const kind = REQUEST_BY_CODE[kindCode];
  if (kind === undefined) throw new ClientFrameError('kind', `unknown request kind ${kindCode} (1 submit, 2 read, 3 status, 4 ping)`);
  switch (kind) {
    case 'submit':
      if (detail !== 0) throw new ClientFrameError('detail', `must be 0 for a submit, got ${detail}`);
      if (payload.length === 0) throw new ClientFrameError('payload', 'a submit carries no request');
      return { kind, requestId, payload };
    case 'read': {
      const mode = detail === 0 ? null : READ_MODE_BY_CODE[detail];
      if (mode === undefined) throw new ClientFrameError('detail', `unknown read mode ${detail} (0 default, 2 read-index, 3 lease, 4 follower-read-index, 5 stale)`);
      if (payload.length === 0) throw new ClientFrameError('payload', 'a read carries no command');
      return { kind, requestId, mode, payload };
    }
    case 'status':
    case 'ping':
      if (detail !== 0 || payload.length !== 0) throw new ClientFrameError('payload', `a ${kind} request carries nothing, got detail ${detail} and ${payload.length} bytes`);
      return { kind, requestId };
  }
}

/** Decodes one whole reply frame; throws ClientFrameError naming the field. */
export function decodeReplyFrame(bytes: Uint8Array): ClientReplyFrame {
  const { kindCode, detail, requestId, payload } = header(bytes);
  const kind = REPLY_BY_CODE[kindCode];
  if (kind === undefined) throw new ClientFrameError('kind', `unknown reply kind ${kindCode}`);
  switch (kind) {
    case 'ok':
      if (payload.length < 9) throw new ClientFrameError('payload', `an ok reply needs an index and a response, got ${payload.length} bytes`);
      return { kind, requestId, index: u64(payload, 0, 'index'), response: payload.subarray(8) };
    case 'error': {
      const error = NODE_ERROR_KINDS[detail - 1];
      if (error === undefined) throw new ClientFrameError('detail', `unknown node error kind ${detail}`);
      if (payload.length < 11) throw new ClientFrameError('payload', `an error reply needs 11 bytes at least, got ${payload.length}`);
      if (payload[0]! > 1) throw new ClientFrameError('outcome', `must be 0 or 1, got ${payload[0]}`);
      const addressLength = payload[9]! | (payload[10]! << 8);
      if (11 + addressLength > payload.length) throw new ClientFrameError('leader address length', `says ${addressLength} bytes but ${payload.length - 11} remain`);
      return {
        kind,
        requestId,
        error,
        outcome: payload[0] === 1 ? 'unknown' : 'not-applied',
        leader: u64(payload, 1, 'leader'),
        leaderAddress: utf8(payload.subarray(11, 11 + addressLength), 'leader address'),
        reason: utf8(payload.subarray(11 + addressLength), 'reason'),
      };
    }
    case 'status':
      return { kind, requestId, json: utf8(payload, 'status') };
    case 'pong':
      return { kind, requestId };
    case 'closing':
      return { kind, requestId: 0, reason: utf8(payload, 'reason') };
  }
}

/**
 * Cuts a byte stream into whole frames, whatever the chunk boundaries. A frame inside one chunk is
 * returned as a view of it; a frame split across chunks is joined once, when its last byte arrives
 * (the pieces wait in a list until then, so a large frame in many chunks costs one copy, not one
 * per chunk). After an error every push returns it again: drop the connection.
 */
export class FrameCutter {
  private pieces: Uint8Array[] = [];
  private piecesBytes = 0;
  /** Bytes the pieces must reach before they are worth joining: 4 (a length), then the frame. */
  private neededBytes = 4;
  private failure: ClientFrameError | null = null;

  constructor(private readonly frameBytesMax: number) {
    if (!Number.isSafeInteger(frameBytesMax) || frameBytesMax < CLIENT_FRAME_HEADER_BYTES) throw new RangeError(`frameBytesMax must be an integer ≥ ${CLIENT_FRAME_HEADER_BYTES}, got ${frameBytesMax}`);
  }

  push(chunk: Uint8Array): { frames: Uint8Array[]; error: ClientFrameError | null } {
    const frames: Uint8Array[] = [];
    if (this.failure !== null) return { frames, error: this.failure };
    let data = chunk;
    if (this.piecesBytes > 0) {
      this.pieces.push(chunk);
      this.piecesBytes += chunk.length;
      if (this.piecesBytes < this.neededBytes) return { frames, error: null };
      data = Buffer.concat(this.pieces, this.piecesBytes);
      this.pieces = [];
      this.piecesBytes = 0;
    }
    let offset = 0;
    while (data.length - offset >= 4) {
      const length = u32(data, offset);
      if (length < CLIENT_FRAME_HEADER_BYTES - 4) return this.fail(frames, new ClientFrameError('length', `must be ≥ ${CLIENT_FRAME_HEADER_BYTES - 4}, got ${length}`));
      if (length > this.frameBytesMax - 4) return this.fail(frames, new ClientFrameError('length', `a ${length + 4}-byte frame exceeds frameBytesMax ${this.frameBytesMax}`));
      if (data.length - offset < length + 4) {
        this.neededBytes = length + 4;
        break;
      }
      frames.push(data.subarray(offset, offset + length + 4));
      offset += length + 4;
    }
    if (offset < data.length) {
      if (data.length - offset < 4) this.neededBytes = 4;
      this.pieces.push(data.subarray(offset));
      this.piecesBytes = data.length - offset;
    }
    return { frames, error: null };
  }

  /** Bytes held that are not yet a whole frame. */
  get bufferedBytes(): number {
    return this.piecesBytes;
  }

  private fail(frames: Uint8Array[], error: ClientFrameError): { frames: Uint8Array[]; error: ClientFrameError } {
    this.failure = error;
    this.pieces = [];
    this.piecesBytes = 0;
    return { frames, error };
  }
}

// Shared helpers for the kv tests: building log entries, reading responses, collecting streams.

import type { Entry } from '../../src/raft/types.js';
import { decodeResponse, encodeRequest, type KvCommand, type KvResponse } from '../../src/kv/commands.js';
import type { ApplyResult } from '../../src/kv/state-machine.js';

/**
 * A session request at `index`. lowestUnacknowledged defaults to the sequence itself: a client
 * with one request in flight, which has received the answers to all earlier ones.
 */
export function requestEntry(index: number, sessionId: number, sequence: number, command: KvCommand, lowestUnacknowledged = sequence): Entry {
  return { term: 1, index, data: encodeRequest({ type: 'command', sessionId, sequence, lowestUnacknowledged, command }) };
}

/** A register-session entry: the session it creates has id `index`. */
export function registerEntry(index: number): Entry {
  return { term: 1, index, data: encodeRequest({ type: 'register-session' }) };
}

export function noopEntry(index: number): Entry {
  return { term: 1, index, data: new Uint8Array(0) };
}

export function responseOf(result: ApplyResult): KvResponse {
  if (result.type !== 'response') throw new Error(`expected a response at index ${result.index}, got a no-op`);
  return decodeResponse(result.response);
}

export function text(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Turns byte arrays into hex strings so deepEqual compares contents, not Buffer vs Uint8Array. */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `hex:${hex(value)}`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const collected: Uint8Array[] = [];
  for await (const chunk of chunks) collected.push(chunk);
  return collected;
}

export async function* streamOf(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

/** Cuts `bytes` at the given positions (sorted, deduplicated, inside the range). */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const point of points) {
    parts.push(bytes.subarray(from, point));
    from = point;
  }
  parts.push(bytes.subarray(from));
  return parts;
}

// The binary batch format between the reader pool (main thread) and its reader workers. One
// message carries many requests, so the per-message cost of postMessage (a structured clone and
// an event-loop hop on each side) is paid once per batch, not once per get. All integers are
// little-endian.
//
// Request batch: a sequence of
//   get   u8 1 · u16 keyLength · key
//   scan  u8 2 · u16 startLength · start · u8 hasEnd · [u16 endLength · end] · u32 limit
// Response batch, one answer per request in the same order:
//   get   u8 found · [u32 versionLow · u32 versionHigh · u32 valueLength · value]
//   scan  u32 count · count × (u16 keyLength · key · u32 versionLow · u32 versionHigh · u32 valueLength · value)

import type { KeyValueVersion, VersionedValue } from '../ordered-map.js';

export const REQUEST_GET = 1;
export const REQUEST_SCAN = 2;

const TWO_POW_32 = 4294967296;

/** A growable byte buffer with a hard size bound. */
export class ByteWriter {
  private bytes: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(
    initialBytes: number,
    readonly maxBytes: number,
    readonly what: string,
  ) {
    this.bytes = new Uint8Array(initialBytes);
    this.view = new DataView(this.bytes.buffer);
  }

  reserve(extraBytes: number): void {
    const needed = this.length + extraBytes;
    if (needed <= this.bytes.length) return;
    if (needed > this.maxBytes) {
      throw new RangeError(`${this.what} would exceed its limit of ${this.maxBytes} bytes (needs ${needed})`);
    }
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    if (capacity > this.maxBytes) capacity = this.maxBytes;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }
  u16(value: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, value, true);
    this.length += 2;
  }
  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }
  version(version: number): void {
    this.u32(version % TWO_POW_32);
    this.u32(Math.floor(version / TWO_POW_32));
  }
  raw(source: Uint8Array): void {
    this.reserve(source.length);
    this.bytes.set(source, this.length);
    this.length += source.length;
  }
  /** Back to empty, keeping the capacity. */
  clear(): void {
    this.length = 0;
  }
  /** A copy of the written bytes in a fresh ArrayBuffer (safe to transfer). */
  takeCopy(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

export class ByteReader {
  private readonly view: DataView;
  offset = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(count: number): void {
    if (this.offset + count > this.bytes.length) {
      throw new RangeError(`${this.what}: truncated at offset ${this.offset} (needs ${count} more bytes, has ${this.remaining})`);
    }
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }
  u16(): number {
    this.need(2);
    const value = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return value;
  }
  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }
  version(): number {
    const low = this.u32();
    return this.u32() * TWO_POW_32 + low;
  }
  /** A view (no copy) of the next `length` bytes. */
  bytesView(length: number): Uint8Array {
    this.need(length);
    const view = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }
}

export function encodeGet(writer: ByteWriter, key: Uint8Array): void {
  writer.u8(REQUEST_GET);
  writer.u16(key.length);
  writer.raw(key);
}

export function encodeScan(writer: ByteWriter, start: Uint8Array, end: Uint8Array | null, limit: number): void {
  writer.u8(REQUEST_SCAN);
  writer.u16(start.length);
  writer.raw(start);
  if (end === null) writer.u8(0);
  else {
    writer.u8(1);
    writer.u16(end.length);
    writer.raw(end);
  }
  writer.u32(limit);
}

export function decodeGetAnswer(reader: ByteReader): VersionedValue | undefined {
  if (reader.u8() === 0) return undefined;
  const version = reader.version();
  const value = reader.bytesView(reader.u32());
  return { value, version };
}

export function decodeScanAnswer(reader: ByteReader): KeyValueVersion[] {
  const count = reader.u32();
  // Each entry needs at least 14 bytes: a lie in `count` fails here, not in a huge loop.
  if (count * 14 > reader.remaining) throw new RangeError(`${reader.what}: scan answer claims ${count} entries, only ${reader.remaining} bytes remain`);
  const entries: KeyValueVersion[] = [];
  for (let i = 0; i < count; i++) {
    const key = reader.bytesView(reader.u16());
    const version = reader.version();
    const value = reader.bytesView(reader.u32());
    entries.push({ key, value, version });
  }
  return entries;
}

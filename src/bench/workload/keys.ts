// Key numbers to key bytes, YCSB style: a prefix ("user") and then a number in decimal, here
// zero-padded to a fixed width so every key has `keyBytes` bytes and keys sort as their numbers.
// With `order: 'ordered'` the number is the record number itself, so inserts arrive in key order;
// with `order: 'hashed'` (YCSB's default insertorder) it is YCSB's FNV-64 hash of the record
// number, so consecutive inserts land all over the key space.
//
// The subtle thing: a hash has up to 19 decimal digits. When the width leaves fewer, the hash is
// cut to its low digits, and two records may then share a key (an insert of the second then
// overwrites the first; nothing else breaks). With the default 23-byte keys and the "user"
// prefix, 19 digits fit and keys are as distinct as YCSB's. Record numbers in ordered keys never
// wrap: one too large for the width is an error.

import { fnvHash64, hashHigh, hashLow } from './fnv.js';
import type { KeyOrder } from './schema.js';

const ZERO = 0x30;
const TWO_POW_32 = 4294967296;

const CHUNK = 100_000;
const INT32_MAX = 0x7fffffff;

/** Writes `chunk` (< CHUNK) as five digits ending at `at`, none before `first`; returns the position before them. */
function writeChunk(key: Uint8Array, first: number, at: number, chunk: number): number {
  let rest = chunk | 0;
  for (let i = 0; i < 5 && at >= first; i++, at--) {
    const quotient = (rest / 10) | 0;
    key[at] = ZERO + rest - quotient * 10;
    rest = quotient;
  }
  return at;
}

/**
 * Writes `value` (a non-negative safe integer) in decimal into key[first … last], zero-padded;
 * digits that do not fit before `first` are dropped. Digits come from int32 arithmetic once the
 * value fits in 31 bits, and from five-digit chunks split off with double arithmetic before:
 * a double division per digit was most of the cost of a key.
 */
function writeDecimal(key: Uint8Array, first: number, last: number, value: number): void {
  let at = last;
  let rest = value;
  while (rest > INT32_MAX && at >= first) {
    const quotient = Math.floor(rest / CHUNK);
    at = writeChunk(key, first, at, rest - quotient * CHUNK);
    rest = quotient;
  }
  let small = rest | 0;
  for (; at >= first; at--) {
    const quotient = (small / 10) | 0;
    key[at] = ZERO + small - quotient * 10;
    small = quotient;
  }
}

/** As writeDecimal, for the 64-bit value high·2^32 + low. */
function writeDecimal64(key: Uint8Array, first: number, last: number, high: number, low: number): void {
  // One long division by CHUNK in two 32-bit halves leaves a quotient below 2^47, exact as a double.
  const highQuotient = Math.floor(high / CHUNK);
  const rest = (high - highQuotient * CHUNK) * TWO_POW_32 + low; // < CHUNK · 2^32 < 2^53: exact
  const lowQuotient = Math.floor(rest / CHUNK);
  const at = writeChunk(key, first, last, rest - lowQuotient * CHUNK);
  writeDecimal(key, first, at, highQuotient * TWO_POW_32 + lowQuotient);
}

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Decimal digits needed to write every record number below `recordCount`. */
export function keyDigitsRequired(recordCount: number): number {
  let digits = 1;
  for (let limit = 10; limit < recordCount; limit *= 10) digits++;
  return digits;
}

export interface KeyFormat {
  readonly prefix: string;
  readonly keyBytes: number;
  readonly order: KeyOrder;
}

/** Writes keys of one format; `encode` allocates only the key's own bytes. */
export class KeyEncoder {
  readonly keyBytes: number;
  private readonly prefixBytes: Uint8Array;
  private readonly digits: number;
  private readonly hashed: boolean;
  /** 10^digits, or Infinity when every safe integer fits. */
  private readonly orderedLimit: number;

  constructor(format: KeyFormat) {
    this.prefixBytes = new Uint8Array(Buffer.from(format.prefix, "utf8"));
    this.keyBytes = format.keyBytes;
    this.digits = format.keyBytes - this.prefixBytes.byteLength;
    if (this.digits < 1) throw new RangeError(`keys of ${format.keyBytes} bytes leave no room for a number after the prefix "${format.prefix}"`);
    this.hashed = format.order === 'hashed';
    this.orderedLimit = this.digits >= 16 ? Infinity : 10 ** this.digits;
  }

  /** The key of record number `keyNumber` (a non-negative safe integer), as fresh bytes. */
  encode(keyNumber: number): Uint8Array {
    const key = new Uint8Array(this.keyBytes);
    this.encodeInto(keyNumber, key);
    return key;
  }

  /** Writes the key of `keyNumber` into the first keyBytes bytes of `key`. */
  encodeInto(keyNumber: number, key: Uint8Array): void {
    const prefix = this.prefixBytes;
    const first = prefix.byteLength;
    for (let i = 0; i < first; i++) key[i] = prefix[i]!;
    if (this.hashed) {
      fnvHash64(keyNumber);
      writeDecimal64(key, first, this.keyBytes - 1, hashHigh, hashLow);
      return;
    }
    if (!(keyNumber < this.orderedLimit)) throw this.tooWide(keyNumber);
    writeDecimal(key, first, this.keyBytes - 1, keyNumber);
  }

  private tooWide(keyNumber: number): RangeError {
    return new RangeError(`key number ${keyNumber} needs more than the ${this.digits} digits that keys.keyBytes ${this.keyBytes} leaves after the prefix`);
  }

  /** The key as text, for messages and tests. */
  keyName(keyNumber: number): string {
    return Buffer.from(this.encode(keyNumber)).toString('utf8');
  }
}

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
    this.prefixBytes = Buffer.from(format.prefix, 'utf8');
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
    for (let i = 0; i < prefix.byteLength; i++) key[i] = prefix[i]!;
    const last = this.keyBytes - 1;
    const first = prefix.byteLength;
    if (this.hashed) {
      fnvHash64(keyNumber);
      // Long division of the 64-bit hash by 10 in two 32-bit halves, lowest digit first; digits
      // past the width are dropped (the hash modulo 10^digits), the rest stay zero padding.
      let high = hashHigh;
      let low = hashLow;
      for (let at = last; at >= first; at--) {
        const highQuotient = Math.floor(high / 10);
        const rest = (high - highQuotient * 10) * TWO_POW_32 + low;
        const lowQuotient = Math.floor(rest / 10);
        key[at] = ZERO + (rest - lowQuotient * 10);
        high = highQuotient;
        low = lowQuotient;
      }
      return;
    }
    if (!(keyNumber < this.orderedLimit)) {
      throw new RangeError(`key number ${keyNumber} needs more than the ${this.digits} digits that keys.keyBytes ${this.keyBytes} leaves after the prefix`);
    }
    let rest = keyNumber;
    for (let at = last; at >= first; at--) {
      const quotient = Math.floor(rest / 10);
      key[at] = ZERO + (rest - quotient * 10);
      rest = quotient;
    }
  }

  /** The key as text, for messages and tests. */
  keyName(keyNumber: number): string {
    return Buffer.from(this.encode(keyNumber)).toString('utf8');
  }
}

// YCSB's 64-bit FNV hash of a record number (site.ycsb.Utils.fnvhash64): FNV-1a over the number's
// eight bytes, low byte first, then Java's Math.abs of the signed result. YCSB uses it twice, and
// so do we: to turn a record number into a key name when inserts are "hashed" (so sequential
// inserts land all over the key space), and to scatter the ranks of the scrambled zipfian.
//
// The subtle thing: JavaScript numbers hold 53 bits, so the hash is computed exactly in two 32-bit
// halves (the FNV prime is 2^40 + 0x1b3, so a multiplication is a shift plus a small product), and
// the result is left in module-level scratch (`hashHigh`, `hashLow`) rather than returned in an
// object, because this runs once per generated operation. Java's Math.abs(Long.MIN_VALUE) stays
// negative; here that one input reads as 2^63, which only differs in sign.

const OFFSET_BASIS_HIGH = 0xcbf29ce4;
const OFFSET_BASIS_LOW = 0x84222325;
const PRIME_LOW = 0x1b3; // FNV_prime_64 = 2^40 + 0x1b3
const TWO_POW_32 = 4294967296;

/** High 32 bits (unsigned) of the last hash computed by `fnvHash64`. */
export let hashHigh = 0;
/** Low 32 bits (unsigned) of the last hash computed by `fnvHash64`. */
export let hashLow = 0;

/**
 * Hashes a non-negative safe integer as YCSB's fnvhash64 does; the 63-bit result is left in
 * `hashHigh` / `hashLow`.
 */
export function fnvHash64(value: number): void {
  let high = OFFSET_BASIS_HIGH;
  let low = OFFSET_BASIS_LOW;
  let valueLow = value >>> 0;
  let valueHigh = Math.floor(value / TWO_POW_32) >>> 0;
  for (let i = 0; i < 8; i++) {
    const octet = valueLow & 0xff;
    valueLow = (valueLow >>> 8) | ((valueHigh & 0xff) << 24);
    valueHigh >>>= 8;
    low = (low ^ octet) >>> 0;
    // (high·2^32 + low) · (2^40 + 0x1b3) mod 2^64, in int32 arithmetic:
    //   low word  = low · 0x1b3 mod 2^32
    //   carry     = ⌊low · 0x1b3 / 2^32⌋, from low's 16-bit halves (each product < 2^25)
    //   high word = high · 0x1b3 + carry + (low << 8) mod 2^32
    const carry = ((low >>> 16) * PRIME_LOW + (((low & 0xffff) * PRIME_LOW) >>> 16)) >>> 16;
    high = (Math.imul(high, PRIME_LOW) + carry + (low << 8)) >>> 0;
    low = Math.imul(low, PRIME_LOW) >>> 0;
  }
  if (high >= 0x80000000) {
    // Two's complement negation, as Java's Math.abs does for a negative long.
    low = (~low + 1) >>> 0;
    high = (~high + (low === 0 ? 1 : 0)) >>> 0;
  }
  hashHigh = high;
  hashLow = low;
}

/**
 * The last hash modulo `modulus` (an integer in [1, 2^37]): (high·2^32 + low) mod m, computed in
 * steps whose products stay below 2^53.
 */
export function lastHashModulo(modulus: number): number {
  let rest = hashHigh % modulus;
  rest = (rest * 65536) % modulus;
  rest = (rest * 65536) % modulus;
  return (rest + hashLow) % modulus;
}

/** The largest modulus `lastHashModulo` handles exactly. */
export const HASH_MODULUS_MAX = 2 ** 37;

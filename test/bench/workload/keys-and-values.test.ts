// Keys and values at the byte level: the FNV hash against a BigInt transcription of YCSB's Java,
// key names against YCSB's, ordered keys' width and sort order, and value content against the
// micro-benchmarks' generator it replaces. The subtle thing: the BigInt reference reproduces
// Java's signed 64-bit overflow and Math.abs, which the 32-bit-halves implementation must match.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrng } from '../../../src/random/prng.js';
import { fnvHash64, hashHigh, hashLow, lastHashModulo } from '../../../src/bench/workload/fnv.js';
import { KeyEncoder } from '../../../src/bench/workload/keys.js';
import { generateValue, VALUE_KINDS, type ValueKind } from '../../../src/bench/workload/value-content.js';
import { generateValue as microGenerateValue } from '../../../src/bench/micro/values.js';

/** YCSB's Utils.fnvhash64, transcribed with BigInt and Java's signed 64-bit arithmetic. */
function ycsbFnvHash64(value: bigint): bigint {
  let hash = BigInt.asIntN(64, 0xcbf29ce484222325n);
  let rest = value;
  for (let i = 0; i < 8; i++) {
    const octet = rest & 0xffn;
    rest >>= 8n;
    hash = BigInt.asIntN(64, hash ^ octet);
    hash = BigInt.asIntN(64, hash * 1099511628211n);
  }
  return hash < 0n ? -hash : hash;
}

test("the FNV hash is YCSB's fnvhash64, and its modulo is exact", () => {
  const prng = createPrng(21);
  const inputs = [0, 1, 2, 255, 256, 65_535, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 2000; i++) inputs.push(i, prng.nextInt(0, Number.MAX_SAFE_INTEGER));
  for (const input of inputs) {
    const expected = ycsbFnvHash64(BigInt(input));
    fnvHash64(input);
    assert.equal((BigInt(hashHigh) << 32n) | BigInt(hashLow), expected, `hash of ${input}`);
    for (const modulus of [1, 7, 1000, 100_003, 2 ** 31 - 1, 2 ** 37]) {
      assert.equal(BigInt(lastHashModulo(modulus)), expected % BigInt(modulus), `hash of ${input} mod ${modulus}`);
    }
  }
});

test('hashed keys are YCSB key names; narrower widths keep the low digits', () => {
  const hashed = new KeyEncoder({ prefix: 'user', keyBytes: 23, order: 'hashed' });
  // Record 0's key in every YCSB load: "user" + fnvhash64(0).
  assert.equal(hashed.keyName(0), 'user6284781860667377211');
  for (const keyNumber of [1, 42, 99_999, 123_456_789]) {
    const digits = ycsbFnvHash64(BigInt(keyNumber)).toString().padStart(19, '0');
    assert.equal(hashed.keyName(keyNumber), `user${digits}`);
    assert.equal(new KeyEncoder({ prefix: 'k', keyBytes: 9, order: 'hashed' }).keyName(keyNumber), `k${digits.slice(-8)}`);
    assert.equal(new KeyEncoder({ prefix: 'user', keyBytes: 30, order: 'hashed' }).keyName(keyNumber), `user${digits.padStart(26, '0')}`);
  }
});

test('ordered keys are zero-padded, sort as their numbers, and refuse numbers wider than the key', () => {
  const ordered = new KeyEncoder({ prefix: 'user', keyBytes: 10, order: 'ordered' });
  assert.equal(ordered.keyName(0), 'user000000');
  assert.equal(ordered.keyName(987_654), 'user987654');
  const keys = [5, 50, 500, 4999, 12_345].map((n) => Buffer.from(ordered.encode(n)));
  assert.deepEqual([...keys].sort(Buffer.compare), keys);
  assert.throws(() => ordered.encode(1_000_000), /key number 1000000 needs more than the 6 digits/);
  assert.equal(new KeyEncoder({ prefix: 'é', keyBytes: 5, order: 'ordered' }).encode(7).byteLength, 5, 'the width counts UTF-8 bytes');
});

test('value content is byte for byte what the micro-benchmarks generated, so they can use this module', () => {
  for (const kind of [...VALUE_KINDS, 'text-uniform'] as ValueKind[]) {
    for (const seed of [1, 2, 77]) {
      const ours = createPrng(seed);
      const theirs = createPrng(seed);
      for (const sizeBytes of [0, 1, 3, 5, 99, 100, 257, 1000, 4096, 65_536]) {
        assert.deepEqual(generateValue(kind, ours, sizeBytes), microGenerateValue(kind, theirs, sizeBytes), `${kind}, seed ${seed}, ${sizeBytes} B`);
      }
    }
  }
});

test('text values are words and JSON values are records, cut at exactly the size', () => {
  const text = Buffer.from(generateValue('text', createPrng(5), 400)).toString('latin1');
  assert.equal(text.length, 400);
  assert.match(text, /^([a-z]+ )+[a-z]*$/);
  const json = Buffer.from(generateValue('json', createPrng(5), 2000)).toString('latin1');
  const records = json.split('\n');
  for (const record of records.slice(0, -1)) {
    const parsed = JSON.parse(record) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['id', 'name', 'email', 'age', 'city', 'active', 'score', 'tags']);
  }
});

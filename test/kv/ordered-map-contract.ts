// The behaviour every OrderedMap implementation must show (src/kv/ordered-map.ts), written once
// and run against each implementation: the heap skip list (skiplist.test.ts) and the
// shared-memory skip list (test/kv/shared/). Hand-written cases pin the edges (byte order,
// copies, the scan bounds); a model-based property runs random operation sequences against a
// plain Map that is sorted only when compared, so the model cannot share a bug with the map.
//
// What the contract requires beyond the interface's comments:
//   - keys of any length ≥ 0 (the empty key is the smallest key), values of any length ≥ 0;
//   - versions are any positive safe integer, up to Number.MAX_SAFE_INTEGER, stored exactly;
//   - the map copies what it is given: changing a key or value array after put changes nothing;
//   - a result, once returned, is never changed by later writes (the state machine takes
//     point-in-time snapshots by holding on to results); callers treat results as read-only.
//
// This file is not a *.test.ts file: it registers tests when a test file calls it.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ABSENT, type KeyValueVersion, type OrderedMap, type VersionedValue } from '../../src/kv/ordered-map.js';

export interface OrderedMapContractOptions {
  /** Called after each test with the map it made (e.g. to stop worker threads). */
  cleanup?: (map: OrderedMap) => void | Promise<void>;
  /** Runs of each fast-check property (default 100). */
  numRuns?: number;
}

type ModelEntry = { key: Uint8Array; value: Uint8Array; version: number };

/** The reference: a Map keyed by hex, sorted with Buffer.compare only when read in order. */
class ModelMap {
  private readonly byHex = new Map<string, ModelEntry>();

  get size(): number {
    return this.byHex.size;
  }
  get(key: Uint8Array): VersionedValue | undefined {
    const found = this.byHex.get(hex(key));
    return found === undefined ? undefined : { value: found.value, version: found.version };
  }
  put(key: Uint8Array, value: Uint8Array, version: number): number {
    const replaced = this.byHex.get(hex(key))?.value.length ?? ABSENT;
    this.byHex.set(hex(key), { key: Uint8Array.from(key), value: Uint8Array.from(value), version });
    return replaced;
  }
  delete(key: Uint8Array): number {
    const removed = this.byHex.get(hex(key))?.value.length ?? ABSENT;
    this.byHex.delete(hex(key));
    return removed;
  }
  sorted(): ModelEntry[] {
    return [...this.byHex.values()].sort((a, b) => Buffer.compare(a.key, b.key));
  }
  scan(start: Uint8Array, end: Uint8Array | null, limit: number): ModelEntry[] {
    return this.sorted()
      .filter((e) => Buffer.compare(e.key, start) >= 0 && (end === null || Buffer.compare(e.key, end) < 0))
      .slice(0, limit);
  }
  clear(): void {
    this.byHex.clear();
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function text(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

/** Plain, comparable form of a result, so assert.deepEqual does not trip on Buffer vs Uint8Array. */
function plainValue(result: VersionedValue | undefined): { value: string; version: number } | undefined {
  return result === undefined ? undefined : { value: hex(result.value), version: result.version };
}

function plainPairs(pairs: readonly (KeyValueVersion | ModelEntry)[]): { key: string; value: string; version: number }[] {
  return pairs.map((p) => ({ key: hex(p.key), value: hex(p.value), version: p.version }));
}

// Keys from a tiny alphabet collide often (so puts replace and deletes hit) and exercise the byte
// order at the edges that signed or UTF-16 comparison gets wrong: 0x00, 0x7f/0x80, 0xff, and
// prefixes (a key is smaller than every longer key it prefixes).
const edgeByte = fc.constantFrom(0x00, 0x01, 0x41, 0x7f, 0x80, 0xfe, 0xff);
// Longer keys over three byte values share long prefixes and differ around bytes 8 and 16, or
// only by trailing zero bytes: the places where an implementation comparing fixed-width words
// first must fall back correctly.
const keyArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.array(edgeByte, { maxLength: 3 }).map((a) => Uint8Array.from(a)) },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(0x00, 0x01, 0xff), { minLength: 7, maxLength: 18 }).map((a) => Uint8Array.from(a)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 24 }) },
);
const valueArbitrary: fc.Arbitrary<Uint8Array> = fc.uint8Array({ maxLength: 40 });
const versionArbitrary: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1, max: 1000 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
);

type Operation =
  | { op: 'put'; key: Uint8Array; value: Uint8Array; version: number }
  | { op: 'get'; key: Uint8Array }
  | { op: 'delete'; key: Uint8Array }
  | { op: 'scan'; start: Uint8Array; end: Uint8Array | null; limit: number }
  | { op: 'entries' }
  | { op: 'clear' };

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('put' as const), key: keyArbitrary, value: valueArbitrary, version: versionArbitrary }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('get' as const), key: keyArbitrary }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArbitrary }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('scan' as const),
      start: keyArbitrary,
      end: fc.option(keyArbitrary, { nil: null }),
      limit: fc.integer({ min: 0, max: 12 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('entries' as const) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

export function orderedMapContract(
  name: string,
  factory: () => OrderedMap | Promise<OrderedMap>,
  options: OrderedMapContractOptions = {},
): void {
  const numRuns = options.numRuns ?? 100;

  async function withMap(body: (map: OrderedMap) => void | Promise<void>): Promise<void> {
    const map = await factory();
    try {
      await body(map);
    } finally {
      if (options.cleanup !== undefined) await options.cleanup(map);
    }
  }

  describe(`OrderedMap contract: ${name}`, () => {
    test('a new map is empty', () =>
      withMap((map) => {
        assert.equal(map.size, 0);
        assert.equal(map.get(text('a')), undefined);
        assert.equal(map.get(new Uint8Array(0)), undefined);
        assert.deepEqual(map.scan(new Uint8Array(0), null, 10), []);
        assert.deepEqual([...map.entries()], []);
        assert.equal(map.delete(text('a')), ABSENT);
      }));

    test('put then get returns the value and its version; put replaces both', () =>
      withMap((map) => {
        map.put(text('k'), text('v1'), 5);
        assert.deepEqual(plainValue(map.get(text('k'))), { value: hex(text('v1')), version: 5 });
        map.put(text('k'), text('second'), 9);
        assert.deepEqual(plainValue(map.get(text('k'))), { value: hex(text('second')), version: 9 });
        assert.equal(map.size, 1);
      }));

    test('the empty key and the empty value are ordinary entries', () =>
      withMap((map) => {
        map.put(new Uint8Array(0), new Uint8Array(0), 1);
        map.put(bytes(0x00), text('x'), 2);
        assert.deepEqual(plainValue(map.get(new Uint8Array(0))), { value: '', version: 1 });
        assert.deepEqual(
          map.scan(new Uint8Array(0), null, 10).map((p) => hex(p.key)),
          ['', '00'],
        );
        assert.equal(map.delete(new Uint8Array(0)), 0);
        assert.equal(map.get(new Uint8Array(0)), undefined);
        assert.equal(map.size, 1);
      }));

    test('versions up to Number.MAX_SAFE_INTEGER are kept exactly', () =>
      withMap((map) => {
        const versions = [1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER];
        versions.forEach((version, i) => map.put(bytes(i), text('v'), version));
        assert.deepEqual(
          [...map.entries()].map((p) => p.version),
          versions,
        );
        versions.forEach((version, i) => assert.equal(map.get(bytes(i))?.version, version));
      }));

    test('keys compare as unsigned bytes, a prefix before its extensions', () =>
      withMap((map) => {
        const keys = [bytes(0xff), bytes(0x80), bytes(0x7f), bytes(0x00), bytes(0x7f, 0x00), bytes(0x7f, 0xff), bytes(0x01), bytes(0xff, 0xff)];
        keys.forEach((key, i) => map.put(key, bytes(i), i + 1));
        assert.deepEqual(
          [...map.entries()].map((p) => hex(p.key)),
          ['00', '01', '7f', '7f00', '7fff', '80', 'ff', 'ffff'],
        );
      }));

    test('keys equal but for trailing zero bytes, or differing only past byte 8 or 16, are distinct and ordered', () =>
      withMap((map) => {
        const zeros = (n: number): number[] => new Array<number>(n).fill(0);
        const keys = [
          bytes(...zeros(8)),
          bytes(...zeros(7)),
          bytes(...zeros(16)),
          bytes(...zeros(17)),
          bytes(...zeros(15), 1),
          bytes(...zeros(16), 1),
          bytes(...zeros(8), 0xff),
          bytes(...zeros(8), 0x7f, 0xff),
          bytes(...zeros(12), 0x80),
          bytes(...zeros(20), 0x01),
          bytes(...zeros(20)),
        ];
        keys.forEach((key, i) => map.put(key, bytes(i), i + 1));
        assert.equal(map.size, keys.length);
        const sorted = keys.map(hex).sort();
        assert.deepEqual([...map.entries()].map((p) => hex(p.key)), sorted);
        keys.forEach((key, i) => assert.equal(map.get(key)?.version, i + 1, hex(key)));
        assert.equal(map.get(bytes(...zeros(9))), undefined);
        assert.equal(map.delete(bytes(...zeros(18))), ABSENT);
        assert.deepEqual(map.scan(bytes(...zeros(16)), bytes(...zeros(17)), 10).map((p) => hex(p.key)), [hex(bytes(...zeros(16)))]);
      }));

    test('the map copies keys and values it is given', () =>
      withMap((map) => {
        const key = text('key');
        const value = text('value');
        map.put(key, value, 3);
        key[0] = 0x00;
        value[0] = 0x00;
        assert.equal(map.get(key), undefined);
        assert.deepEqual(plainValue(map.get(text('key'))), { value: hex(text('value')), version: 3 });
        // A view into a larger buffer is copied by its own bounds only.
        const backing = text('xxabcyy');
        map.put(backing.subarray(2, 5), backing.subarray(0, 2), 4);
        assert.deepEqual(plainValue(map.get(text('abc'))), { value: hex(text('xx')), version: 4 });
      }));

    test('results already returned do not change when the map is written later', () =>
      withMap((map) => {
        map.put(text('a'), text('old-a'), 1);
        map.put(text('b'), text('old-b'), 2);
        const got = map.get(text('a'));
        const scanned = map.scan(text('a'), null, 10);
        const listed = [...map.entries()];
        map.put(text('a'), text('new-a'), 3);
        map.put(text('b'), text('nb'), 4);
        map.delete(text('a'));
        map.put(text('c'), text('new-c'), 5);
        assert.deepEqual(plainValue(got), { value: hex(text('old-a')), version: 1 });
        const expected = [
          { key: hex(text('a')), value: hex(text('old-a')), version: 1 },
          { key: hex(text('b')), value: hex(text('old-b')), version: 2 },
        ];
        assert.deepEqual(plainPairs(scanned), expected);
        assert.deepEqual(plainPairs(listed), expected);
      }));

    test('delete reports the removed value\'s length (ABSENT if the key was not there) and removes only that key', () =>
      withMap((map) => {
        map.put(text('a'), text('1'), 1);
        map.put(text('ab'), text('2'), 2);
        assert.equal(map.delete(text('b')), ABSENT);
        assert.equal(map.delete(text('a')), 1);
        assert.equal(map.delete(text('a')), ABSENT);
        assert.equal(map.size, 1);
        assert.deepEqual(plainValue(map.get(text('ab'))), { value: hex(text('2')), version: 2 });
      }));

    test('scan: start inclusive, end exclusive, null end unbounded, limit honoured', () =>
      withMap((map) => {
        for (const k of ['a', 'b', 'c', 'd', 'e']) map.put(text(k), text(k.toUpperCase()), k.charCodeAt(0));
        const keysOf = (pairs: KeyValueVersion[]): string[] => pairs.map((p) => Buffer.from(p.key).toString());
        assert.deepEqual(keysOf(map.scan(text('b'), text('d'), 10)), ['b', 'c']);
        assert.deepEqual(keysOf(map.scan(text('bb'), null, 10)), ['c', 'd', 'e']);
        assert.deepEqual(keysOf(map.scan(text('a'), null, 2)), ['a', 'b']);
        assert.deepEqual(keysOf(map.scan(text('a'), null, 0)), []);
        assert.deepEqual(keysOf(map.scan(text('c'), text('c'), 10)), []);
        assert.deepEqual(keysOf(map.scan(text('d'), text('b'), 10)), []);
        assert.deepEqual(keysOf(map.scan(text('f'), null, 10)), []);
        const [first] = map.scan(text('c'), null, 1);
        assert.deepEqual(first === undefined ? undefined : plainPairs([first]), [{ key: hex(text('c')), value: hex(text('C')), version: 99 }]);
      }));

    test('clear empties the map and it is usable afterwards', () =>
      withMap((map) => {
        for (let i = 0; i < 100; i++) map.put(bytes(i, i), bytes(i), i + 1);
        map.clear();
        assert.equal(map.size, 0);
        assert.deepEqual([...map.entries()], []);
        assert.equal(map.get(bytes(5, 5)), undefined);
        map.put(bytes(7), bytes(7), 1);
        assert.equal(map.size, 1);
        assert.deepEqual([...map.entries()].map((p) => hex(p.key)), ['07']);
      }));

    test('thousands of keys inserted in shuffled order come back sorted, and deletes keep order', () =>
      withMap((map) => {
        const count = 3000;
        const keys = Array.from({ length: count }, (_, i) => {
          const key = Buffer.alloc(4);
          key.writeUInt32BE(Math.imul(i, 2654435761) >>> 0); // a fixed permutation of 0..2^32
          return new Uint8Array(key);
        });
        keys.forEach((key, i) => map.put(key, bytes(i & 0xff), i + 1));
        assert.equal(map.size, count);
        const sortedHex = keys.map(hex).sort();
        assert.deepEqual([...map.entries()].map((p) => hex(p.key)), sortedHex);
        for (let i = 0; i < count; i += 2) assert.notEqual(map.delete(keys[i]!), ABSENT);
        assert.equal(map.size, count / 2);
        const remaining = keys.filter((_, i) => i % 2 === 1).map(hex).sort();
        assert.deepEqual([...map.entries()].map((p) => hex(p.key)), remaining);
        for (let i = 1; i < count; i += 2) assert.equal(map.get(keys[i]!)?.version, i + 1);
      }));

    test('model-based: random put/get/delete/scan/entries/clear sequences agree with a sorted Map', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(operationArbitrary, { maxLength: 80 }), async (operations) => {
          await withMap((map) => {
            const model = new ModelMap();
            operations.forEach((operation, step) => {
              const where = `step ${step} (${operation.op})`;
              switch (operation.op) {
                case 'put':
                  assert.equal(map.put(operation.key, operation.value, operation.version), model.put(operation.key, operation.value, operation.version), where);
                  break;
                case 'get':
                  assert.deepEqual(plainValue(map.get(operation.key)), plainValue(model.get(operation.key)), where);
                  break;
                case 'delete':
                  assert.equal(map.delete(operation.key), model.delete(operation.key), where);
                  break;
                case 'scan':
                  assert.deepEqual(
                    plainPairs(map.scan(operation.start, operation.end, operation.limit)),
                    plainPairs(model.scan(operation.start, operation.end, operation.limit)),
                    where,
                  );
                  break;
                case 'entries':
                  assert.deepEqual(plainPairs([...map.entries()]), plainPairs(model.sorted()), where);
                  break;
                case 'clear':
                  map.clear();
                  model.clear();
                  break;
              }
              assert.equal(map.size, model.size, `${where}: size`);
            });
            assert.deepEqual(plainPairs([...map.entries()]), plainPairs(model.sorted()), 'final contents');
          });
        }),
        { numRuns },
      );
    });
  });
}

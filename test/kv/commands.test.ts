import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  KvDecodeError,
  type KvCommand,
  type KvRequest,
  type KvResponse,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../src/kv/commands.js';

const bytesArbitrary = fc.uint8Array({ maxLength: 32 });
const safeId = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const commandArbitrary: fc.Arbitrary<KvCommand> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: bytesArbitrary, value: bytesArbitrary }),
  fc.record({ type: fc.constant('get' as const), key: bytesArbitrary }),
  fc.record({ type: fc.constant('delete' as const), key: bytesArbitrary }),
  fc.record({
    type: fc.constant('cas' as const),
    key: bytesArbitrary,
    expectedVersion: fc.oneof(fc.constant(0), safeId),
    value: bytesArbitrary,
  }),
  fc.record({
    type: fc.constant('scan' as const),
    start: bytesArbitrary,
    end: fc.option(bytesArbitrary, { nil: null }),
    limit: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  }),
);
const requestArbitrary: fc.Arbitrary<KvRequest> = fc.record({ clientId: safeId, sequence: safeId, command: commandArbitrary });
const responseArbitrary: fc.Arbitrary<KvResponse> = fc.oneof(
  fc.record({ type: fc.constant('ok' as const), version: safeId }),
  fc.record({ type: fc.constant('value' as const), value: bytesArbitrary, version: safeId }),
  fc.constant({ type: 'not-found' as const }),
  fc.record({ type: fc.constant('cas-mismatch' as const), currentVersion: fc.oneof(fc.constant(0), safeId) }),
  fc.record({
    type: fc.constant('scan' as const),
    items: fc.array(fc.record({ key: bytesArbitrary, value: bytesArbitrary, version: safeId }), { maxLength: 5 }),
    hasMore: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('error' as const),
    code: fc.constantFrom('malformed-request' as const, 'key-too-large' as const, 'value-too-large' as const, 'scan-limit-too-large' as const, 'stale-request' as const),
    reason: fc.string({ maxLength: 40 }),
  }),
);

/** Turns byte arrays into hex strings so deepEqual compares contents, not Buffer vs Uint8Array. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `hex:${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function decodeError(run: () => unknown): KvDecodeError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof KvDecodeError, `expected KvDecodeError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a KvDecodeError, but decoding succeeded');
}

describe('commands: binary request and response encoding', () => {
  test('requests round-trip', () => {
    fc.assert(
      fc.property(requestArbitrary, (request) => {
        assert.deepEqual(plain(decodeRequest(encodeRequest(request))), plain(request));
      }),
      { numRuns: 300 },
    );
  });

  test('responses round-trip', () => {
    fc.assert(
      fc.property(responseArbitrary, (response) => {
        assert.deepEqual(plain(decodeResponse(encodeResponse(response))), plain(response));
      }),
      { numRuns: 300 },
    );
  });

  test('the header layout is as documented: version, operation, clientId, sequence (little-endian)', () => {
    const bytes = encodeRequest({ clientId: 0x0102030405, sequence: 7, command: { type: 'get', key: Uint8Array.of(0xaa) } });
    assert.equal(Buffer.from(bytes).toString('hex'), '01' + '02' + '0504030201000000' + '0700000000000000' + '01000000' + 'aa');
    assert.deepEqual(decodeRequestHeader(bytes), { clientId: 0x0102030405, sequence: 7 });
  });

  test('every truncation of a valid request is a KvDecodeError naming a field and an offset inside the input', () => {
    fc.assert(
      fc.property(requestArbitrary, fc.nat(), (request, cut) => {
        const bytes = encodeRequest(request);
        const length = cut % bytes.length;
        const error = decodeError(() => decodeRequest(bytes.subarray(0, length)));
        assert.ok(error.offset <= length, `offset ${error.offset} beyond the ${length} input bytes`);
        assert.match(error.message, /^malformed request: .+ at byte \d+: /);
      }),
      { numRuns: 300 },
    );
  });

  test('trailing bytes after a request are refused at the byte where they start', () => {
    const bytes = encodeRequest({ clientId: 1, sequence: 1, command: { type: 'delete', key: Uint8Array.of(1, 2) } });
    const error = decodeError(() => decodeRequest(Buffer.concat([bytes, Uint8Array.of(0)])));
    assert.equal(error.field, 'end');
    assert.equal(error.offset, bytes.length);
  });

  test('specific malformations name their field and offset', () => {
    const valid = Buffer.from(encodeRequest({ clientId: 9, sequence: 3, command: { type: 'scan', start: Uint8Array.of(1), end: null, limit: 5 } }));
    const mutate = (at: number, value: number): Buffer => {
      const copy = Buffer.from(valid);
      copy[at] = value;
      return copy;
    };
    const cases: [Buffer, string, number][] = [
      [mutate(0, 2), 'format version', 0],
      [mutate(1, 9), 'operation', 1],
      [mutate(1, 0), 'operation', 1],
      [mutate(9, 0x20), 'clientId', 2], // high word ≥ 2^21: not a safe integer
      [(() => { const b = Buffer.from(valid); b.fill(0, 2, 10); return b; })(), 'clientId', 2],
      [(() => { const b = Buffer.from(valid); b.fill(0, 10, 18); return b; })(), 'sequence', 10],
      [mutate(22, 0xff), 'start length', 22], // start length becomes 0x000000ff + …
      [mutate(valid.length - 1, 2), 'hasEnd', valid.length - 1],
    ];
    for (const [bytes, field, offset] of cases) {
      const error = decodeError(() => decodeRequest(bytes));
      assert.equal(error.field, field, error.message);
      assert.equal(error.offset, offset, error.message);
    }
  });

  test('random bytes never throw anything but KvDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        for (const decode of [decodeRequest, decodeResponse]) {
          try {
            decode(bytes);
          } catch (error) {
            assert.ok(error instanceof KvDecodeError, String(error));
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a scan response whose count cannot fit is refused before looping', () => {
    const bytes = Buffer.from([1, 5, 0, 0xff, 0xff, 0xff, 0xff]);
    const error = decodeError(() => decodeResponse(bytes));
    assert.equal(error.field, 'count');
    assert.equal(error.offset, 3);
  });

  test('encodeRequest refuses ids and versions that are not safe integers', () => {
    const get: KvCommand = { type: 'get', key: Uint8Array.of(1) };
    assert.throws(() => encodeRequest({ clientId: 0, sequence: 1, command: get }), /clientId/);
    assert.throws(() => encodeRequest({ clientId: 1, sequence: 2 ** 53, command: get }), /sequence/);
    assert.throws(() => encodeRequest({ clientId: 1, sequence: 1, command: { type: 'cas', key: Uint8Array.of(1), value: Uint8Array.of(1), expectedVersion: -1 } }), /expectedVersion/);
    assert.throws(() => encodeRequest({ clientId: 1, sequence: 1, command: { type: 'scan', start: Uint8Array.of(), end: null, limit: 2 ** 32 } }), /limit/);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  KvDecodeError,
  type KvCommand,
  type KvErrorCode,
  type KvRequest,
  type KvResponse,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  okResponseVersion,
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
const sessionRequestArbitrary: fc.Arbitrary<KvRequest> = fc
  .record({ sessionId: safeId, sequence: safeId, acknowledged: fc.nat(), command: commandArbitrary })
  .map(({ sessionId, sequence, acknowledged, command }) => ({
    type: 'command' as const,
    sessionId,
    sequence,
    lowestUnacknowledged: 1 + (acknowledged % sequence),
    command,
  }));
const requestArbitrary: fc.Arbitrary<KvRequest> = fc.oneof(
  { weight: 9, arbitrary: sessionRequestArbitrary },
  { weight: 1, arbitrary: fc.constant({ type: 'register-session' as const }) },
);
const errorCodes: KvErrorCode[] = [
  'malformed-request',
  'key-too-large',
  'value-too-large',
  'scan-limit-too-large',
  'stale-request',
  'store-full',
  'session-expired',
  'too-many-unacknowledged',
];
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
    code: fc.constantFrom(...errorCodes),
    reason: fc.string({ maxLength: 40 }),
  }),
  fc.record({ type: fc.constant('session-registered' as const), sessionId: safeId }),
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

  test('the header layout is as documented: version, operation, sessionId, sequence, lowestUnacknowledged (little-endian)', () => {
    const bytes = encodeRequest({ type: 'command', sessionId: 0x0102030405, sequence: 7, lowestUnacknowledged: 5, command: { type: 'get', key: Uint8Array.of(0xaa) } });
    assert.equal(Buffer.from(bytes).toString('hex'), '02' + '02' + '0504030201000000' + '0700000000000000' + '0500000000000000' + '01000000' + 'aa');
    assert.deepEqual(decodeRequestHeader(bytes), { sessionId: 0x0102030405, sequence: 7 });
  });

  test('register-session is two bytes, version and operation, with no session to attribute', () => {
    const bytes = encodeRequest({ type: 'register-session' });
    assert.equal(Buffer.from(bytes).toString('hex'), '0206');
    assert.deepEqual(decodeRequest(bytes), { type: 'register-session' });
    assert.equal(decodeRequestHeader(bytes), null);
    const trailing = decodeError(() => decodeRequest(Uint8Array.of(2, 6, 0)));
    assert.deepEqual([trailing.field, trailing.offset], ['end', 2]);
    assert.equal(Buffer.from(encodeResponse({ type: 'session-registered', sessionId: 0x0102 })).toString('hex'), '0207' + '0201000000000000');
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
    const bytes = encodeRequest({ type: 'command', sessionId: 1, sequence: 1, lowestUnacknowledged: 1, command: { type: 'delete', key: Uint8Array.of(1, 2) } });
    const error = decodeError(() => decodeRequest(Buffer.concat([bytes, Uint8Array.of(0)])));
    assert.equal(error.field, 'end');
    assert.equal(error.offset, bytes.length);
  });

  test('specific malformations name their field and offset', () => {
    const valid = Buffer.from(
      encodeRequest({ type: 'command', sessionId: 9, sequence: 3, lowestUnacknowledged: 2, command: { type: 'scan', start: Uint8Array.of(1), end: null, limit: 5 } }),
    );
    const mutate = (at: number, value: number): Buffer => {
      const copy = Buffer.from(valid);
      copy[at] = value;
      return copy;
    };
    const zeroed = (from: number, to: number): Buffer => Buffer.from(valid).fill(0, from, to);
    const cases: [Buffer, string, number][] = [
      [mutate(0, 3), 'format version', 0],
      [mutate(1, 9), 'operation', 1],
      [mutate(1, 0), 'operation', 1],
      [mutate(9, 0x20), 'sessionId', 2], // high word ≥ 2^21: not a safe integer
      [zeroed(2, 10), 'sessionId', 2],
      [zeroed(10, 18), 'sequence', 10],
      [zeroed(18, 26), 'lowestUnacknowledged', 18],
      [mutate(18, 4), 'lowestUnacknowledged', 18], // 4 > sequence 3: the request itself would be acknowledged
      [mutate(30, 0xff), 'start length', 30], // start length becomes 0x000000ff + …
      [mutate(valid.length - 1, 2), 'hasEnd', valid.length - 1],
    ];
    for (const [bytes, field, offset] of cases) {
      const error = decodeError(() => decodeRequest(bytes));
      assert.equal(error.field, field, error.message);
      assert.equal(error.offset, offset, error.message);
    }
  });

  test('a version-1 request (clientId, no registered session) is refused naming the version', () => {
    // The version-1 layout: version, operation, u64 clientId, u64 sequence, body.
    const version1 = Buffer.from('01' + '02' + '0100000000000000' + '0100000000000000' + '01000000' + 'aa', 'hex');
    const error = decodeError(() => decodeRequest(version1));
    assert.deepEqual([error.field, error.offset], ['format version', 0]);
    assert.match(error.message, /unsupported version 1 .*this build reads 2/);
    assert.equal(decodeRequestHeader(version1), null);
  });

  test('okResponseVersion reads the version of an ok response and refuses every other response', () => {
    fc.assert(
      fc.property(responseArbitrary, (response) => {
        const version = okResponseVersion(encodeResponse(response));
        assert.equal(version, response.type === 'ok' ? response.version : -1);
      }),
      { numRuns: 300 },
    );
    assert.equal(okResponseVersion(encodeResponse({ type: 'ok', version: Number.MAX_SAFE_INTEGER })), Number.MAX_SAFE_INTEGER);
    assert.equal(okResponseVersion(Uint8Array.of(1, 1, 5, 0, 0, 0, 0, 0, 0, 0)), -1, 'a version-1 ok is not read as one');
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
    const bytes = Buffer.from([2, 5, 0, 0xff, 0xff, 0xff, 0xff]);
    const error = decodeError(() => decodeResponse(bytes));
    assert.equal(error.field, 'count');
    assert.equal(error.offset, 3);
  });

  test('encodeRequest refuses ids and versions that are not safe integers, and an acknowledgement beyond the request', () => {
    const get: KvCommand = { type: 'get', key: Uint8Array.of(1) };
    const request = (sessionId: number, sequence: number, lowestUnacknowledged: number, command: KvCommand = get): KvRequest => ({ type: 'command', sessionId, sequence, lowestUnacknowledged, command });
    assert.throws(() => encodeRequest(request(0, 1, 1)), /sessionId/);
    assert.throws(() => encodeRequest(request(1, 2 ** 53, 1)), /sequence/);
    assert.throws(() => encodeRequest(request(1, 1, 0)), /lowestUnacknowledged must be a safe integer ≥ 1/);
    assert.throws(() => encodeRequest(request(1, 3, 4)), /lowestUnacknowledged \(4\) must be ≤ sequence \(3\)/);
    assert.throws(() => encodeRequest(request(1, 1, 1, { type: 'cas', key: Uint8Array.of(1), value: Uint8Array.of(1), expectedVersion: -1 })), /expectedVersion/);
    assert.throws(() => encodeRequest(request(1, 1, 1, { type: 'scan', start: Uint8Array.of(), end: null, limit: 2 ** 32 })), /limit/);
    assert.throws(() => encodeResponse({ type: 'session-registered', sessionId: 0 }), /sessionId/);
  });
});

// The read-command encoding (a get or scan without a session, for the client protocols): it
// round-trips, shares its body layout with session requests, and refuses anything but a read.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeReadCommand, encodeReadCommand, encodeRequest, KvDecodeError, REQUEST_HEADER_BYTES, type KvReadCommand } from '../../src/kv/commands.js';

const bytes = fc.uint8Array({ maxLength: 32 });
const readCommand: fc.Arbitrary<KvReadCommand> = fc.oneof(
  fc.record({ type: fc.constant('get' as const), key: bytes }),
  fc.record({ type: fc.constant('scan' as const), start: bytes, end: fc.option(bytes, { nil: null }), limit: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
);
const plain = (command: KvReadCommand): unknown =>
  command.type === 'get' ? { type: 'get', key: [...command.key] } : { ...command, start: [...command.start], end: command.end === null ? null : [...command.end] };

test('read commands round-trip, and their body is the session request body', () => {
  fc.assert(
    fc.property(readCommand, (command) => {
      const encoded = encodeReadCommand(command);
      assert.deepEqual(plain(decodeReadCommand(encoded)), plain(command));
      const request = encodeRequest({ type: 'command', sessionId: 1, sequence: 1, lowestUnacknowledged: 1, command });
      assert.deepEqual([...encoded.subarray(2)], [...request.subarray(REQUEST_HEADER_BYTES)]);
      assert.equal(encoded[1], request[1], 'the same operation code');
    }),
    { numRuns: 300 },
  );
});

test('a read command refuses writes, register-session, truncation and trailing bytes, naming the field', () => {
  const put = encodeRequest({ type: 'command', sessionId: 1, sequence: 1, lowestUnacknowledged: 1, command: { type: 'put', key: new Uint8Array([1]), value: new Uint8Array([2]) } });
  assert.throws(() => decodeReadCommand(Buffer.concat([put.subarray(0, 2), put.subarray(REQUEST_HEADER_BYTES)])), (error: unknown) => error instanceof KvDecodeError && error.field === 'operation');
  assert.throws(() => decodeReadCommand(encodeRequest({ type: 'register-session' })), (error: unknown) => error instanceof KvDecodeError && error.field === 'operation');
  const get = encodeReadCommand({ type: 'get', key: new Uint8Array([1, 2, 3]) });
  for (let length = 0; length < get.length; length++) assert.throws(() => decodeReadCommand(get.subarray(0, length)), KvDecodeError, `cut at ${length}`);
  assert.throws(() => decodeReadCommand(Buffer.concat([get, Buffer.from([0])])), (error: unknown) => error instanceof KvDecodeError && error.field === 'end');
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Entry } from '../../src/raft/types.js';
import { createPrng } from '../../src/random/prng.js';
import { SkipList } from '../../src/kv/skiplist.js';
import { KvStateMachine, StateMachineOrderError, type ApplyResult, type KvLimits } from '../../src/kv/state-machine.js';
import { decodeResponse, type KvCommand, type KvResponse } from '../../src/kv/commands.js';
import { decodeSnapshot } from '../../src/kv/snapshot-format.js';
import { collect, hex, noopEntry, plain, requestEntry, responseOf, text } from './kv-test-support.js';

// Small limits so random logs hit every limit error (dataBytesMax included: the store fills up).
const SMALL_LIMITS: KvLimits = { keyBytesMax: 4, valueBytesMax: 8, scanLimitMax: 5, scanResponseBytesMax: 60, dataBytesMax: 20 };

function newMachine(seed: number, limits: Partial<KvLimits> = SMALL_LIMITS, sessionLimits = {}): KvStateMachine {
  return new KvStateMachine(new SkipList(createPrng(seed)), { limits, sessionLimits });
}

type ModelPair = { key: Uint8Array; value: Uint8Array; version: number };

/** An independent reference: the semantics written as plainly as possible, sessions unbounded. */
class ModelKv {
  readonly data = new Map<string, ModelPair>();
  readonly sessions = new Map<number, { sequence: number; response: KvResponse }>();
  constructor(readonly limits: KvLimits) {}

  sorted(): ModelPair[] {
    return [...this.data.values()].sort((a, b) => Buffer.compare(a.key, b.key));
  }
  /** Keys plus values held if `key` were set to `value`, summed afresh. */
  dataBytesWith(key: Uint8Array, value: Uint8Array): number {
    let bytes = key.length + value.length;
    for (const [hexKey, pair] of this.data) if (hexKey !== hex(key)) bytes += pair.key.length + pair.value.length;
    return bytes;
  }
  version(key: Uint8Array): number {
    return this.data.get(hex(key))?.version ?? 0;
  }

  apply(index: number, clientId: number, sequence: number, command: KvCommand): KvResponse {
    const session = this.sessions.get(clientId);
    if (session !== undefined && sequence === session.sequence) return session.response;
    if (session !== undefined && sequence < session.sequence) return { type: 'error', code: 'stale-request', reason: '' };
    const response = this.execute(index, command);
    this.sessions.set(clientId, { sequence, response });
    return response;
  }

  private execute(index: number, command: KvCommand): KvResponse {
    const { keyBytesMax, valueBytesMax, scanLimitMax, scanResponseBytesMax } = this.limits;
    const keyTooLarge: KvResponse = { type: 'error', code: 'key-too-large', reason: '' };
    const valueTooLarge: KvResponse = { type: 'error', code: 'value-too-large', reason: '' };
    switch (command.type) {
      case 'put':
      case 'cas':
        if (command.key.length > keyBytesMax) return keyTooLarge;
        if (command.value.length > valueBytesMax) return valueTooLarge;
        if (command.type === 'cas' && this.version(command.key) !== command.expectedVersion) {
          return { type: 'cas-mismatch', currentVersion: this.version(command.key) };
        }
        if (this.dataBytesWith(command.key, command.value) > this.limits.dataBytesMax) return { type: 'error', code: 'store-full', reason: '' };
        this.data.set(hex(command.key), { key: command.key, value: command.value, version: index });
        return { type: 'ok', version: index };
      case 'get': {
        if (command.key.length > keyBytesMax) return keyTooLarge;
        const found = this.data.get(hex(command.key));
        return found === undefined ? { type: 'not-found' } : { type: 'value', value: found.value, version: found.version };
      }
      case 'delete':
        if (command.key.length > keyBytesMax) return keyTooLarge;
        return this.data.delete(hex(command.key)) ? { type: 'ok', version: index } : { type: 'not-found' };
      case 'scan': {
        if (command.start.length > keyBytesMax || (command.end !== null && command.end.length > keyBytesMax)) return keyTooLarge;
        if (command.limit > scanLimitMax) return { type: 'error', code: 'scan-limit-too-large', reason: '' };
        const inRange = this.sorted().filter(
          (p) => Buffer.compare(p.key, command.start) >= 0 && (command.end === null || Buffer.compare(p.key, command.end) < 0),
        );
        const items: ModelPair[] = [];
        let bytes = 0;
        for (const pair of inRange) {
          if (items.length === command.limit || (items.length > 0 && bytes >= scanResponseBytesMax)) break;
          items.push(pair);
          bytes += 16 + pair.key.length + pair.value.length;
        }
        return { type: 'scan', items, hasMore: items.length < inRange.length };
      }
    }
  }
}

/** Error reasons are prose; compare their codes. */
function comparable(response: KvResponse): unknown {
  return plain(response.type === 'error' ? { type: 'error', code: response.code } : response);
}

const keyArbitrary = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('', 'a', 'b', 'ab', 'c', 'zz').map(text) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 3, maxLength: 6 }) },
);
const valueArbitrary = fc.uint8Array({ maxLength: 10 });
type CommandSketch =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'get'; key: Uint8Array }
  | { type: 'delete'; key: Uint8Array }
  | { type: 'cas'; key: Uint8Array; value: Uint8Array; expected: 'current' | number }
  | { type: 'scan'; start: Uint8Array; end: Uint8Array | null; limit: number };
const commandArbitrary: fc.Arbitrary<CommandSketch> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('put' as const), key: keyArbitrary, value: valueArbitrary }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('get' as const), key: keyArbitrary }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('delete' as const), key: keyArbitrary }) },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('cas' as const),
      key: keyArbitrary,
      value: valueArbitrary,
      expected: fc.oneof(fc.constant('current' as const), fc.constant(0), fc.integer({ min: 1, max: 40 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('scan' as const),
      start: keyArbitrary,
      end: fc.option(keyArbitrary, { nil: null }),
      limit: fc.integer({ min: 0, max: 7 }),
    }),
  },
);
type Step =
  | { step: 'new'; client: number; command: CommandSketch }
  | { step: 'retry'; client: number }
  | { step: 'stale'; client: number }
  | { step: 'noop' }
  | { step: 'garbage'; bytes: Uint8Array };
const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ step: fc.constant('new' as const), client: fc.integer({ min: 1, max: 4 }), command: commandArbitrary }) },
  { weight: 2, arbitrary: fc.record({ step: fc.constant('retry' as const), client: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('stale' as const), client: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ step: 'noop' as const }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 30 }) }) },
);

/** Builds the log from the steps, and the responses the model expects (null for a no-op). */
function buildLog(steps: readonly Step[], limits: KvLimits): { log: Entry[]; expected: (KvResponse | 'malformed' | null)[]; model: ModelKv } {
  const model = new ModelKv(limits);
  const lastRequest = new Map<number, { sequence: number; command: KvCommand }>();
  const log: Entry[] = [];
  const expected: (KvResponse | 'malformed' | null)[] = [];
  for (const step of steps) {
    const index = log.length + 1;
    if (step.step === 'noop') {
      log.push(noopEntry(index));
      expected.push(null);
      continue;
    }
    if (step.step === 'garbage') {
      // Byte 0 = 2 is an unsupported format version, so garbage can never decode as a valid request.
      const data = Uint8Array.from([2, ...step.bytes]);
      log.push({ term: 1, index, data });
      expected.push('malformed');
      continue;
    }
    let sequence: number;
    let command: KvCommand;
    const last = lastRequest.get(step.client);
    if (step.step === 'new') {
      sequence = (last?.sequence ?? 0) + 1;
      const sketch = step.command;
      command = sketch.type === 'cas'
        ? { type: 'cas', key: sketch.key, value: sketch.value, expectedVersion: sketch.expected === 'current' ? model.version(sketch.key) : sketch.expected }
        : sketch;
      lastRequest.set(step.client, { sequence, command });
    } else if (last === undefined || (step.step === 'stale' && last.sequence < 2)) {
      log.push(noopEntry(index));
      expected.push(null);
      continue;
    } else {
      sequence = step.step === 'retry' ? last.sequence : last.sequence - 1;
      command = last.command;
    }
    log.push(requestEntry(index, step.client, sequence, command));
    expected.push(model.apply(index, step.client, sequence, command));
  }
  return { log, expected, model };
}

async function snapshotBytes(machine: KvStateMachine, chunkBytes?: number): Promise<string> {
  return hex(Buffer.concat(await collect(machine.snapshot(chunkBytes))));
}

describe('KvStateMachine', () => {
  test('model-based: random logs (with retries, stale requests, no-ops, garbage) agree with a plain model', () => {
    fc.assert(
      fc.property(fc.array(stepArbitrary, { maxLength: 60 }), (steps) => {
        const { log, expected, model } = buildLog(steps, SMALL_LIMITS);
        const machine = newMachine(1);
        log.forEach((entry, i) => {
          const result = machine.apply(entry);
          const want = expected[i];
          assert.ok(want !== undefined);
          if (want === null) {
            assert.equal(result.type, 'noop', `index ${entry.index}`);
          } else if (want === 'malformed') {
            const got = responseOf(result);
            assert.equal(got.type === 'error' && got.code, 'malformed-request', `index ${entry.index}`);
          } else {
            assert.deepEqual(comparable(responseOf(result)), comparable(want), `index ${entry.index}`);
          }
        });
        assert.equal(machine.lastAppliedIndex, log.length);
        const fromMachine = machine.read({ type: 'scan', start: new Uint8Array(0), end: null, limit: SMALL_LIMITS.scanLimitMax });
        const fromModel = model.sorted().slice(0, SMALL_LIMITS.scanLimitMax);
        assert.equal(fromMachine.type, 'scan');
        if (fromMachine.type === 'scan') assert.deepEqual(plain(fromMachine.items.slice(0, fromModel.length)), plain(fromModel.slice(0, fromMachine.items.length)));
        assert.equal(machine.keyCount, model.data.size);
      }),
      { numRuns: 150 },
    );
  });

  test('the same log on two machines (different skip list seeds) gives identical responses and snapshots; restore round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArbitrary, { maxLength: 60 }), fc.array(stepArbitrary, { maxLength: 20 }), async (steps, laterSteps) => {
        const { log, model } = buildLog([...steps, ...laterSteps], SMALL_LIMITS);
        const cut = Math.min(steps.length, log.length);
        const first = newMachine(11);
        const second = newMachine(22);
        for (const entry of log.slice(0, cut)) assert.deepEqual(plain(first.apply(entry)), plain(second.apply(entry)));
        const snapshot = await snapshotBytes(first, 64);
        assert.equal(await snapshotBytes(second, 64), snapshot);

        // Restore into a fresh machine: same snapshot back, and the same answers to the rest of the log,
        // including retries of requests applied before the snapshot (the sessions came along).
        const restored = newMachine(33);
        await restored.restore(first.snapshot(100));
        assert.equal(restored.lastAppliedIndex, first.lastAppliedIndex);
        assert.equal(await snapshotBytes(restored, 64), snapshot);
        for (const entry of log.slice(cut)) assert.deepEqual(plain(restored.apply(entry)), plain(first.apply(entry)));
        assert.equal(restored.keyCount, model.data.size);
        assert.equal(await snapshotBytes(restored), await snapshotBytes(first));
        // And the restored data is exactly the model's.
        const decoded = await decodeSnapshot(restored.snapshot(), { keyBytesMax: 4, valueBytesMax: 8, responseBytesMax: 1 << 16 });
        assert.deepEqual(plain(decoded.pairs), plain(model.sorted()));
      }),
      { numRuns: 60 },
    );
  });

  test('a retried request is answered from the session, not applied twice', () => {
    const machine = newMachine(1);
    const put = requestEntry(1, 7, 1, { type: 'put', key: text('k'), value: text('v1') });
    const first = machine.apply(put);
    machine.apply(requestEntry(2, 8, 1, { type: 'put', key: text('k'), value: text('v2') }));
    const retry = machine.apply({ ...put, index: 3 });
    assert.equal(retry.type === 'response' && retry.origin, 'session');
    assert.deepEqual(plain(responseOf(retry)), plain(responseOf(first)));
    assert.deepEqual(plain(responseOf(retry)), plain({ type: 'ok', version: 1 }));
    // The retry did not write: client 8's value is still there, at version 2.
    assert.deepEqual(plain(machine.read({ type: 'get', key: text('k') })), plain({ type: 'value', value: text('v2'), version: 2 }));
  });

  test('reads through the log go through sessions too: a retried get returns the remembered value', () => {
    const machine = newMachine(1);
    machine.apply(requestEntry(1, 1, 1, { type: 'put', key: text('k'), value: text('old') }));
    const get = requestEntry(2, 2, 1, { type: 'get', key: text('k') });
    machine.apply(get);
    machine.apply(requestEntry(3, 1, 2, { type: 'put', key: text('k'), value: text('new') }));
    const retry = machine.apply({ ...get, index: 4 });
    assert.deepEqual(plain(responseOf(retry)), plain({ type: 'value', value: text('old'), version: 1 }));
  });

  test('an older sequence is refused as stale and not applied', () => {
    const machine = newMachine(1);
    machine.apply(requestEntry(1, 5, 1, { type: 'put', key: text('a'), value: text('1') }));
    machine.apply(requestEntry(2, 5, 2, { type: 'put', key: text('b'), value: text('2') }));
    const stale = machine.apply(requestEntry(3, 5, 1, { type: 'delete', key: text('b') }));
    const response = responseOf(stale);
    assert.equal(stale.type === 'response' && stale.origin, 'stale');
    assert.equal(response.type === 'error' && response.code, 'stale-request');
    assert.match(response.type === 'error' ? response.reason : '', /client 5 sequence 1 is older than its last applied sequence 2/);
    assert.equal(machine.read({ type: 'get', key: text('b') }).type, 'value');
  });

  test('session expiry: least recently used (by log position) is evicted first, the same on every node and after restore', async () => {
    const sessionLimits = { sessionsMax: 3 };
    const log: Entry[] = [];
    const add = (client: number, sequence: number, key: string): void => {
      log.push(requestEntry(log.length + 1, client, sequence, { type: 'put', key: text(key), value: text(`${client}`) }));
    };
    add(1, 1, 'a'); // sessions: 1
    add(2, 1, 'b'); // 1 2
    add(3, 1, 'c'); // 1 2 3
    add(1, 1, 'a'); // a retry of client 1 is a use: 2 3 1
    add(4, 1, 'd'); // over the bound: evict 2 → 3 1 4
    const machines = [newMachine(1, SMALL_LIMITS, sessionLimits), newMachine(2, SMALL_LIMITS, sessionLimits)];
    for (const entry of log) {
      const [a, b] = machines.map((m) => m.apply(entry));
      assert.deepEqual(plain(a), plain(b));
    }
    const [machine] = machines;
    assert.ok(machine !== undefined);
    assert.equal(machine.sessionCount, 3);
    // Client 3 still has its session: its retry is deduplicated.
    const retry3 = machine.apply(requestEntry(6, 3, 1, { type: 'put', key: text('c'), value: text('x') }));
    assert.equal(retry3.type === 'response' && retry3.origin, 'session');
    // Client 2 was evicted: its retry is not recognised and applies as new (the documented cost).
    const retry2 = machine.apply(requestEntry(7, 2, 1, { type: 'put', key: text('b'), value: text('x') }));
    assert.equal(retry2.type === 'response' && retry2.origin, 'applied');
    assert.deepEqual(plain(responseOf(retry2)), plain({ type: 'ok', version: 7 }));
    // That evicted client 1 (order now 4, 3, 2). A restored copy continues identically.
    const restored = newMachine(3, SMALL_LIMITS, sessionLimits);
    await restored.restore(machine.snapshot());
    const probes: [number, string][] = [
      [9, 'applied'], // new client: evicts 4 → 3 2 9
      [4, 'applied'], // 4 was evicted: applied as new, evicts 3 → 2 9 4
      [2, 'session'], // 2 kept: deduplicated → 9 4 2
      [3, 'applied'], // 3 was evicted → evicts 9 → 4 2 3
    ];
    for (const [client, origin] of probes) {
      const entry = requestEntry(machine.lastAppliedIndex + 1, client, 1, { type: 'get', key: text('a') });
      const a: ApplyResult = machine.apply(entry);
      const b: ApplyResult = restored.apply(entry);
      assert.deepEqual(plain(b), plain(a));
      assert.equal(a.type === 'response' && a.origin, origin, `client ${client}`);
    }
  });

  test('session expiry by remembered bytes evicts the least recently used too, but keeps the newest', () => {
    const machine = newMachine(1, { ...SMALL_LIMITS, valueBytesMax: 100, dataBytesMax: 10_000 }, { sessionResponseBytesMax: 150 });
    machine.apply(requestEntry(1, 1, 1, { type: 'put', key: text('k'), value: new Uint8Array(100) }));
    machine.apply(requestEntry(2, 1, 2, { type: 'get', key: text('k') })); // 114-byte response remembered
    machine.apply(requestEntry(3, 2, 1, { type: 'get', key: text('k') })); // another 114: client 1 evicted
    assert.equal(machine.sessionCount, 1);
    machine.apply(requestEntry(4, 3, 1, { type: 'put', key: text('k'), value: new Uint8Array(1) }));
    assert.equal(machine.sessionCount, 2); // 114 + 10 bytes fit
  });

  test('limits answer with errors and change nothing', () => {
    const machine = newMachine(1);
    const cases: [KvCommand, string, RegExp][] = [
      [{ type: 'put', key: new Uint8Array(5), value: new Uint8Array(1) }, 'key-too-large', /key is 5 bytes, over the limit of 4/],
      [{ type: 'put', key: text('k'), value: new Uint8Array(9) }, 'value-too-large', /value is 9 bytes, over the limit of 8/],
      [{ type: 'cas', key: text('k'), value: new Uint8Array(9), expectedVersion: 0 }, 'value-too-large', /value is 9 bytes/],
      [{ type: 'get', key: new Uint8Array(5) }, 'key-too-large', /key is 5 bytes/],
      [{ type: 'delete', key: new Uint8Array(5) }, 'key-too-large', /key is 5 bytes/],
      [{ type: 'scan', start: new Uint8Array(0), end: new Uint8Array(5), limit: 1 }, 'key-too-large', /end is 5 bytes/],
      [{ type: 'scan', start: new Uint8Array(0), end: null, limit: 6 }, 'scan-limit-too-large', /scan limit 6 exceeds the maximum of 5/],
    ];
    cases.forEach(([command, code, reason], i) => {
      const response = responseOf(machine.apply(requestEntry(i + 1, 1, i + 1, command)));
      assert.equal(response.type === 'error' && response.code, code);
      assert.match(response.type === 'error' ? response.reason : '', reason);
    });
    assert.equal(machine.keyCount, 0);
  });

  test('store-full is decided by logical bytes held, the same after a restore as entry by entry', async () => {
    // 3-byte keys: k1 + 10 B and k2 + 10 B hold 26 bytes; a third pair would need 39 > 30.
    const limits = { dataBytesMax: 30 };
    const original = newMachine(1, limits);
    const put = (key: string, valueBytes: number): KvCommand => ({ type: 'put', key: text(key), value: new Uint8Array(valueBytes) });
    const log: KvCommand[] = [put('k01', 10), put('k02', 10), put('k03', 10)];
    const responses = log.map((command, i) => responseOf(original.apply(requestEntry(i + 1, 1, i + 1, command))));
    assert.deepEqual(responses.slice(0, 2).map((r) => r.type), ['ok', 'ok']);
    const refused = responses[2]!;
    assert.equal(refused.type === 'error' && refused.code, 'store-full');
    assert.match(refused.type === 'error' ? refused.reason : '', /would hold 39 bytes of keys and values, over the limit of 30/);
    assert.equal(original.keyCount, 2);
    assert.equal(original.dataBytes, 26);

    // A replica restored from a snapshot must answer the rest of the log exactly as the original.
    const restored = newMachine(2, limits);
    await restored.restore(original.snapshot());
    assert.equal(restored.dataBytes, 26);
    const rest: KvCommand[] = [
      put('k01', 14), // replace grows by 4: 30, exactly at the limit
      put('k03', 0), // 33 > 30: refused
      { type: 'cas', key: text('k02'), expectedVersion: 2, value: new Uint8Array(2) }, // shrinks by 8: 22
      put('k03', 5), // 30
      { type: 'delete', key: text('k01') }, // frees 17: 13
      put('k04', 14), // 30
      { type: 'delete', key: text('k09') }, // absent: frees nothing
    ];
    const answer = (machine: KvStateMachine) =>
      rest.map((command, i) => plain(responseOf(machine.apply(requestEntry(4 + i, 1, 4 + i, command)))));
    const fromOriginal = answer(original);
    assert.deepEqual(answer(restored), fromOriginal);
    assert.deepEqual(
      fromOriginal.map((r) => (r as { type: string; code?: string }).code ?? (r as { type: string }).type),
      ['ok', 'store-full', 'ok', 'ok', 'ok', 'ok', 'not-found'],
    );
    assert.equal(original.dataBytes, 30);
    assert.equal(restored.dataBytes, 30);
  });

  test('a scan stops at the response byte bound but always returns at least one item', () => {
    const machine = newMachine(1, { ...SMALL_LIMITS, valueBytesMax: 100, dataBytesMax: 10_000 });
    machine.apply(requestEntry(1, 1, 1, { type: 'put', key: text('a'), value: new Uint8Array(100) }));
    machine.apply(requestEntry(2, 1, 2, { type: 'put', key: text('b'), value: new Uint8Array(1) }));
    const response = machine.read({ type: 'scan', start: new Uint8Array(0), end: null, limit: 5 });
    assert.equal(response.type, 'scan');
    if (response.type === 'scan') {
      assert.deepEqual(response.items.map((i) => hex(i.key)), [hex(text('a'))]);
      assert.equal(response.hasMore, true);
    }
    // Exactly at the bound (16 + 1 + 43 = 60 bytes) the scan stops too.
    machine.apply(requestEntry(3, 1, 3, { type: 'put', key: text('a'), value: new Uint8Array(43) }));
    const atBound = machine.read({ type: 'scan', start: new Uint8Array(0), end: null, limit: 5 });
    assert.ok(atBound.type === 'scan');
    assert.equal(atBound.items.length, 1);
    assert.equal(atBound.hasMore, true);
    // One byte under the bound lets the next item in.
    machine.apply(requestEntry(4, 1, 4, { type: 'put', key: text('a'), value: new Uint8Array(42) }));
    const underBound = machine.read({ type: 'scan', start: new Uint8Array(0), end: null, limit: 5 });
    assert.ok(underBound.type === 'scan');
    assert.equal(underBound.items.length, 2);
    assert.equal(underBound.hasMore, false);
  });

  test('a scan over more keys than one internal batch pages through all of them', () => {
    const machine = newMachine(1, { scanLimitMax: 1000 });
    for (let i = 0; i < 300; i++) machine.apply(requestEntry(i + 1, 1, i + 1, { type: 'put', key: Uint8Array.of(i >> 8, i & 0xff), value: Uint8Array.of(i & 0xff) }));
    const all = machine.read({ type: 'scan', start: new Uint8Array(0), end: null, limit: 1000 });
    assert.ok(all.type === 'scan');
    assert.equal(all.items.length, 300);
    assert.equal(all.hasMore, false);
    assert.deepEqual(all.items.map((i) => i.version), Array.from({ length: 300 }, (_, i) => i + 1));
    const some = machine.read({ type: 'scan', start: Uint8Array.of(0, 10), end: Uint8Array.of(1, 0), limit: 200 });
    assert.ok(some.type === 'scan');
    assert.equal(some.items.length, 200);
    assert.equal(some.hasMore, true);
  });

  test('cas: expected version 0 means "must not exist"; a mismatch reports the current version', () => {
    const machine = newMachine(1);
    const cas = (index: number, expectedVersion: number): KvResponse =>
      responseOf(machine.apply(requestEntry(index, 1, index, { type: 'cas', key: text('k'), value: text(`v${index}`), expectedVersion })));
    assert.deepEqual(cas(1, 0), { type: 'ok', version: 1 });
    assert.deepEqual(cas(2, 0), { type: 'cas-mismatch', currentVersion: 1 });
    assert.deepEqual(cas(3, 1), { type: 'ok', version: 3 });
    assert.deepEqual(cas(4, 1), { type: 'cas-mismatch', currentVersion: 3 });
    machine.apply(requestEntry(5, 1, 5, { type: 'delete', key: text('k') }));
    assert.deepEqual(cas(6, 3), { type: 'cas-mismatch', currentVersion: 0 });
  });

  test('no-op entries apply as nothing; entries out of order throw StateMachineOrderError', () => {
    const machine = newMachine(1);
    assert.deepEqual(machine.apply(noopEntry(1)), { type: 'noop', index: 1 });
    assert.equal(machine.lastAppliedIndex, 1);
    assert.throws(() => machine.apply(noopEntry(1)), StateMachineOrderError);
    assert.throws(() => machine.apply(noopEntry(3)), /applied entry index 3 but the next index is 2/);
    assert.equal(machine.lastAppliedIndex, 1);
  });

  test('a malformed entry is answered with a malformed-request error naming the field, attributed to its client when possible', () => {
    const machine = newMachine(1);
    const valid = requestEntry(1, 42, 3, { type: 'put', key: text('k'), value: text('v') });
    const cut = { ...valid, data: valid.data.subarray(0, valid.data.length - 1) };
    const result = machine.apply(cut);
    assert.ok(result.type === 'response');
    assert.equal(result.origin, 'malformed');
    assert.equal(result.clientId, 42);
    assert.equal(result.sequence, 3);
    const response = decodeResponse(result.response);
    assert.ok(response.type === 'error');
    assert.equal(response.code, 'malformed-request');
    assert.match(response.reason, /value length at byte 23/);
    assert.equal(machine.keyCount, 0);
    // The client's sequence was not consumed: the intact request still applies.
    assert.equal(responseOf(machine.apply({ ...valid, index: 2 })).type, 'ok');
    const unreadable = machine.apply({ term: 1, index: 3, data: Uint8Array.of(1) });
    assert.ok(unreadable.type === 'response' && unreadable.clientId === 0);
  });

  test('the state machine refuses a map that is not empty and limits that are not positive integers', () => {
    const map = new SkipList(createPrng(1));
    map.put(text('x'), text('y'), 1);
    assert.throws(() => new KvStateMachine(map), /needs an empty map/);
    assert.throws(() => new KvStateMachine(new SkipList(createPrng(1)), { limits: { keyBytesMax: 0 } }), /keyBytesMax must be a positive safe integer/);
    assert.throws(() => new KvStateMachine(new SkipList(createPrng(1)), { sessionLimits: { sessionsMax: 1.5 } }), /sessionsMax must be a positive safe integer/);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Entry } from '../../src/raft/types.js';
import { createPrng } from '../../src/random/prng.js';
import { SkipList } from '../../src/kv/skiplist.js';
import { KvStateMachine, StateMachineOrderError, type ApplyResult, type KvLimits, type ResponseOrigin } from '../../src/kv/state-machine.js';
import { RESPONSE_OVERHEAD_BYTES, type SessionLimits } from '../../src/kv/sessions.js';
import { SharedSkipList } from '../../src/kv/shared/shared-skip-list.js';
import { decodeRequest, decodeResponse, type KvCommand, type KvErrorCode, type KvResponse } from '../../src/kv/commands.js';
import { decodeSnapshot } from '../../src/kv/snapshot-format.js';
import { collect, hex, noopEntry, plain, registerEntry, requestEntry, responseOf, text } from './kv-test-support.js';

// Small limits so random logs hit every limit error (dataBytesMax included: the store fills up).
const SMALL_LIMITS: KvLimits = { keyBytesMax: 4, valueBytesMax: 8, scanLimitMax: 5, scanResponseBytesMax: 60, dataBytesMax: 20 };

function newMachine(seed: number, limits: Partial<KvLimits> = SMALL_LIMITS, sessionLimits: Partial<SessionLimits> = {}): KvStateMachine {
  return new KvStateMachine(new SkipList(createPrng(seed)), { limits, sessionLimits });
}

type ModelPair = { key: Uint8Array; value: Uint8Array; version: number };
type ModelSession = { lowestUnacknowledged: number; responses: Map<number, KvResponse> };
type ModelAnswer = { response: KvResponse; origin: ResponseOrigin };

/**
 * An independent reference: the semantics written as plainly as possible. Sessions are never
 * evicted (the property tests set the global bounds out of reach); the per-session count bound is
 * modelled, the byte bounds are tested by hand below.
 */
class ModelKv {
  readonly data = new Map<string, ModelPair>();
  readonly sessions = new Map<number, ModelSession>();
  constructor(
    readonly limits: KvLimits,
    readonly responsesPerSessionMax: number,
  ) {}

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

  register(index: number): ModelAnswer {
    this.sessions.set(index, { lowestUnacknowledged: 1, responses: new Map() });
    return { response: { type: 'session-registered', sessionId: index }, origin: 'applied' };
  }

  apply(index: number, sessionId: number, sequence: number, lowestUnacknowledged: number, command: KvCommand): ModelAnswer {
    const error = (code: KvErrorCode, origin: ResponseOrigin): ModelAnswer => ({ response: { type: 'error', code, reason: '' }, origin });
    const session = this.sessions.get(sessionId);
    if (session === undefined) return error('session-expired', 'expired');
    if (lowestUnacknowledged > session.lowestUnacknowledged) {
      session.lowestUnacknowledged = lowestUnacknowledged;
      for (const remembered of [...session.responses.keys()]) if (remembered < lowestUnacknowledged) session.responses.delete(remembered);
    }
    if (sequence < session.lowestUnacknowledged) return error('stale-request', 'stale');
    const remembered = session.responses.get(sequence);
    if (remembered !== undefined) return { response: remembered, origin: 'session' };
    if (session.responses.size >= this.responsesPerSessionMax) return error('too-many-unacknowledged', 'refused');
    const response = this.execute(index, command);
    session.responses.set(sequence, response);
    return { response, origin: 'applied' };
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
  | { step: 'register' }
  /** A new request in the `session`-th registered session; the client acknowledges `acknowledge` more of its sequences. */
  | { step: 'new'; session: number; acknowledge: number; command: CommandSketch }
  /** The exact bytes of an earlier request of that session again (a client retry or a duplicated message). */
  | { step: 'again'; session: number; which: number }
  /** A request naming a session that was never registered. */
  | { step: 'unknown'; command: CommandSketch }
  | { step: 'noop' }
  | { step: 'garbage'; bytes: Uint8Array };
const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ step: 'register' as const }) },
  {
    weight: 12,
    arbitrary: fc.record({ step: fc.constant('new' as const), session: fc.nat(), acknowledge: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })), command: commandArbitrary }),
  },
  { weight: 4, arbitrary: fc.record({ step: fc.constant('again' as const), session: fc.nat(), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('unknown' as const), command: commandArbitrary }) },
  { weight: 1, arbitrary: fc.constant({ step: 'noop' as const }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 30 }) }) },
);

/** Each model client: the requests it sent (their exact entry data), its next sequence and what it acknowledged. */
type ModelClient = { sessionId: number; sent: Uint8Array[]; nextSequence: number; lowestUnacknowledged: number };
/** The per-session count bound the property tests run with: low, so random logs reach it. */
const PROPERTY_RESPONSES_PER_SESSION_MAX = 3;
const PROPERTY_SESSION_LIMITS: Partial<SessionLimits> = { responsesPerSessionMax: PROPERTY_RESPONSES_PER_SESSION_MAX };

function concreteCommand(sketch: CommandSketch, model: ModelKv): KvCommand {
  return sketch.type === 'cas'
    ? { type: 'cas', key: sketch.key, value: sketch.value, expectedVersion: sketch.expected === 'current' ? model.version(sketch.key) : sketch.expected }
    : sketch;
}

/** Builds the log from the steps, and the answers the model expects (null for a no-op). */
function buildLog(steps: readonly Step[], limits: KvLimits): { log: Entry[]; expected: (ModelAnswer | 'malformed' | null)[]; model: ModelKv } {
  const model = new ModelKv(limits, PROPERTY_RESPONSES_PER_SESSION_MAX);
  const clients: ModelClient[] = [];
  const log: Entry[] = [];
  const expected: (ModelAnswer | 'malformed' | null)[] = [];
  const push = (data: Uint8Array, answer: ModelAnswer | 'malformed' | null): void => {
    log.push({ term: 1, index: log.length + 1, data });
    expected.push(answer);
  };
  for (const step of steps) {
    const index = log.length + 1;
    const client = clients.length === 0 || !('session' in step) ? undefined : clients[step.session % clients.length];
    if (step.step === 'register' || ((step.step === 'new' || step.step === 'again') && client === undefined)) {
      clients.push({ sessionId: index, sent: [], nextSequence: 1, lowestUnacknowledged: 1 });
      push(registerEntry(index).data, model.register(index));
    } else if (step.step === 'noop') {
      push(new Uint8Array(0), null);
    } else if (step.step === 'garbage') {
      // Byte 0 = 3 is an unsupported format version, so garbage can never decode as a valid request.
      push(Uint8Array.from([3, ...step.bytes]), 'malformed');
    } else if (step.step === 'unknown') {
      const sessionId = index + 1_000_000;
      const command = concreteCommand(step.command, model);
      push(requestEntry(index, sessionId, 1, command).data, model.apply(index, sessionId, 1, 1, command));
    } else if (step.step === 'new') {
      const sender = client!;
      const sequence = sender.nextSequence++;
      // Every earlier request was answered at once, so the client may acknowledge any of them.
      sender.lowestUnacknowledged = Math.min(sequence, sender.lowestUnacknowledged + step.acknowledge);
      const command = concreteCommand(step.command, model);
      const data = requestEntry(index, sender.sessionId, sequence, command, sender.lowestUnacknowledged).data;
      sender.sent.push(data);
      push(data, model.apply(index, sender.sessionId, sequence, sender.lowestUnacknowledged, command));
    } else {
      const sender = client!;
      const data = sender.sent[step.which % Math.max(1, sender.sent.length)];
      if (data === undefined) {
        push(new Uint8Array(0), null);
        continue;
      }
      const request = decodeRequest(data);
      assert.ok(request.type === 'command');
      push(data, model.apply(index, request.sessionId, request.sequence, request.lowestUnacknowledged, request.command));
    }
  }
  return { log, expected, model };
}

async function snapshotBytes(machine: KvStateMachine, chunkBytes?: number): Promise<string> {
  return hex(Buffer.concat(await collect(machine.snapshot(chunkBytes))));
}

function originOf(result: ApplyResult): ResponseOrigin | null {
  return result.type === 'response' ? result.origin : null;
}

describe('KvStateMachine', () => {
  test('model-based: random logs (registrations, many in flight, acknowledgements, duplicates, unknown sessions, no-ops, garbage) agree with a plain model', () => {
    fc.assert(
      fc.property(fc.array(stepArbitrary, { maxLength: 80, size: 'max' }), (steps) => {
        const { log, expected, model } = buildLog(steps, SMALL_LIMITS);
        const machine = newMachine(1, SMALL_LIMITS, PROPERTY_SESSION_LIMITS);
        log.forEach((entry, i) => {
          const result = machine.apply(entry);
          const want = expected[i];
          assert.ok(want !== undefined);
          if (want === null) {
            assert.equal(result.type, 'noop', `index ${entry.index}`);
          } else if (want === 'malformed') {
            const got = responseOf(result);
            assert.equal(got.type === 'error' && got.code, 'malformed-request', `index ${entry.index}`);
            assert.equal(originOf(result), 'malformed');
          } else {
            assert.deepEqual(comparable(responseOf(result)), comparable(want.response), `index ${entry.index}`);
            assert.equal(originOf(result), want.origin, `index ${entry.index}`);
          }
        });
        assert.equal(machine.lastAppliedIndex, log.length);
        const fromMachine = machine.read({ type: 'scan', start: new Uint8Array(0), end: null, limit: SMALL_LIMITS.scanLimitMax });
        const fromModel = model.sorted().slice(0, SMALL_LIMITS.scanLimitMax);
        assert.equal(fromMachine.type, 'scan');
        if (fromMachine.type === 'scan') assert.deepEqual(plain(fromMachine.items.slice(0, fromModel.length)), plain(fromModel.slice(0, fromMachine.items.length)));
        assert.equal(machine.keyCount, model.data.size);
        assert.equal(machine.sessionCount, model.sessions.size);
      }),
      { numRuns: 200 },
    );
  });

  test('the same log on two machines (different skip list seeds) gives identical responses and snapshots; restore round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArbitrary, { maxLength: 60, size: 'max' }), fc.array(stepArbitrary, { maxLength: 30, size: 'max' }), async (steps, laterSteps) => {
        const { log, model } = buildLog([...steps, ...laterSteps], SMALL_LIMITS);
        const cut = Math.min(steps.length, log.length);
        const first = newMachine(11, SMALL_LIMITS, PROPERTY_SESSION_LIMITS);
        const second = newMachine(22, SMALL_LIMITS, PROPERTY_SESSION_LIMITS);
        for (const entry of log.slice(0, cut)) assert.deepEqual(plain(first.apply(entry)), plain(second.apply(entry)));
        const snapshot = await snapshotBytes(first, 64);
        assert.equal(await snapshotBytes(second, 64), snapshot);

        // Restore into a fresh machine: same snapshot back, and the same answers to the rest of the log,
        // including duplicates of requests applied before the snapshot (the sessions came along).
        const restored = newMachine(33, SMALL_LIMITS, PROPERTY_SESSION_LIMITS);
        await restored.restore(first.snapshot(100), first.lastAppliedIndex);
        assert.equal(restored.lastAppliedIndex, first.lastAppliedIndex);
        assert.equal(await snapshotBytes(restored, 64), snapshot);
        for (const entry of log.slice(cut)) assert.deepEqual(plain(restored.apply(entry)), plain(first.apply(entry)));
        assert.equal(restored.keyCount, model.data.size);
        assert.equal(await snapshotBytes(restored), await snapshotBytes(first));
        // And the restored data is exactly the model's.
        const decoded = await decodeSnapshot(restored.snapshot(), { keyBytesMax: 4, valueBytesMax: 8, responseBytesMax: 1 << 16, responsesPerSessionMax: PROPERTY_RESPONSES_PER_SESSION_MAX });
        assert.deepEqual(plain(decoded.pairs), plain(model.sorted()));
      }),
      { numRuns: 60 },
    );
  });

  test('register-session: the session id is the entry index, answered as session-registered; each registration is a new session', () => {
    const machine = newMachine(1);
    machine.apply(noopEntry(1));
    const result = machine.apply(registerEntry(2));
    assert.ok(result.type === 'response');
    assert.deepEqual([result.sessionId, result.sequence, result.origin], [2, 0, 'applied']);
    assert.deepEqual(responseOf(result), { type: 'session-registered', sessionId: 2 });
    assert.deepEqual(responseOf(machine.apply(registerEntry(3))), { type: 'session-registered', sessionId: 3 });
    assert.equal(machine.sessionCount, 2);
    // Both sessions work, independently numbered.
    assert.equal(responseOf(machine.apply(requestEntry(4, 2, 1, { type: 'put', key: text('a'), value: text('1') }))).type, 'ok');
    assert.equal(responseOf(machine.apply(requestEntry(5, 3, 1, { type: 'put', key: text('b'), value: text('2') }))).type, 'ok');
  });

  test('a retried request is answered from the session, not applied twice', () => {
    const machine = newMachine(1);
    machine.apply(registerEntry(1));
    machine.apply(registerEntry(2));
    const put = requestEntry(3, 1, 1, { type: 'put', key: text('k'), value: text('v1') });
    const first = machine.apply(put);
    machine.apply(requestEntry(4, 2, 1, { type: 'put', key: text('k'), value: text('v2') }));
    const retry = machine.apply({ ...put, index: 5 });
    assert.equal(originOf(retry), 'session');
    assert.deepEqual(plain(responseOf(retry)), plain(responseOf(first)));
    assert.deepEqual(plain(responseOf(retry)), plain({ type: 'ok', version: 3 }));
    // The retry did not write: session 2's value is still there, at version 4.
    assert.deepEqual(plain(machine.read({ type: 'get', key: text('k') })), plain({ type: 'value', value: text('v2'), version: 4 }));
  });

  test('reads through the log go through sessions too: a retried get returns the remembered value', () => {
    const machine = newMachine(1);
    machine.apply(registerEntry(1));
    machine.apply(registerEntry(2));
    machine.apply(requestEntry(3, 1, 1, { type: 'put', key: text('k'), value: text('old') }));
    const get = requestEntry(4, 2, 1, { type: 'get', key: text('k') });
    machine.apply(get);
    machine.apply(requestEntry(5, 1, 2, { type: 'put', key: text('k'), value: text('new') }));
    const retry = machine.apply({ ...get, index: 6 });
    assert.equal(originOf(retry), 'session');
    assert.deepEqual(plain(responseOf(retry)), plain({ type: 'value', value: text('old'), version: 3 }));
  });

  test('many requests in flight per session: every unacknowledged response is remembered, acknowledged ones are forgotten', () => {
    const machine = newMachine(1, { ...SMALL_LIMITS, dataBytesMax: 100_000 });
    machine.apply(registerEntry(1));
    // 300 requests outstanding at once (an open-loop driver): none acknowledged yet.
    const entries: Entry[] = [];
    for (let sequence = 1; sequence <= 300; sequence++) {
      entries.push(requestEntry(1 + sequence, 1, sequence, { type: 'put', key: Uint8Array.of(sequence >> 8, sequence & 0xff), value: text('v') }, 1));
    }
    for (const entry of entries) assert.equal(originOf(machine.apply(entry)), 'applied');
    const bytesAllRemembered = machine.sessionResponseBytes;
    assert.equal(bytesAllRemembered, 300 * (10 + RESPONSE_OVERHEAD_BYTES));
    // Retried in any order, each is answered from the session with its own version, and nothing is applied again.
    let index = machine.lastAppliedIndex;
    for (const sequence of [300, 1, 150, 2, 299]) {
      const retry = machine.apply({ ...entries[sequence - 1]!, index: ++index });
      assert.equal(originOf(retry), 'session', `sequence ${sequence}`);
      assert.deepEqual(responseOf(retry), { type: 'ok', version: 1 + sequence });
    }
    const firstPut = machine.read({ type: 'get', key: Uint8Array.of(0, 1) });
    assert.ok(firstPut.type === 'value' && firstPut.version === 2, 'sequence 1 was written once, at index 2');
    // The client acknowledges 1 … 200 with its next request: those responses are forgotten…
    machine.apply(requestEntry(++index, 1, 301, { type: 'get', key: text('x') }, 201));
    assert.equal(machine.sessionResponseBytes, 100 * (10 + RESPONSE_OVERHEAD_BYTES) + (2 + RESPONSE_OVERHEAD_BYTES));
    // …so a late duplicate of sequence 200 is stale (not applied), while 201 is still remembered.
    const late = machine.apply({ ...entries[199]!, index: ++index });
    assert.equal(originOf(late), 'stale');
    const stale = responseOf(late);
    assert.ok(stale.type === 'error' && stale.code === 'stale-request');
    assert.match(stale.reason, /session 1 sequence 200 is below its lowest unacknowledged sequence 201/);
    assert.equal(originOf(machine.apply({ ...entries[200]!, index: ++index })), 'session');
    // An acknowledgement never moves back: a delayed request carrying an older one changes nothing.
    assert.equal(originOf(machine.apply({ ...entries[250]!, index: ++index })), 'session');
    assert.equal(originOf(machine.apply({ ...entries[199]!, index: ++index })), 'stale');
  });

  test('responses applied out of sequence order are snapshotted in sequence order, and restore', async () => {
    const machine = newMachine(1, { ...SMALL_LIMITS, dataBytesMax: 100_000 });
    machine.apply(registerEntry(1));
    // The log delivered sequence 3 before 1 and 2 (they took different paths to the leader).
    for (const [index, sequence] of [[2, 3], [3, 1], [4, 2]] as const) {
      machine.apply(requestEntry(index, 1, sequence, { type: 'put', key: Uint8Array.of(sequence), value: text('v') }, 1));
    }
    machine.apply(requestEntry(5, 1, 4, { type: 'get', key: Uint8Array.of(1) }, 1));
    const decoded = await decodeSnapshot(machine.snapshot(), { keyBytesMax: 4, valueBytesMax: 8, responseBytesMax: 1 << 16, responsesPerSessionMax: 1024 });
    assert.deepEqual(
      decoded.sessions[0]?.responses.map((r) => ({ sequence: r.sequence, response: plain(decodeResponse(r.response)) })),
      [
        { sequence: 1, response: plain({ type: 'ok', version: 3 }) },
        { sequence: 2, response: plain({ type: 'ok', version: 4 }) },
        { sequence: 3, response: plain({ type: 'ok', version: 2 }) },
        { sequence: 4, response: plain({ type: 'value', value: text('v'), version: 3 }) },
      ],
    );
    const restored = newMachine(2, { ...SMALL_LIMITS, dataBytesMax: 100_000 });
    await restored.restore(machine.snapshot(), 5);
    const retry = restored.apply(requestEntry(6, 1, 3, { type: 'put', key: Uint8Array.of(3), value: text('v') }, 1));
    assert.equal(originOf(retry), 'session');
    assert.deepEqual(responseOf(retry), { type: 'ok', version: 2 });
  });

  test('acknowledging a huge jump at once forgets what is below it (in time bounded by what is held)', () => {
    const machine = newMachine(1, { ...SMALL_LIMITS, dataBytesMax: 100_000 });
    machine.apply(registerEntry(1));
    machine.apply(requestEntry(2, 1, 5, { type: 'get', key: text('a') }, 1));
    machine.apply(requestEntry(3, 1, 2 ** 50, { type: 'get', key: text('a') }, 1));
    machine.apply(requestEntry(4, 1, 2 ** 52, { type: 'get', key: text('a') }, 2 ** 51));
    assert.equal(machine.sessionResponseBytes, 2 + RESPONSE_OVERHEAD_BYTES, 'only sequence 2^52 is left');
    assert.equal(originOf(machine.apply(requestEntry(5, 1, 2 ** 50, { type: 'get', key: text('a') }, 1))), 'stale');
  });

  test('a session at its bound answers too-many-unacknowledged and applies nothing; acknowledging makes room', () => {
    const machine = newMachine(1, { ...SMALL_LIMITS, dataBytesMax: 100_000 }, { responsesPerSessionMax: 3 });
    machine.apply(registerEntry(1));
    for (let sequence = 1; sequence <= 3; sequence++) machine.apply(requestEntry(1 + sequence, 1, sequence, { type: 'put', key: text(`k${sequence}`), value: text('v') }, 1));
    const refused = machine.apply(requestEntry(5, 1, 4, { type: 'put', key: text('k4'), value: text('v') }, 1));
    assert.equal(originOf(refused), 'refused');
    const response = responseOf(refused);
    assert.ok(response.type === 'error' && response.code === 'too-many-unacknowledged');
    assert.match(response.reason, /session 1 already remembers 3 unacknowledged responses .* limits are 3 responses/);
    assert.equal(machine.read({ type: 'get', key: text('k4') }).type, 'not-found');
    // The refusal is not remembered: the same request, once 1 is acknowledged, applies.
    const accepted = machine.apply(requestEntry(6, 1, 4, { type: 'put', key: text('k4'), value: text('v') }, 2));
    assert.equal(originOf(accepted), 'applied');
    assert.deepEqual(responseOf(accepted), { type: 'ok', version: 6 });
    // Remembered ones stay answerable at the bound (a retry needs no room).
    assert.equal(originOf(machine.apply(requestEntry(7, 1, 2, { type: 'put', key: text('k2'), value: text('v') }, 2))), 'session');
  });

  test('the per-session byte bound is checked before applying, so a session holds at most the bound plus one response', () => {
    const limits = { ...SMALL_LIMITS, valueBytesMax: 1000, dataBytesMax: 100_000 };
    const bound = 2 * (14 + 1000 + RESPONSE_OVERHEAD_BYTES) - 1;
    const machine = newMachine(1, limits, { responseBytesPerSessionMax: bound });
    machine.apply(registerEntry(1));
    machine.apply(requestEntry(2, 1, 1, { type: 'put', key: text('k'), value: new Uint8Array(1000) }));
    const get = (index: number, sequence: number): ApplyResult => machine.apply(requestEntry(index, 1, sequence, { type: 'get', key: text('k') }, 2));
    assert.equal(originOf(get(3, 2)), 'applied'); // holds one 1014-byte response: under the bound
    assert.equal(originOf(get(4, 3)), 'applied'); // then two: over the bound by less than one response
    assert.equal(machine.sessionResponseBytes, bound + 1);
    assert.equal(originOf(get(5, 4)), 'refused');
  });

  test('a request of a session never registered is answered session-expired and not applied', () => {
    const machine = newMachine(1);
    machine.apply(registerEntry(1));
    const result = machine.apply(requestEntry(2, 7, 1, { type: 'put', key: text('k'), value: text('v') }));
    assert.equal(originOf(result), 'expired');
    const response = responseOf(result);
    assert.ok(response.type === 'error' && response.code === 'session-expired');
    assert.match(response.reason, /session 7 is unknown .*not applied/);
    assert.equal(machine.keyCount, 0);
    assert.equal(machine.sessionCount, 1);
  });

  test('the old hole is closed: a retry arriving after its session was evicted is refused, never applied twice', () => {
    // Before sessions were registered, a request whose client had no session was applied as new,
    // so this retry wrote a second time.
    const machine = newMachine(1, SMALL_LIMITS, { sessionsMax: 3 });
    machine.apply(registerEntry(1));
    const put = requestEntry(2, 1, 1, { type: 'put', key: text('k'), value: text('first') });
    assert.equal(originOf(machine.apply(put)), 'applied');
    for (let i = 3; i <= 5; i++) machine.apply(registerEntry(i)); // three newer sessions evict session 1
    const retry = machine.apply({ ...put, index: 6 });
    assert.equal(originOf(retry), 'expired');
    assert.deepEqual(plain(machine.read({ type: 'get', key: text('k') })), plain({ type: 'value', value: text('first'), version: 2 }));
  });

  test('session expiry: least recently used (by log position) is evicted first, the same on every node and after restore', async () => {
    const sessionLimits = { sessionsMax: 3 };
    const log: Entry[] = [];
    const add = (entry: (index: number) => Entry): void => {
      log.push(entry(log.length + 1));
    };
    const put = (session: number, sequence: number, key: string) => (index: number) =>
      requestEntry(index, session, sequence, { type: 'put', key: text(key), value: text(`${session}`) });
    add(registerEntry); // session 1 — sessions: 1
    add(registerEntry); // session 2 — 1 2
    add(registerEntry); // session 3 — 1 2 3
    add(put(1, 1, 'a')); // a use of session 1: 2 3 1
    add(registerEntry); // session 5, over the bound: evict 2 → 3 1 5
    const machines = [newMachine(1, SMALL_LIMITS, sessionLimits), newMachine(2, SMALL_LIMITS, sessionLimits)];
    for (const entry of log) {
      const [a, b] = machines.map((m) => m.apply(entry));
      assert.deepEqual(plain(a), plain(b));
    }
    const [machine] = machines;
    assert.ok(machine !== undefined);
    assert.equal(machine.sessionCount, 3);
    // Session 1 is alive: its retry is deduplicated (a use: 3 5 1).
    assert.equal(originOf(machine.apply(put(1, 1, 'a')(6))), 'session');
    // Session 2 was evicted: refused, not applied.
    assert.equal(originOf(machine.apply(put(2, 1, 'b')(7))), 'expired');
    assert.equal(machine.read({ type: 'get', key: text('b') }).type, 'not-found');
    // A stale or refused request still counts as a use (3 5 1 → 5 1 3): the client is alive.
    assert.equal(originOf(machine.apply(requestEntry(8, 3, 5, { type: 'get', key: text('a') }))), 'applied');
    // A restored copy continues identically.
    const restored = newMachine(3, SMALL_LIMITS, sessionLimits);
    await restored.restore(machine.snapshot(), 8);
    const probes: [(index: number) => Entry, string][] = [
      [registerEntry, 'applied'], // session 9: evicts 5 → 1 3 9
      [put(5, 1, 'c'), 'expired'],
      [put(1, 1, 'a'), 'session'], // → 3 9 1
      [registerEntry, 'applied'], // session 12: evicts 3 → 9 1 12
      [put(3, 6, 'd'), 'expired'],
      [put(9, 1, 'e'), 'applied'],
    ];
    for (const [make, origin] of probes) {
      const entry = make(machine.lastAppliedIndex + 1);
      const a = machine.apply(entry);
      const b = restored.apply(entry);
      assert.deepEqual(plain(b), plain(a));
      assert.equal(originOf(a), origin, `index ${entry.index}`);
    }
  });

  test('session expiry by remembered bytes evicts the least recently used too, but keeps the newest', () => {
    const responseBytes = 114 + RESPONSE_OVERHEAD_BYTES; // a get of a 100-byte value
    const machine = newMachine(1, { ...SMALL_LIMITS, valueBytesMax: 100, dataBytesMax: 10_000 }, { sessionResponseBytesMax: responseBytes + 10 + RESPONSE_OVERHEAD_BYTES });
    machine.apply(registerEntry(1));
    machine.apply(registerEntry(2));
    machine.apply(registerEntry(3));
    machine.apply(requestEntry(4, 1, 1, { type: 'put', key: text('k'), value: new Uint8Array(100) }));
    machine.apply(requestEntry(5, 1, 2, { type: 'get', key: text('k') })); // session 1 remembers one get response
    assert.equal(machine.sessionCount, 3);
    machine.apply(requestEntry(6, 2, 1, { type: 'get', key: text('k') })); // another: session 3, then 1 evicted
    assert.equal(machine.sessionCount, 1);
    assert.equal(machine.sessionResponseBytes, responseBytes);
    machine.apply(registerEntry(7));
    machine.apply(requestEntry(8, 7, 1, { type: 'put', key: text('k'), value: new Uint8Array(1) }));
    assert.equal(machine.sessionCount, 2); // the get response + a 10-byte ok fit
  });

  test('limits answer with errors and change nothing', () => {
    const machine = newMachine(1);
    machine.apply(registerEntry(1));
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
      const response = responseOf(machine.apply(requestEntry(i + 2, 1, i + 1, command)));
      assert.equal(response.type === 'error' && response.code, code);
      assert.match(response.type === 'error' ? response.reason : '', reason);
    });
    assert.equal(machine.keyCount, 0);
  });

  test('store-full is decided by logical bytes held, the same after a restore as entry by entry', async () => {
    // 3-byte keys: k1 + 10 B and k2 + 10 B hold 26 bytes; a third pair would need 39 > 30.
    const limits = { dataBytesMax: 30 };
    const original = newMachine(1, limits);
    original.apply(registerEntry(1));
    const put = (key: string, valueBytes: number): KvCommand => ({ type: 'put', key: text(key), value: new Uint8Array(valueBytes) });
    const log: KvCommand[] = [put('k01', 10), put('k02', 10), put('k03', 10)];
    const responses = log.map((command, i) => responseOf(original.apply(requestEntry(i + 2, 1, i + 1, command))));
    assert.deepEqual(responses.slice(0, 2).map((r) => r.type), ['ok', 'ok']);
    const refused = responses[2]!;
    assert.equal(refused.type === 'error' && refused.code, 'store-full');
    assert.match(refused.type === 'error' ? refused.reason : '', /would hold 39 bytes of keys and values, over the limit of 30/);
    assert.equal(original.keyCount, 2);
    assert.equal(original.dataBytes, 26);

    // A replica restored from a snapshot must answer the rest of the log exactly as the original.
    const restored = newMachine(2, limits);
    await restored.restore(original.snapshot(), 4);
    assert.equal(restored.dataBytes, 26);
    const rest: KvCommand[] = [
      put('k01', 14), // replace grows by 4: 30, exactly at the limit
      put('k03', 0), // 33 > 30: refused
      { type: 'cas', key: text('k02'), expectedVersion: 3, value: new Uint8Array(2) }, // shrinks by 8: 22
      put('k03', 5), // 30
      { type: 'delete', key: text('k01') }, // frees 17: 13
      put('k04', 14), // 30
      { type: 'delete', key: text('k09') }, // absent: frees nothing
    ];
    const answer = (machine: KvStateMachine) =>
      rest.map((command, i) => plain(responseOf(machine.apply(requestEntry(5 + i, 1, 4 + i, command)))));
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
    machine.apply(registerEntry(1));
    machine.apply(requestEntry(2, 1, 1, { type: 'put', key: text('a'), value: new Uint8Array(100) }));
    machine.apply(requestEntry(3, 1, 2, { type: 'put', key: text('b'), value: new Uint8Array(1) }));
    const response = machine.read({ type: 'scan', start: new Uint8Array(0), end: null, limit: 5 });
    assert.equal(response.type, 'scan');
    if (response.type === 'scan') {
      assert.deepEqual(response.items.map((i) => hex(i.key)), [hex(text('a'))]);
      assert.equal(response.hasMore, true);
    }
    // Exactly at the bound (16 + 1 + 43 = 60 bytes) the scan stops too.
    machine.apply(requestEntry(4, 1, 3, { type: 'put', key: text('a'), value: new Uint8Array(43) }));
    const atBound = machine.read({ type: 'scan', start: new Uint8Array(0), end: null, limit: 5 });
    assert.ok(atBound.type === 'scan');
    assert.equal(atBound.items.length, 1);
    assert.equal(atBound.hasMore, true);
    // One byte under the bound lets the next item in.
    machine.apply(requestEntry(5, 1, 4, { type: 'put', key: text('a'), value: new Uint8Array(42) }));
    const underBound = machine.read({ type: 'scan', start: new Uint8Array(0), end: null, limit: 5 });
    assert.ok(underBound.type === 'scan');
    assert.equal(underBound.items.length, 2);
    assert.equal(underBound.hasMore, false);
  });

  test('a scan over more keys than one internal batch pages through all of them', () => {
    const machine = newMachine(1, { scanLimitMax: 1000 });
    machine.apply(registerEntry(1));
    for (let i = 0; i < 300; i++) machine.apply(requestEntry(i + 2, 1, i + 1, { type: 'put', key: Uint8Array.of(i >> 8, i & 0xff), value: Uint8Array.of(i & 0xff) }));
    const all = machine.read({ type: 'scan', start: new Uint8Array(0), end: null, limit: 1000 });
    assert.ok(all.type === 'scan');
    assert.equal(all.items.length, 300);
    assert.equal(all.hasMore, false);
    assert.deepEqual(all.items.map((i) => i.version), Array.from({ length: 300 }, (_, i) => i + 2));
    const some = machine.read({ type: 'scan', start: Uint8Array.of(0, 10), end: Uint8Array.of(1, 0), limit: 200 });
    assert.ok(some.type === 'scan');
    assert.equal(some.items.length, 200);
    assert.equal(some.hasMore, true);
  });

  test('cas: expected version 0 means "must not exist"; a mismatch reports the current version', () => {
    const machine = newMachine(1);
    machine.apply(registerEntry(1));
    const cas = (index: number, expectedVersion: number): KvResponse =>
      responseOf(machine.apply(requestEntry(index, 1, index, { type: 'cas', key: text('k'), value: text(`v${index}`), expectedVersion })));
    assert.deepEqual(cas(2, 0), { type: 'ok', version: 2 });
    assert.deepEqual(cas(3, 0), { type: 'cas-mismatch', currentVersion: 2 });
    assert.deepEqual(cas(4, 2), { type: 'ok', version: 4 });
    assert.deepEqual(cas(5, 2), { type: 'cas-mismatch', currentVersion: 4 });
    machine.apply(requestEntry(6, 1, 6, { type: 'delete', key: text('k') }));
    assert.deepEqual(cas(7, 4), { type: 'cas-mismatch', currentVersion: 0 });
  });

  test('no-op entries apply as nothing; entries out of order throw StateMachineOrderError', () => {
    const machine = newMachine(1);
    assert.deepEqual(machine.apply(noopEntry(1)), { type: 'noop', index: 1 });
    assert.equal(machine.lastAppliedIndex, 1);
    assert.throws(() => machine.apply(noopEntry(1)), StateMachineOrderError);
    assert.throws(() => machine.apply(noopEntry(3)), /applied entry index 3 but the next index is 2/);
    assert.equal(machine.lastAppliedIndex, 1);
  });

  test('a malformed entry is answered with a malformed-request error naming the field, attributed to its session when possible', () => {
    const machine = newMachine(1);
    machine.apply(registerEntry(1));
    const valid = requestEntry(2, 1, 3, { type: 'put', key: text('k'), value: text('v') });
    const cut = { ...valid, data: valid.data.subarray(0, valid.data.length - 1) };
    const result = machine.apply(cut);
    assert.ok(result.type === 'response');
    assert.equal(result.origin, 'malformed');
    assert.equal(result.sessionId, 1);
    assert.equal(result.sequence, 3);
    const response = decodeResponse(result.response);
    assert.ok(response.type === 'error');
    assert.equal(response.code, 'malformed-request');
    assert.match(response.reason, /value length at byte 31/);
    assert.equal(machine.keyCount, 0);
    // The session's sequence was not consumed: the intact request still applies.
    assert.equal(responseOf(machine.apply({ ...valid, index: 3 })).type, 'ok');
    const unreadable = machine.apply({ term: 1, index: 4, data: Uint8Array.of(2) });
    assert.ok(unreadable.type === 'response' && unreadable.sessionId === 0 && unreadable.sequence === 0);
    // A version-1 entry (from a client built before sessions were registered) is refused, not applied.
    const version1 = machine.apply({ term: 1, index: 5, data: Buffer.from('01' + '01' + '0100000000000000' + '0100000000000000' + '01000000' + '6b' + '01000000' + '76', 'hex') });
    const refused = responseOf(version1);
    assert.ok(refused.type === 'error' && refused.code === 'malformed-request');
    assert.match(refused.reason, /unsupported version 1/);
  });

  test('the state machine refuses a map that is not empty and limits that are not positive integers', () => {
    const map = new SkipList(createPrng(1));
    map.put(text('x'), text('y'), 1);
    assert.throws(() => new KvStateMachine(map), /needs an empty map/);
    assert.throws(() => new KvStateMachine(new SkipList(createPrng(1)), { limits: { keyBytesMax: 0 } }), /keyBytesMax must be a positive safe integer/);
    assert.throws(() => new KvStateMachine(new SkipList(createPrng(1)), { sessionLimits: { sessionsMax: 1.5 } }), /sessionsMax must be a positive safe integer/);
    assert.throws(() => new KvStateMachine(new SkipList(createPrng(1)), { sessionLimits: { responsesPerSessionMax: 0 } }), /responsesPerSessionMax must be a positive safe integer/);
    assert.throws(() => new KvStateMachine(new SkipList(createPrng(1)), { snapshotStreamsMax: 0 }), /snapshotStreamsMax must be a positive safe integer/);
  });
});

/** A heap skip list that, like the shared one, has writeBatch; records how writes and batches nest. */
class BatchingMap extends SkipList {
  batches = 0;
  depth = 0;
  writesOutsideBatch = 0;
  writeBatch<T>(body: () => T): T {
    if (this.depth === 0) this.batches++;
    this.depth++;
    try {
      return body();
    } finally {
      this.depth--;
    }
  }
  override put(key: Uint8Array, value: Uint8Array, version: number): number {
    if (this.depth === 0) this.writesOutsideBatch++;
    return super.put(key, value, version);
  }
  override delete(key: Uint8Array): number {
    if (this.depth === 0) this.writesOutsideBatch++;
    return super.delete(key);
  }
}

describe('KvStateMachine.applyBatch', () => {
  test('gives exactly the results and state of apply one entry at a time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArbitrary, { maxLength: 60, size: 'max' }), fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 20 }), async (steps, sizes) => {
        const { log } = buildLog(steps, SMALL_LIMITS);
        const single = newMachine(1, SMALL_LIMITS, PROPERTY_SESSION_LIMITS);
        const batched = new KvStateMachine(new BatchingMap(createPrng(2)), { limits: SMALL_LIMITS, sessionLimits: PROPERTY_SESSION_LIMITS });
        const fromSingle = log.map((entry) => plain(single.apply(entry)));
        const fromBatches: unknown[] = [];
        for (let at = 0, round = 0; at < log.length; round++) {
          const size = sizes[round % sizes.length]!;
          fromBatches.push(...batched.applyBatch(log.slice(at, at + size)).map(plain));
          at += size;
        }
        assert.deepEqual(fromBatches, fromSingle);
        assert.equal(await snapshotBytes(batched), await snapshotBytes(single));
      }),
      { numRuns: 60 },
    );
  });

  test('takes the map\'s writeBatch once per batch, with every write inside it', () => {
    const map = new BatchingMap(createPrng(1));
    const machine = new KvStateMachine(map, { limits: { dataBytesMax: 10_000 } });
    const entries: Entry[] = [registerEntry(1)];
    for (let i = 2; i <= 50; i++) entries.push(requestEntry(i, 1, i, i % 5 === 0 ? { type: 'delete', key: text(`k${i - 1}`) } : { type: 'put', key: text(`k${i}`), value: text('v') }));
    const results = machine.applyBatch(entries.slice(0, 30));
    assert.equal(results.length, 30);
    assert.deepEqual(results.map((r) => r.type === 'response' && r.index), Array.from({ length: 30 }, (_, i) => i + 1));
    machine.applyBatch(entries.slice(30));
    assert.equal(map.batches, 2);
    assert.equal(map.writesOutsideBatch, 0);
    assert.equal(machine.keyCount, 39 - 10); // puts of k2 … k50 but the multiples of 5, minus 10 deletes
  });

  test('an entry out of order throws, having applied the ones before it', () => {
    const machine = new KvStateMachine(new BatchingMap(createPrng(1)));
    assert.throws(() => machine.applyBatch([registerEntry(1), noopEntry(2), noopEntry(4)]), StateMachineOrderError);
    assert.equal(machine.lastAppliedIndex, 2);
  });

  test('on the shared skip list, one batch is one write-lock hold', () => {
    const map = SharedSkipList.create({ lock: 'rwlock', prng: createPrng(3), segmentSizeBytes: 64 * 1024 });
    let writeLocks = 0;
    const writeLock = map.lock.writeLock.bind(map.lock);
    map.lock.writeLock = () => {
      writeLocks++;
      writeLock();
    };
    const machine = new KvStateMachine(map);
    const entries: Entry[] = [registerEntry(1)];
    for (let i = 2; i <= 40; i++) entries.push(requestEntry(i, 1, i, { type: 'put', key: text(`k${i}`), value: text('v') }));
    const results = machine.applyBatch(entries);
    assert.equal(writeLocks, 1);
    assert.equal(results.filter((r) => r.type === 'response' && r.origin === 'applied').length, 40);
    assert.equal(map.size, 39);
    for (let i = 41; i <= 45; i++) machine.apply(requestEntry(i, 1, i, { type: 'put', key: text(`k${i}`), value: text('v') }));
    assert.equal(writeLocks, 6, 'apply alone takes the lock per write');
  });
});

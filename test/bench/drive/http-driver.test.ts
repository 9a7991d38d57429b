// The autocannon HTTP driver against a real node:http server on 127.0.0.1 speaking the etcd v3
// gateway over a Map (etcd-gateway-fixture.ts): every request is a well-formed gateway request
// whose key and value are the workload's (connection i sends exactly client i's stream), the
// counts agree between client and server, refused requests are counted as errors by kind, the
// load phase writes every record once, and every output says "closed loop (autocannon)".
// etcd itself is not needed here (see test/bench/etcd/etcd-smoke.etcd.ts and npm run test:etcd).

import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import assert from 'node:assert/strict';
import { DRIVER_LABEL, errorKindOfStatus, runHttpAutocannon } from '../../../src/bench/drive/http-autocannon.js';
import { gatewayRefusals, gatewayRequestOf, GATEWAY_PATHS } from '../../../src/bench/drive/etcd-gateway-requests.js';
import { runHttpCell } from '../../../src/bench/run/http-cell.js';
import { createKeySpace, KeyEncoder, OperationStream, parseWorkload, type Operation, type Workload } from '../../../src/bench/workload/index.js';
import { EtcdGatewayFixture, type SeenRequest } from './etcd-gateway-fixture.js';

const VALUE_BYTES = 256;

function workload(overrides: Record<string, unknown> = {}): Workload {
  return parseWorkload(
    {
      name: 'http-mix',
      operations: { read: 0.4, update: 0.3, delete: 0.15, scan: 0.15 },
      keys: { recordCount: 500, distribution: 'uniform' },
      values: { sizeBytes: VALUE_BYTES, content: 'random' },
      load: { enabled: false },
      run: { concurrency: 4, warmupSeconds: 0, durationSeconds: 1, seed: 7 },
      ...overrides,
    },
    'test',
  );
}

function pathOf(operation: Operation): string {
  return operation.type === 'update' || operation.type === 'insert' ? GATEWAY_PATHS.put : operation.type === 'delete' ? GATEWAY_PATHS.deleteRange : GATEWAY_PATHS.range;
}

/** The first `count` requests client `index` of `spec` sends, as the fixture sees them. */
function expectedRequests(spec: Workload, index: number, count: number): Omit<SeenRequest, 'status'>[] {
  const stream = new OperationStream(spec, createKeySpace(spec), index);
  return Array.from({ length: count }, () => {
    const operation = stream.next();
    return {
      path: pathOf(operation),
      key: Buffer.from(operation.key).toString('latin1'),
      valueBytes: 'value' in operation ? operation.value.length : null,
    };
  });
}

test('every request is the gateway form of the workload: connection i sends client i’s stream, base64 keys and values', { timeout: 30_000 }, async () => {
  const fixture = new EtcdGatewayFixture();
  const url = await fixture.start();
  try {
    const spec = workload();
    const keySpace = createKeySpace(spec);
    const sources = Array.from({ length: 4 }, (_, index) => new OperationStream(spec, keySpace, index));
    const result = await runHttpAutocannon({ urls: [url], sources, durationMs: 1000, keySpace });
    assert.deepEqual(fixture.malformed, []);
    assert.equal(fixture.byConnection.size, 4, 'one server connection per autocannon connection');
    // Each connection's sequence is exactly one client's stream, from its first operation on.
    const matched = new Set<number>();
    for (const seen of fixture.byConnection.values()) {
      const withoutStatus = seen.map(({ status: _status, ...request }) => request);
      const index = [0, 1, 2, 3].find((candidate) => !matched.has(candidate) && isDeepStrictEqual(expectedRequests(spec, candidate, 1), withoutStatus.slice(0, 1)));
      assert.ok(index !== undefined, `a connection began with ${JSON.stringify(withoutStatus[0])}, which no client stream begins with`);
      matched.add(index);
      assert.deepEqual(withoutStatus, expectedRequests(spec, index, seen.length));
    }
    // Keys are the workload's: prefix "user", 23 bytes.
    for (const request of fixture.allRequests) assert.match(request.key, /^user\d{19}$/);
    // Client and server agree: what the server answered was recorded, bar what autocannon cut off.
    const served = fixture.allRequests.length;
    const recorded = result.recording.total.count + result.recording.total.errorCount;
    assert.ok(recorded <= served && served <= recorded + result.unfinished, `recorded ${recorded}, served ${served}, unfinished ${result.unfinished}`);
    assert.ok(recorded > 0);
    assert.equal(result.recording.total.errorCount, 0);
    assert.deepEqual(result.statusCodes, { '200': recorded });
    const putsServed = fixture.allRequests.filter((request) => request.path === GATEWAY_PATHS.put).length;
    const putsRecorded = (result.recording.byType['update']?.count ?? 0) + (result.recording.byType['insert']?.count ?? 0);
    assert.ok(putsRecorded <= putsServed && putsServed <= putsRecorded + result.unfinished);
  } finally {
    await fixture.stop();
  }
});

test('every insert sent is acknowledged to the key space, answered or cut off, so reads can reach it', { timeout: 30_000 }, async () => {
  const fixture = new EtcdGatewayFixture();
  const url = await fixture.start();
  try {
    const spec = workload({ operations: { insert: 0.5, read: 0.5 } });
    const keySpace = createKeySpace(spec);
    const sources = Array.from({ length: 3 }, (_, index) => new OperationStream(spec, keySpace, index));
    const result = await runHttpAutocannon({ urls: [url], sources, durationMs: 1000, keySpace });
    const inserts = fixture.allRequests.filter((request) => request.path === GATEWAY_PATHS.put).length;
    assert.ok((result.recording.byType['insert']?.count ?? 0) > 0);
    // Every insert drawn was acknowledged: nothing stays reserved, so the readable range covers
    // every insert the server saw (and those cut off in flight at the end, which it may not have).
    assert.equal(keySpace.readableCount, keySpace.reservedCount);
    const acknowledged = keySpace.readableCount - spec.keys.recordCount;
    assert.ok(inserts <= acknowledged && acknowledged <= inserts + result.unfinished, `server saw ${inserts} inserts, ${acknowledged} acknowledged, ${result.unfinished} cut off`);
  } finally {
    await fixture.stop();
  }
});

test('refused requests are errors by kind (503 unavailable, 429 rejected, 500 failed); latencies are of successes only', { timeout: 30_000 }, async () => {
  const statusFor = (n: number): number | null => (n % 10 === 3 ? 503 : n % 10 === 6 ? 429 : n % 17 === 0 ? 500 : null);
  const fixture = new EtcdGatewayFixture({ failWith: statusFor });
  const url = await fixture.start();
  try {
    const spec = workload({ operations: { update: 0.5, read: 0.5 } });
    const keySpace = createKeySpace(spec);
    const sources = Array.from({ length: 2 }, (_, index) => new OperationStream(spec, keySpace, index));
    const result = await runHttpAutocannon({ urls: [url], sources, durationMs: 1000 });
    const errors = result.recording.total.errors;
    const sent = (status: number): number => fixture.statusCounts.get(status) ?? 0;
    assert.ok(sent(503) > 0 && sent(429) > 0 && sent(500) > 0, `the fixture refused: ${JSON.stringify([...fixture.statusCounts])}`);
    // The last answers may be cut off (up to one per connection).
    for (const [status, kind] of [[503, 'unavailable'], [429, 'rejected'], [500, 'failed']] as const) {
      const recorded = errors[kind] ?? 0;
      assert.ok(recorded <= sent(status) && sent(status) <= recorded + result.unfinished, `${status}: server sent ${sent(status)}, recorded ${kind} ${recorded}`);
      assert.equal(result.statusCodes[String(status)], recorded);
    }
    assert.equal(result.recording.total.errorCount, (errors['unavailable'] ?? 0) + (errors['rejected'] ?? 0) + (errors['failed'] ?? 0));
    assert.equal(result.recording.total.latencyUs.count, result.statusCodes['200']);
    assert.equal(result.autocannon.non2xx, result.recording.total.errorCount);
  } finally {
    await fixture.stop();
  }
});

test('status codes map to error kinds', () => {
  assert.equal(errorKindOfStatus(200), null);
  assert.equal(errorKindOfStatus(204), null);
  assert.equal(errorKindOfStatus(503), 'unavailable');
  assert.equal(errorKindOfStatus(429), 'rejected');
  assert.equal(errorKindOfStatus(504), 'timeout');
  assert.equal(errorKindOfStatus(307), 'failed');
  assert.equal(errorKindOfStatus(404), 'failed');
});

test('the load phase puts every record exactly once; the cell is labelled closed loop (autocannon) everywhere', { timeout: 30_000 }, async () => {
  const fixture = new EtcdGatewayFixture();
  const url = await fixture.start();
  try {
    // 7 load connections over 200 records: shares of 29 and 28.
    const spec = workload({ operations: { read: 1 }, keys: { recordCount: 200, distribution: 'uniform' }, load: { enabled: true, concurrency: 7 } });
    const { cell, drive } = await runHttpCell({ targetName: 'fixture', urls: [url], workload: spec, repetition: 1 });
    const encoder = new KeyEncoder(spec.keys);
    const loadedKeys = Array.from({ length: 200 }, (_, number) => Buffer.from(encoder.encode(number)).toString('latin1'));
    assert.deepEqual([...fixture.store.keys()].sort(), loadedKeys.sort());
    const puts = fixture.allRequests.filter((request) => request.path === GATEWAY_PATHS.put);
    assert.equal(puts.length, 200, 'no record put twice');
    assert.ok(puts.every((put) => put.valueBytes === VALUE_BYTES));
    assert.equal(cell.load.records, 200);
    assert.equal(drive.driver, DRIVER_LABEL);
    assert.equal(DRIVER_LABEL, 'closed loop (autocannon)');
    assert.equal(cell.target.driver, DRIVER_LABEL);
    assert.equal(cell.target.kind, 'http');
    assert.equal(cell.drive.mode, 'closed-loop');
    assert.equal(cell.drive.coordinatedOmission, 'present');
    assert.ok(cell.notes.some((note) => note.startsWith(DRIVER_LABEL) && note.includes('not an open-loop')));
    assert.ok(cell.notes.some((note) => note.includes('whole milliseconds')), 'autocannon’s own figures carry their resolution');
    assert.equal(cell.costs, null);
  } finally {
    await fixture.stop();
  }
});

test('workloads the gateway cannot express are refused with the reason', () => {
  assert.deepEqual(gatewayRefusals(workload()), []);
  const rmw = gatewayRefusals(workload({ operations: { read: 0.5, readModifyWrite: 0.5 } }));
  assert.equal(rmw.length, 1);
  assert.match(rmw[0]!, /readModifyWrite .*\/v3\/kv\/txn/);
  const open = gatewayRefusals(workload({ run: { mode: 'open', rateOpsPerSecond: 1000, durationSeconds: 1 } }));
  assert.match(open.join(), /closed loop only .*fixed 1 ms interval/);
  assert.throws(() => gatewayRequestOf({ type: 'readModifyWrite', key: new Uint8Array([65]), keyNumber: 0, value: new Uint8Array() }), /txn/);
  const scan = JSON.parse(gatewayRequestOf({ type: 'scan', key: new Uint8Array([65, 66]), keyNumber: 0, scanLength: 5 }).body) as Record<string, unknown>;
  assert.deepEqual(scan, { key: 'QUI=', range_end: 'AA==', limit: 5 });
});

test('an abort stops the run early, also when it comes during the warm-up; the result says so', { timeout: 60_000 }, async () => {
  const fixture = new EtcdGatewayFixture();
  const url = await fixture.start();
  try {
    const spec = workload();
    const keySpace = createKeySpace(spec);
    const sources = Array.from({ length: 2 }, (_, index) => new OperationStream(spec, keySpace, index));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const startMs = performance.now();
    // 20 s warm-up and 20 s run: without the abort this takes 40 s.
    const result = await runHttpAutocannon({ urls: [url], sources, warmupMs: 20_000, durationMs: 20_000, signal: controller.signal });
    assert.equal(result.stoppedBy, 'signal');
    assert.ok(performance.now() - startMs < 15_000, `took ${Math.round(performance.now() - startMs)} ms after an abort at 300 ms`);
  } finally {
    await fixture.stop();
  }
});

test('a source that throws stops the run with its message kept, without crashing the process', { timeout: 60_000 }, async () => {
  const fixture = new EtcdGatewayFixture();
  const url = await fixture.start();
  try {
    const spec = workload();
    const stream = new OperationStream(spec, createKeySpace(spec), 0);
    let drawn = 0;
    const source = { next: (): Operation => (++drawn > 20 ? (() => { throw new Error('planted: source exhausted'); })() : stream.next()) };
    const startMs = performance.now();
    const result = await runHttpAutocannon({ urls: [url], sources: [source], durationMs: 20_000 });
    assert.match(result.firstException ?? '', /planted: source exhausted/);
    assert.equal(result.recording.total.count + result.recording.total.errorCount + result.unfinished, 20);
    assert.ok(performance.now() - startMs < 15_000, 'stopped long before its 20 s');
  } finally {
    await fixture.stop();
  }
});

// The workload files: every shipped file parses with its documented scale, defaults and shorthands
// resolve as README.md says, and each bad fixture in fixtures/bad/ is rejected with a line naming
// the file and the path of the bad field. The subtle thing: the fixture list and the table of
// expected lines must match one for one, so a new bad fixture cannot be added without its message.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { loadWorkload, parseWorkload, WorkloadError } from '../../../src/bench/workload/index.js';
import { FIXTURES, WORKLOADS } from './support.js';

// writes-64, writes-256, reads-256 and reads-under-writes are the switches benchmark's and
// `npm run profile`'s; http-put and http-get the etcd side-by-side benchmark's.
const SHIPPED = ['ycsb-a', 'ycsb-b', 'ycsb-c', 'ycsb-d', 'ycsb-e', 'ycsb-f', 'write-only', 'read-only', 'large-values', 'hot-key', 'mixed', 'writes-64', 'writes-256', 'reads-256', 'reads-under-writes', 'http-put', 'http-get'];

test('every shipped workload parses, is named after its file and says what it models', () => {
  const files = readdirSync(WORKLOADS).filter((name) => name.endsWith('.json'));
  assert.deepEqual(files.map((name) => name.replace(/\.json$/, '')).sort(), [...SHIPPED].sort());
  for (const file of files) {
    const workload = loadWorkload(`${WORKLOADS}${file}`);
    assert.equal(workload.name, file.replace(/\.json$/, ''));
    assert.ok(workload.description.length >= 40, `${file}: description too short to say what it models`);
  }
});

test('shipped YCSB workloads use the documented scale: 100 000 records, 20 s after a 5 s warm-up', () => {
  for (const letter of 'abcdef') {
    const workload = loadWorkload(`${WORKLOADS}ycsb-${letter}.json`);
    assert.equal(workload.keys.recordCount, 100_000);
    assert.equal(workload.run.durationSeconds, 20);
    assert.equal(workload.run.warmupSeconds, 5);
    assert.deepEqual(workload.values.sizeBytes, { type: 'constant', value: 1000 });
  }
});

test('the mixed workload is the short default: ~70/30 read/update, zipfian, 256 B text, 10 k records', () => {
  const workload = loadWorkload(`${WORKLOADS}mixed.json`);
  assert.equal(workload.operations.read, 0.7);
  assert.equal(workload.operations.update, 0.3);
  assert.equal(workload.keys.distribution.type, 'zipfian');
  assert.deepEqual(workload.values, { sizeBytes: { type: 'constant', value: 256 }, content: 'text' });
  assert.equal(workload.keys.recordCount, 10_000);
});

test('defaults fill every field but the mix', () => {
  const workload = parseWorkload({ operations: { read: 1 } }, 'somewhere/minimal.json');
  assert.deepEqual(workload, {
    name: 'minimal',
    description: '',
    operations: { read: 1, update: 0, insert: 0, scan: 0, readModifyWrite: 0, delete: 0 },
    scanLength: { type: 'uniform', min: 1, max: 1000 },
    keys: { recordCount: 100_000, prefix: 'user', keyBytes: 23, order: 'hashed', distribution: { type: 'zipfian', theta: 0.99 } },
    values: { sizeBytes: { type: 'constant', value: 1000 }, content: 'text' },
    load: { enabled: true, concurrency: 8 },
    run: { concurrency: 8, mode: 'closed', warmupSeconds: 5, durationSeconds: 20, seed: 1 },
  });
});

test('shorthands expand: a bare size, a distribution by name, open mode with an operation count', () => {
  const workload = parseWorkload(
    {
      operations: { read: 0.25, update: 0.25, insert: 0.25, delete: 0.25 },
      keys: { distribution: 'hotspot' },
      values: { sizeBytes: 64 },
      run: { mode: 'open', rateOpsPerSecond: 5000, operationCount: 10_000 },
    },
    'x.json',
  );
  assert.deepEqual(workload.keys.distribution, { type: 'hotspot', hotSetFraction: 0.2, hotOperationFraction: 0.8 });
  assert.deepEqual(workload.values.sizeBytes, { type: 'constant', value: 64 });
  assert.equal(workload.run.mode, 'open');
  if (workload.run.mode === 'open') assert.equal(workload.run.rateOpsPerSecond, 5000);
  assert.equal(workload.run.operationCount, 10_000);
  assert.equal(workload.run.durationSeconds, undefined);
});

// Each bad file and the line its error must contain: the file name, then the path of the field.
const BAD: readonly (readonly [file: string, line: string])[] = [
  ['theta-one.json', 'keys.distribution.theta: must be > 0 and != 1, got 1'],
  ['mix-sum.json', 'operations: proportions must sum to 1 (± 1e-9), got 0.9 (read 0.5 + update 0.4)'],
  ['missing-mix.json', 'operations: required'],
  ['unknown-field.json', 'keys.distrbution: unknown field'],
  ['bad-distribution.json', 'keys.distribution.type: must be one of "uniform", "zipfian", "latest", "hotspot", got "zipf"'],
  ['negative-proportion.json', 'operations.update: must be >= 0, got -0.1'],
  ['open-without-rate.json', 'run.rateOpsPerSecond: required when run.mode is "open"'],
  ['duration-and-count.json', 'run.operationCount: give durationSeconds or operationCount, not both, got 5000'],
  ['size-range.json', 'values.sizeBytes.max: must be >= min (500), got 100'],
  ['content.json', 'values.content: must be one of "random", "text", "json", got "lorem"'],
  ['key-too-short.json', 'keys.keyBytes: must leave at least 6 digits after the 4-byte prefix "user" to number 1000000 records, got 8'],
  ['hotspot-empty.json', 'keys.distribution.hotSetFraction: must cover at least one of the 1000 records (recordCount × hotSetFraction >= 1), got 0.0001'],
  ['scan-length.json', 'scanLength.max: must be <= 100000, got 1000000'],
  ['record-count.json', 'keys.recordCount: must be an integer, got 1.5'],
  ['not-json.json', 'not valid JSON'],
];

test('every bad file is rejected with its name and the path of the bad field', () => {
  const files = readdirSync(`${FIXTURES}bad`).sort();
  assert.deepEqual(files, BAD.map(([file]) => file).sort(), 'each bad fixture has an expected line');
  for (const [file, line] of BAD) {
    const path = `${FIXTURES}bad/${file}`;
    assert.throws(
      () => loadWorkload(path),
      (error: unknown) => {
        assert.ok(error instanceof WorkloadError, `${file}: ${String(error)}`);
        assert.ok(
          error.problems.some((problem) => problem === `${path}: ${line}` || (line === 'not valid JSON' && problem.startsWith(`${path}: ${line}`))),
          `${file}: expected "${line}" among:\n${error.message}`,
        );
        return true;
      },
    );
  }
});

test('several problems give one line each', () => {
  assert.throws(
    () => parseWorkload({ operations: { read: 'most' }, keys: { order: 'random' }, extra: 1 }, 'w.json'),
    (error: unknown) => {
      assert.ok(error instanceof WorkloadError);
      assert.deepEqual([...error.problems].sort(), [
        'w.json: extra: unknown field',
        'w.json: keys.order: must be one of "hashed", "ordered", got "random"',
        'w.json: operations.read: must be a number, got "most"',
      ]);
      return true;
    },
  );
});

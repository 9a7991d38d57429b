// YCSB property files: the standard workloada … workloadf (fixtures/ycsb/, YCSB's property values)
// map to the same mixes as the shipped JSON versions, approximations come back as warnings and
// impossible values as errors. The subtle thing: "same mix" compares proportions, key distribution
// and scan lengths only; the JSON versions deliberately differ in scale and value content.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadWorkload, loadYcsbProperties, parseYcsbProperties, WorkloadError, type Workload } from '../../../src/bench/workload/index.js';
import { FIXTURES, WORKLOADS } from './support.js';

/** What makes two workloads the same mix: operation proportions, key choice, scan lengths. */
function mix(workload: Workload): unknown {
  return {
    operations: workload.operations,
    distribution: workload.keys.distribution,
    scanLength: workload.operations.scan > 0 ? workload.scanLength : 'no scans',
  };
}

test('YCSB property files A–F map to the same mixes as the shipped JSON versions', () => {
  for (const letter of 'abcdef') {
    const mapped = loadYcsbProperties(`${FIXTURES}ycsb/workload${letter}`);
    const shipped = loadWorkload(`${WORKLOADS}ycsb-${letter}.json`);
    assert.deepEqual(mix(mapped.workload), mix(shipped), `workload ${letter}`);
    assert.equal(mapped.workload.name, `workload${letter}`);
  }
});

test('the standard files map record count, operation count, value size and key order as YCSB defines them', () => {
  const { workload, warnings } = loadYcsbProperties(`${FIXTURES}ycsb/workloada`);
  assert.equal(workload.keys.recordCount, 1000);
  assert.equal(workload.run.operationCount, 1000);
  assert.deepEqual(workload.values.sizeBytes, { type: 'constant', value: 1000 }, 'fieldcount 10 × fieldlength 100');
  assert.equal(workload.values.content, 'random');
  assert.equal(workload.keys.order, 'hashed');
  assert.equal(workload.run.concurrency, 1, "YCSB's threadcount default");
  // Updates write one field in YCSB: the only warning a standard update workload gets.
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /writeallfields is false/);
  assert.deepEqual(loadYcsbProperties(`${FIXTURES}ycsb/workloadc`).warnings, []);
});

test('unknown properties come back as warnings, not silently', () => {
  const { warnings } = parseYcsbProperties(
    'recordcount=500\noperationcount=100\nreadproportion=1\nupdateproportion=0\nfilterproportion=0\ncolour=blue\ntable=usertable\n',
    'props',
  );
  assert.deepEqual(warnings, ['props: unknown property filterproportion=0 ignored', 'props: unknown property colour=blue ignored']);
});

test('approximate mappings are warned about: summed field lengths, target rate, normalised proportions, one-slice loads', () => {
  const { workload, warnings } = parseYcsbProperties(
    [
      'recordcount=1000',
      'maxexecutiontime=30',
      'readproportion=0.6',
      'updateproportion=0.6',
      'fieldcount=4',
      'fieldlength=50',
      'minfieldlength=10',
      'fieldlengthdistribution=uniform',
      'writeallfields=true',
      'target=2000',
      'threadcount=16',
      'insertstart=500',
      'insertcount=500',
      'requestdistribution=hotspot',
      'hotspotdatafraction=0.1',
      'hotspotopnfraction=0.9',
      'scanlengthdistribution=zipfian',
      'maxscanlength=50',
    ].join('\n'),
    'props',
  );
  assert.deepEqual(workload.operations, { read: 0.5, update: 0.5, insert: 0, scan: 0, readModifyWrite: 0, delete: 0 });
  assert.deepEqual(workload.values.sizeBytes, { type: 'uniform', min: 40, max: 200 });
  assert.deepEqual(workload.keys.distribution, { type: 'hotspot', hotSetFraction: 0.1, hotOperationFraction: 0.9 });
  assert.deepEqual(workload.scanLength, { type: 'zipfian', min: 1, max: 50, theta: 0.99 });
  assert.equal(workload.run.mode, 'open');
  if (workload.run.mode === 'open') assert.equal(workload.run.rateOpsPerSecond, 2000);
  assert.equal(workload.run.durationSeconds, 30);
  assert.equal(workload.run.concurrency, 16);
  assert.equal(workload.load.concurrency, 16);
  const expected = [/insertstart=500 \/ insertcount=500/, /proportions sum to 1\.2; normalised/, /fieldlengthdistribution=uniform with fieldcount=4/, /target=2000/];
  assert.equal(warnings.length, expected.length, warnings.join('\n'));
  expected.forEach((pattern, i) => assert.match(warnings[i]!, pattern));
});

test('values that cannot be honoured are errors naming the property', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['requestdistribution=exponential', 'props: requestdistribution: must be uniform, zipfian, latest or hotspot here, got "exponential"'],
    ['fieldlengthdistribution=histogram', 'props: fieldlengthdistribution: must be one of constant, uniform, zipfian here, got "histogram"'],
    ['readproportion=most', 'props: readproportion: must be a number in [0, 1], got "most"'],
    ['recordcount=-5', 'props: recordcount: must be an integer >= 0, got "-5"'],
    ['workload=site.ycsb.workloads.TimeSeriesWorkload', `props: workload: only YCSB's CoreWorkload is understood, got "site.ycsb.workloads.TimeSeriesWorkload"`],
  ];
  for (const [line, message] of cases) {
    assert.throws(
      () => parseYcsbProperties(`recordcount=100\noperationcount=10\n${line}\n`, 'props'),
      (error: unknown) => {
        assert.ok(error instanceof WorkloadError);
        assert.deepEqual(error.problems, [message]);
        return true;
      },
      line,
    );
  }
});

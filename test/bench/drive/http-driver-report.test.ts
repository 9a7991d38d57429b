// The side-by-side report of bench:etcd, from synthetic cells: the closed-loop label and the
// millisecond caveat are on the page, every cell has its row, medians are over the repetitions of
// one target, and raftbench's ratio to etcd and its p99 verdict are computed against etcd's medians.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderSideBySide, type SideBySideRow } from '../../../src/bench/etcd/etcd-report.js';
import { AUTOCANNON_LATENCY_RESOLUTION } from '../../../src/bench/drive/http-autocannon.js';
import { makeCell, TEST_ENVIRONMENT, WINDOW_US } from '../report/run-fixture.js';

/** A cell of `count` operations in the fixture's 10 s window, all of latency `latencyUs`. */
function row(target: string, repetition: number, operations: number, latencyUs: number): SideBySideRow {
  const cell = makeCell({ profile: target, workload: 'http-put', repetition, types: { update: { valuesUs: [latencyUs], countEach: operations } }, driver: 'closed loop (autocannon)' });
  return {
    target,
    workload: 'http-put',
    connections: 64,
    repetition,
    cell,
    autocannon: { latencyResolution: AUTOCANNON_LATENCY_RESOLUTION, latencyMs: { p50: 1, p90: 1, p99: 1, p999: 1, max: 1, mean: 1 }, requestsPerSecondMean: 1, sent: 1, responses2xx: 1, non2xx: 0, errors: 0, timeouts: 0, durationSeconds: 10 },
    statusCodes: { '200': operations },
    loadBefore: 1,
    loadAfter: 1.5,
    driverCpuPercent: 20,
    etcdCpuPercent: target === 'etcd' ? 80 : null,
  };
}

test('the side-by-side report: labels, a row per cell, medians per target, raftbench × etcd', () => {
  const seconds = WINDOW_US / 1e6;
  const rows = [
    row('etcd', 1, 1000 * seconds, 1900),
    row('raftbench', 1, 4000 * seconds, 900),
    row('etcd', 2, 1200 * seconds, 2000),
    row('raftbench', 2, 3000 * seconds, 1000),
    row('etcd', 3, 800 * seconds, 1800),
    row('raftbench', 3, 3600 * seconds, 800),
  ];
  const markdown = renderSideBySide({
    environment: TEST_ENVIRONMENT,
    loadAverageAtEnd: [1, 1, 1],
    etcdVersion: '3.4.23',
    etcdDescription: '3.4.23, 3 members',
    raftbenchDescription: 'raftbench at http://127.0.0.1:1',
    targeting: 'leader',
    rows,
    resultsFile: 'results/etcd-x.json',
    interrupted: false,
  });
  assert.match(markdown, /\*\*Driver: closed loop \(autocannon\)\.\*\*/);
  assert.match(markdown, /not an open-loop latency measurement/);
  assert.match(markdown, /whole milliseconds/);
  assert.match(markdown, /fixed 1 ms expected interval/);
  assert.equal(markdown.split('\n').filter((line) => /^\| http-put \| 64 \| (etcd|raftbench) \| \d \| \d+ \|/.test(line)).length, 6, 'one row per cell');
  // Medians: etcd 1000 req/s (800 – 1200), p99 1.9 ms; raftbench 3600 (3000 – 4000), p99 0.9 ms → 3.60 ×, lower.
  assert.match(markdown, /\| http-put \| 64 \| etcd \| 3 \| 1000 \(800 – 1200\) \| 1\.9 \| 1\.9 \|  \|  \|/);
  assert.match(markdown, /\| http-put \| 64 \| raftbench \| 3 \| 3600 \(3000 – 4000\) \| 0\.9 \| 0\.9 \| 3\.60 \| lower \|/);
  assert.match(markdown, /load average \(1, 5, 15 min\)/);
});

// `raftbench run --target URL` end to end: the CLI as a child process drives the etcd-gateway
// fixture (a real HTTP server in this process) with the autocannon closed loop; the results file
// loads, its cells say "closed loop (autocannon)" and target kind 'http', the records are loaded
// once for all repetitions, and --profiles with --target (or neither) is a usage error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRunFile } from '../../../src/bench/results/load.js';
import { DRIVER_LABEL } from '../../../src/bench/drive/http-autocannon.js';
import { GATEWAY_PATHS } from '../../../src/bench/drive/etcd-gateway-requests.js';
import { runCli } from '../cli-process.js';
import { EtcdGatewayFixture } from './etcd-gateway-fixture.js';

test('raftbench run --target: the HTTP target in the results file and report, labelled closed loop (autocannon); records loaded once', { timeout: 60_000 }, async () => {
  const fixture = new EtcdGatewayFixture();
  const url = await fixture.start();
  const dir = mkdtempSync(join(tmpdir(), 'raftbench-http-run-'));
  try {
    const out = join(dir, 'run.json');
    const result = await runCli(
      ['run', '--target', url, '--target-name', 'fixture', '--workloads', 'http-get', '--records', '50', '--concurrency', '4', '--duration', '1', '--warmup', '0', '--repetitions', '2', '--no-progress', '--out', out],
      45_000,
    );
    assert.equal(result.code, 0, result.stderr);
    const run = loadRunFile(out);
    assert.deepEqual(run.cells.map((cell) => `${cell.profile}#${cell.repetition}`), ['fixture#1', 'fixture#2']);
    for (const cell of run.cells) {
      assert.equal(cell.target.kind, 'http');
      assert.equal(cell.target.driver, DRIVER_LABEL);
      assert.equal(cell.drive.mode, 'closed-loop');
      assert.ok(cell.total.count > 0);
      assert.equal(cell.total.errorCount, 0);
    }
    assert.equal(fixture.allRequests.filter((request) => request.path === GATEWAY_PATHS.put).length, 50, 'the 50 records are put once, not once per repetition');
    assert.match(result.stdout, /closed loop \(autocannon\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await fixture.stop();
  }
});

test('raftbench run: --target and --profiles together, or neither, is a usage error; a bad URL names itself', { timeout: 30_000 }, async () => {
  const both = await runCli(['run', '--target', 'http://127.0.0.1:1', '--profiles', 'baseline', '--workloads', 'http-put'], 20_000);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--profiles .* or --target/);
  const neither = await runCli(['run', '--workloads', 'http-put'], 20_000);
  assert.equal(neither.code, 2);
  const bad = await runCli(['run', '--target', 'ftp://x', '--workloads', 'http-put'], 20_000);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /urls\[0\]: must be http: or https:, got 'ftp:\/\/x'/);
  const rmw = await runCli(['run', '--target', 'http://127.0.0.1:1', '--workloads', 'ycsb-f'], 20_000);
  assert.equal(rmw.code, 2);
  assert.match(rmw.stderr, /readModifyWrite/);
});

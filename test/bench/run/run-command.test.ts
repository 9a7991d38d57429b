// `raftbench run` end to end, as a user runs it: a real child process, an embedded cluster with
// real storage, a results file that loads, a report on stdout. Durations are tiny (this proves the
// harness, not the store's speed); every wait is bounded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadRunFile } from '../../../src/bench/results/load.js';
import { runCli } from '../cli-process.js';

const SHORT = ['--duration', '0.4', '--warmup', '0.1', '--records', '40', '--concurrency', '8', '--no-progress'];

test('raftbench run: two profiles × one workload × 2 repetitions, interleaved; the file loads; fsyncs per write tell all-on group commit from per-entry sync; the report names both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftbench-run-test-'));
  try {
    const out = join(dir, 'run.json');
    const result = await runCli(['run', '--profiles', 'baseline,all-on', '--workloads', 'write-only', '--repetitions', '2', '--out', out, ...SHORT, '--duration', '1.5'], 120_000);
    assert.equal(result.code, 0, result.stderr);
    const run = loadRunFile(out);
    assert.equal(run.interrupted, false);
    assert.deepEqual(
      run.cells.map((cell) => `${cell.profile}#${cell.repetition}`),
      ['baseline#1', 'all-on#1', 'baseline#2', 'all-on#2'],
      'repetitions interleave: A B A B',
    );
    // 1.5 s measured (the last --duration wins): at 0.4 s a busy machine once let a baseline cell
    // (three fsyncs in a row per write) finish nothing inside the window.
    for (const cell of run.cells) {
      assert.ok(cell.total.count > 0, `${cell.profile}#${cell.repetition} measured operations`);
      assert.equal(cell.total.errorCount, 0, `${cell.profile}#${cell.repetition} had errors`);
      assert.equal(cell.load.records, 40, 'the load phase inserted every record');
      assert.ok((cell.costs?.operations ?? 0) > 0);
    }
    // Per-entry sync: every node syncs every entry (3 nodes ⇒ about 3 fsyncs per write, less the
    // entries still in flight when the window closes); group commit shares syncs between the 8
    // clients' writes (all-on: group commit with pipelining and batching).
    const fsyncsPerWrite = (profile: string): number[] => run.cells.filter((cell) => cell.profile === profile).map((cell) => cell.costs?.perOperation.fsyncs ?? Number.NaN);
    for (const value of fsyncsPerWrite('baseline')) assert.ok(value >= 2.5, `baseline fsyncs/op ${value}`);
    for (const value of fsyncsPerWrite('all-on')) assert.ok(value <= 1.5, `all-on fsyncs/op ${value}`);
    assert.ok(run.environment.cores > 0 && run.environment.node.startsWith('v'), JSON.stringify(run.environment));
    assert.match(result.stdout, /baseline/);
    assert.match(result.stdout, /all-on/);
    assert.match(result.stdout, /p99/);
    assert.ok(existsSync(join(dir, 'run.html')), 'the report with charts is written beside the results file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('raftbench run: a profile with layout "processes" runs as node processes over TCP, driven over the binary protocol, and leaves none behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftbench-run-test-'));
  try {
    const out = join(dir, 'run.json');
    const result = await runCli(['run', '--profiles', 'baseline-processes', '--workloads', 'write-only', '--repetitions', '1', '--out', out, ...SHORT, '--duration', '1.5'], 120_000);
    assert.equal(result.code, 0, result.stderr);
    const [cell] = loadRunFile(out).cells;
    assert.ok(cell !== undefined);
    assert.equal(cell.target.kind, 'processes');
    assert.ok(cell.total.count > 0 && cell.total.errorCount === 0, JSON.stringify(cell.total.errors));
    assert.equal(cell.load.records, 40);
    // Counters come from the node processes over the protocol: one sync per entry on each of 3 nodes.
    assert.ok((cell.costs?.perOperation.fsyncs ?? 0) >= 2.5, `fsyncs/op ${cell.costs?.perOperation.fsyncs}`);
    const nodes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes('main.js node') && line.includes('baseline-processes.json'));
    assert.deepEqual(nodes, [], 'no node process outlives the run');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('raftbench run: Ctrl-C keeps the cells that finished, marks the file interrupted and exits 130', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftbench-run-test-'));
  try {
    const out = join(dir, 'run.json');
    let interrupted = false;
    const result = await runCli(['run', '--profiles', 'fsync-batched', '--workloads', 'write-only', '--repetitions', '50', '--out', out, ...SHORT.filter((arg) => arg !== '--no-progress')], 120_000, (stderr, child) => {
      // The per-cell log (no terminal): interrupt once the first cell is in.
      if (!interrupted && /\[1\/50\]/.test(stderr)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    assert.ok(interrupted, `no cell finished: ${result.stderr}`);
    assert.equal(result.code, 130, result.stderr);
    assert.ok(existsSync(out));
    const run = loadRunFile(out);
    assert.equal(run.interrupted, true);
    assert.ok(run.cells.length >= 1 && run.cells.length < 50, `${run.cells.length} cells kept`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('raftbench run: an unknown profile and a malformed option are refused by name, exit 2, nothing written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftbench-run-test-'));
  try {
    const out = join(dir, 'run.json');
    const missing = await runCli(['run', '--profiles', 'no-such-profile', '--workloads', 'write-only', '--out', out], 30_000);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no-such-profile/);
    const bad = await runCli(['run', '--profiles', 'baseline', '--workloads', 'write-only', '--repetitions', 'many', '--out', out], 30_000);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--repetitions/);
    assert.equal(existsSync(out), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

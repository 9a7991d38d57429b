// `raftbench gate --counters-only` as CI runs it: the compiled CLI in a child process. Unchanged
// code is green against the committed baseline; a planted extra fsync per write (the patch
// mutations/gate-extra-fsync-per-write.patch, applied to a copy of src/ in a temporary folder,
// never to the product) is red, and the summary names the counter, from what to what. The exact
// comparison itself: a baseline edited by one byte per put fails with that counter; usage errors
// exit 2. The timing leg is proven by scripts/gate-truth-table.mjs (minutes, not seconds).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareCounters, loadBaseline } from '../../src/bench/gate/baseline.js';
import { COUNTER_CONFIGURATIONS, measureCounters } from '../../src/bench/gate/counters.js';
import { preparePatchedTree, removePatchedTree } from '../../src/bench/gate/patched-tree.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BASELINE = join(ROOT, 'results', 'gate-baseline.json');
const directory = mkdtempSync(join(tmpdir(), 'raftbench-gate-'));
after(() => rmSync(directory, { recursive: true, force: true }));

function raftbench(main: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('gate --counters-only on unchanged code: exit 0, every counter equal to the committed baseline', { timeout: 120_000 }, () => {
  const summaryPath = join(directory, 'unchanged.md');
  const { status, stdout, stderr } = raftbench(MAIN, 'gate', '--counters-only', '--quiet', '--summary', summaryPath);
  assert.equal(status, 0, `${stdout}\n${stderr}`);
  const summary = readFileSync(summaryPath, 'utf8');
  assert.ok(summary.startsWith('## ✅ raftbench gate: pass'), summary);
  assert.ok(summary.includes('| baseline | fsyncsPerPut | 2.96 | 2.96 | +0.00 % |'), summary);
  assert.equal(stdout.trim(), summary.trim());
});

test('the counters are exactly reproducible: the same configuration twice gives identical figures', { timeout: 60_000 }, async () => {
  const configuration = COUNTER_CONFIGURATIONS[1]!;
  assert.deepEqual(await measureCounters(configuration), await measureCounters(configuration));
});

test('a planted extra fsync per write (patched copy of src/) is red by its counter', { timeout: 300_000 }, async () => {
  const tree = join(directory, 'extra-fsync');
  await preparePatchedTree({ headDir: ROOT, patchPath: join(ROOT, 'mutations', 'gate-extra-fsync-per-write.patch'), dir: tree, how: 'copy' });
  try {
    const summaryPath = join(directory, 'extra-fsync.md');
    const { status, stdout, stderr } = raftbench(join(tree, 'dist', 'src', 'cli', 'main.js'), 'gate', '--counters-only', '--quiet', '--baseline', BASELINE, '--summary', summaryPath);
    assert.equal(status, 1, `${stdout}\n${stderr}`);
    const summary = readFileSync(summaryPath, 'utf8');
    assert.ok(summary.startsWith('## ❌ raftbench gate: FAIL'), summary);
    // Both configurations write through the WAL, so both must show it, by name and with both values.
    assert.match(summary, /- baseline: fsyncsPerPut moved from 2\.96 to [3-9][\d.]* \(\+\d/);
    assert.match(summary, /- all-on: fsyncsPerPut moved from 0\.205 to /);
  } finally {
    await removePatchedTree(ROOT, tree);
  }
});

test('compareCounters names the counter that moved, from what to what; within tolerance passes', async () => {
  const baseline = await loadBaseline(BASELINE);
  const measured = Object.fromEntries(Object.entries(baseline.configurations).map(([name, { counters }]) => [name, { ...counters }]));
  assert.equal(compareCounters(baseline, measured).pass, true);
  measured['all-on']!.bytesWrittenPerPut += 1;
  const verdict = compareCounters(baseline, measured);
  assert.equal(verdict.pass, false);
  assert.deepEqual(verdict.problems, [`all-on: bytesWrittenPerPut moved from 101.433 to 102.433 (+0.99 %; tolerance ±0.01 %)`]);
  assert.equal(compareCounters(baseline, measured, 1).pass, true);
  delete measured['baseline'];
  assert.match(compareCounters(baseline, measured, 1).problems.join('\n'), /'baseline' is in the baseline but was not measured/);
});

test('usage errors exit 2 with the reason; a damaged baseline exits 1 naming the file', { timeout: 60_000 }, () => {
  const unknown = raftbench(MAIN, 'gate', '--no-such-option');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown option '--no-such-option'/);
  const badFloor = raftbench(MAIN, 'gate', '--floor-percent', 'lots');
  assert.equal(badFloor.status, 2);
  assert.match(badFloor.stderr, /--floor-percent must be a number in \[0, 1000\], got 'lots'/);
  const both = raftbench(MAIN, 'gate', '--counters-only', '--base', 'HEAD');
  assert.equal(both.status, 2);
  assert.match(both.stderr, /exclude each other/);
  const badRef = raftbench(MAIN, 'gate', '--base', 'no-such-ref-anywhere');
  assert.equal(badRef.status, 2);
  assert.match(badRef.stderr, /--base: 'no-such-ref-anywhere' does not name a commit/);
  const damaged = join(directory, 'damaged.json');
  writeFileSync(damaged, '{"format":"raftbench-gate-baseline/1","note":"","configurations":{"baseline":{"description":"","counters":{"fsyncsPerPut":"many"}}}}');
  const bad = raftbench(MAIN, 'gate', '--counters-only', '--quiet', '--baseline', damaged);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /damaged\.json: not a gate baseline: configurations\.baseline\.counters/);
});

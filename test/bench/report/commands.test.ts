// `raftbench report` and `raftbench compare` as a user runs them: child processes of the compiled
// CLI on run files written to a temporary folder. Exit code 0 with the report; 2 with a clear
// message for bad usage — a missing file, a file of another schema version, a damaged one, an
// unknown baseline, metric or format, a compare of one file.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { ladder, mainScenarioCells, makeCell, makeRun, writeRun } from './run-fixture.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'raftbench-report-'));
after(() => rmSync(directory, { recursive: true, force: true }));

// Few resamples: these tests are about the commands, not the intervals.
const FAST = ['--resamples', '200'];

function raftbench(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const runPath = writeRun(directory, 'run-1.json', makeRun(mainScenarioCells()));

function smallRun(countEach: number): unknown {
  return makeRun(
    [0, 1, 2, 3, 4].flatMap((r) => [
      makeCell({ profile: 'baseline', workload: 'w', repetition: r, types: { get: { valuesUs: ladder(400, 10, r), countEach: 100 } } }),
      makeCell({ profile: 'all-on', workload: 'w', repetition: r, types: { get: { valuesUs: ladder(200, 10, r), countEach: countEach + r } } }),
    ]),
  );
}
const oldPath = writeRun(directory, 'old.json', smallRun(200));
const newPath = writeRun(directory, 'new.json', smallRun(300));

test('report prints the Markdown report and exits 0', { timeout: 120_000 }, () => {
  const { status, stdout, stderr } = raftbench('report', runPath, ...FAST);
  assert.equal(status, 0, stderr);
  assert.ok(stdout.startsWith('# raftbench report\n'));
  assert.ok(stdout.includes('## Workload kv-mix'));
  assert.ok(stdout.includes('fsync-none UNSAFE'));
  assert.ok(stdout.includes('coordinated omission'));
});

test('report --format csv / csv-summary / json, to stdout or --out', { timeout: 120_000 }, () => {
  const csv = raftbench('report', runPath, '--format', 'csv', ...FAST);
  assert.equal(csv.status, 0, csv.stderr);
  assert.equal((parse(csv.stdout, { columns: true }) as unknown[]).length, 5 * 5 * 3 + 2 * 2 * 2);

  const out = join(directory, 'deeper', 'summary.csv');
  const summary = raftbench('report', runPath, '--format', 'csv-summary', '--out', out, '--baseline', 'all-on', ...FAST);
  assert.equal(summary.status, 0, summary.stderr);
  assert.match(summary.stdout, /raftbench report: wrote .*summary\.csv/);
  const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
  assert.ok(rows.filter((row) => row['workload'] === 'kv-mix' && row['ratio'] !== '').every((row) => row['reference'] === 'all-on'));

  const json = raftbench('report', runPath, '--format', 'json', ...FAST);
  assert.equal(json.status, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { schema: string }).schema, 'raftbench.report/1');
});

test('compare pairs each profile across files, labelled by file, and says which got faster', { timeout: 120_000 }, () => {
  const { status, stdout, stderr } = raftbench('compare', oldPath, newPath, ...FAST);
  assert.equal(status, 0, stderr);
  assert.ok(stdout.startsWith(`# raftbench compare: ${oldPath} → ${newPath}`));
  // all-on@new (300 + r per value) against all-on@old (200 + r): 1.5×, significant with 5 + 5.
  assert.match(stdout, /- \*\*all-on@new\*\*: 1\.50 ± [\d.]+ × the throughput of all-on@old .*: faster, \+49\.5 % \(p=0\.008 n=5\+5\)/);
  assert.match(stdout, /- \*\*baseline@new\*\*: 1\.00 ± 0\.00 × the throughput of baseline@old .*: no significant difference, ~ \(p=1 n=5\+5\)/);
  assert.ok(stdout.includes('| vs '), 'a vs column when the references differ');

  const againstBaseline = raftbench('compare', oldPath, newPath, '--baseline', 'baseline', '--metric', 'throughput', ...FAST);
  assert.equal(againstBaseline.status, 0, againstBaseline.stderr);
  assert.match(againstBaseline.stdout, /- \*\*all-on@new\*\*: [\d.]+ ± [\d.]+ × the throughput of baseline@old/);
  assert.ok(!againstBaseline.stdout.includes('**p50 latency**'));
});

test('--help explains the options and exits 0', () => {
  for (const command of ['report', 'compare']) {
    const help = raftbench(command, '--help');
    assert.equal(help.status, 0);
    for (const option of ['--baseline', '--metric', '--out', '--resamples']) assert.ok(help.stdout.includes(option), `${command} ${option}`);
  }
  assert.ok(raftbench('report', '--help').stdout.includes('--format'));
  assert.match(raftbench('--help').stdout, /report +report run files[\s\S]*compare +compare run files/);
});

test('bad input exits 2 with a message naming what is wrong', { timeout: 120_000 }, () => {
  const missing = raftbench('report', join(directory, 'nope.json'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope\.json: cannot read: ENOENT/);

  const otherVersion = writeRun(directory, 'v0.json', { ...(makeRun([]) as object), schema: 'raftbench.run/0' });
  const version = raftbench('report', otherVersion);
  assert.equal(version.status, 2);
  assert.match(version.stderr, /v0\.json: schema "raftbench\.run\/0" is not supported: this build reads "raftbench\.run\/1"/);

  const damaged = makeRun(mainScenarioCells().slice(0, 1)) as unknown as { cells: { drive: { mode: string } }[] };
  damaged.cells[0]!.drive.mode = 'sideways';
  const damagedPath = writeRun(directory, 'damaged.json', damaged);
  const bad = raftbench('report', damagedPath);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /damaged\.json: cells\[0\]\.drive\.mode: must be one of "open-loop", "closed-loop", got "sideways"/);

  const both = raftbench('compare', join(directory, 'nope.json'), otherVersion);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /nope\.json: cannot read[\s\S]*v0\.json: schema/, 'every bad file is named, not just the first');

  const baseline = raftbench('report', runPath, '--baseline', 'nobody');
  assert.equal(baseline.status, 2);
  assert.match(baseline.stderr, /baseline 'nobody' is not a profile of any run given; they are: all-on, baseline, same, fsync-none, closed/);

  const metric = raftbench('report', runPath, '--metric', 'throughput,speed');
  assert.equal(metric.status, 2);
  assert.match(metric.stderr, /unknown metric 'speed'/);
  const metricType = raftbench('report', runPath, '--metric', 'fsyncs/op:get');
  assert.equal(metricType.status, 2);
  assert.match(metricType.stderr, /measured over all operations only/);

  const format = raftbench('report', runPath, '--format', 'xml');
  assert.equal(format.status, 2);
  assert.match(format.stderr, /--format must be one of markdown, html, csv, csv-summary, json, got 'xml'/);

  const resamples = raftbench('report', runPath, '--resamples', '5');
  assert.equal(resamples.status, 2);
  assert.match(resamples.stderr, /--resamples must be an integer in \[100, 1000000\]/);

  const none = raftbench('report');
  assert.equal(none.status, 2);
  assert.match(none.stderr, /missing required argument 'runs'/);

  const one = raftbench('compare', oldPath);
  assert.equal(one.status, 2);
  assert.match(one.stderr, /needs at least two results files to compare, got 1/);
});

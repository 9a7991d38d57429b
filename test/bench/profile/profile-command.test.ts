// `raftbench profile` end to end, as `npm run profile` runs it: a real child process running an
// embedded cluster with real storage, profiled by node --cpu-prof (and, when asked for, by clinic);
// the report folder on disk; the hotspots and the layer rollup read back from the printed text, as
// a person or a CI log would read them. Runs are short (this proves the tooling, not the store's
// speed) and every wait is bounded. Clinic's own reports take a minute or more each: they are
// tested by `npm run test:clinic` (profile-clinic.slow.ts), not by every `npm test`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli-process.js';

import { SHORT, assertSumsToHundred, layerRollup, onlyReportFolder, raftbenchHotspots } from './profile-support.js';

test('raftbench profile --tool cpu-prof: the .cpuprofile, run.json and hotspots.txt on disk; the hotspots name raftbench functions in src/*.ts; the layer rollup sums to 100 %', async () => {
  const root = mkdtempSync(join(tmpdir(), 'raftbench-profile-test-'));
  try {
    const checkout = readdirSync('.').sort();
    const result = await runCli([...SHORT, '--tool', 'cpu-prof', '--out-root', root], 120_000);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readdirSync('.').sort(), checkout, 'the run left nothing in the working directory');
    const folder = onlyReportFolder(root);
    const profiles = readdirSync(join(folder, 'cpu'));
    assert.ok(profiles.some((name) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(name)), `a main-thread profile: ${profiles.join(', ')}`);
    assert.ok(existsSync(join(folder, 'run.json')));
    assert.equal(readFileSync(join(folder, 'hotspots.txt'), 'utf8'), result.stdout, 'hotspots.txt holds what was printed');
    assert.doesNotMatch(result.stdout, /FALLBACK/);
    assert.match(result.stdout, /profiled run: +\d+ ops\/s, p99 \d+ µs, 0 errors/);
    assert.match(result.stdout, /^window: +the measured run only, \d+\.\d s after the warm-up/m, 'the run marked its measured window');
    const ours = raftbenchHotspots(result.stdout);
    assert.ok(ours.length > 0, `no hotspot names a raftbench function in src/*.ts:\n${result.stdout}`);
    assertSumsToHundred(layerRollup(result.stdout));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('raftbench profile: clinic that does not finish in time is killed; the output says there is no clinic report and still shows the --cpu-prof hotspots', async () => {
  const root = mkdtempSync(join(tmpdir(), 'raftbench-profile-test-'));
  try {
    // The --cpu-prof run comes first, bounded by the workload; then 1 s is too short for clinic to
    // start node, load the store and run, so its bound kills it (process group and all).
    const checkout = readdirSync('.').sort();
    const result = await runCli([...SHORT, '--tool', 'flame', '--timeout', '1', '--out-root', root], 120_000);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readdirSync('.').sort(), checkout, 'the runs left nothing in the working directory (clinic runs in the report folder)');
    assert.match(result.stdout, /^FALLBACK: clinic flame could not run — did not finish within 1 s and was killed/m);
    assert.doesNotMatch(result.stdout, /clinic flame report:/);
    const folder = join(root, readdirSync(root)[0]!);
    assert.deepEqual(readdirSync(folder).filter((name) => name.includes('.clinic-flame')), [], 'the killed clinic run left no data behind');
    assert.ok(existsSync(join(folder, 'clinic.log')), "clinic's output is kept for the curious");
    assert.ok(raftbenchHotspots(result.stdout).length > 0);
    assertSumsToHundred(layerRollup(result.stdout));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('raftbench profile: an unknown tool or workload is a usage error naming it', async () => {
  const tool = await runCli(['profile', '--profile', 'all-on', '--workload', 'writes-64', '--tool', 'perf'], 30_000);
  assert.equal(tool.code, 2);
  assert.match(tool.stderr, /--tool.*perf|perf.*--tool/);
  const workload = await runCli(['profile', '--profile', 'all-on', '--workload', 'no-such-workload', '--tool', 'cpu-prof'], 30_000);
  assert.equal(workload.code, 2);
  assert.match(workload.stderr, /no-such-workload/);
});

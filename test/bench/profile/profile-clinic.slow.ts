// Clinic's own reports, end to end (`npm run test:clinic`; a minute or more each, so not part of
// every `npm test`, which runs the --cpu-prof path and clinic's fallback instead).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli-process.js';
import { SHORT, assertSumsToHundred, layerRollup, onlyReportFolder, raftbenchHotspots } from './profile-support.js';

test('raftbench profile --tool flame: clinic flame writes its HTML report beside the --cpu-prof hotspots', { timeout: 400_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'raftbench-profile-test-'));
  try {
    const result = await runCli([...SHORT, '--duration', '1', '--tool', 'flame', '--out-root', root], 300_000);
    assert.equal(result.code, 0, result.stderr);
    const folder = onlyReportFolder(root);
    const html = readdirSync(folder).filter((name) => name.endsWith('.clinic-flame.html'));
    assert.equal(html.length, 1, readdirSync(folder).join(', '));
    assert.ok(readFileSync(join(folder, html[0]!), 'utf8').includes('<html'), 'a real HTML report');
    assert.match(result.stdout, new RegExp(`clinic flame report: .*${html[0]!.replace(/\./g, '\\.')}`));
    assert.doesNotMatch(result.stdout, /FALLBACK/);
    assert.ok(raftbenchHotspots(result.stdout).length > 0);
    assertSumsToHundred(layerRollup(result.stdout));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('raftbench profile --tool doctor: doctor writes its report even where node_trace.*.log files lie in the working directory (clinic runs in the report folder)', { timeout: 400_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'raftbench-profile-test-'));
  // What a failed bubbleprof leaves behind, and what doctor refuses to start beside.
  const leftover = 'node_trace.1.log';
  assert.ok(!existsSync(leftover), `${leftover} already in the working directory: delete it first`);
  writeFileSync(leftover, '');
  try {
    const result = await runCli([...SHORT, '--duration', '1', '--tool', 'doctor', '--out-root', root], 300_000);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /FALLBACK/);
    const folder = join(root, readdirSync(root)[0]!);
    assert.equal(readdirSync(folder).filter((name) => name.endsWith('.clinic-doctor.html')).length, 1, readdirSync(folder).join(', '));
  } finally {
    rmSync(leftover, { force: true });
    rmSync(root, { recursive: true, force: true });
  }
});

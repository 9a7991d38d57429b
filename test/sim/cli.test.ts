// `raftbench sim` as a user runs it: a real child process of the compiled CLI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function sim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, 'sim', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('sim --seeds runs a range and prints the summary', () => {
  const { status, stdout } = sim('--seeds', '5', '--first-seed', '40');
  assert.equal(status, 0, stdout);
  for (const line of ['seeds run          5 (5 passed, 0 failed)', 'seeds/s', 'events', 'elections won', 'entries committed', 'messages sent', 'faults injected', 'time to elect      min']) {
    assert.ok(stdout.includes(line), `missing "${line}" in:\n${stdout}`);
  }
});

test('sim --seed replays one seed with every event and its trace digest', () => {
  const first = sim('--seed', '42');
  const second = sim('--seed', '42');
  assert.equal(first.status, 0, first.stdout);
  assert.match(first.stdout, /deliver +AppendEntries/);
  assert.match(first.stdout, /trace digest +[0-9a-f]{16}/);
  assert.equal(first.stdout.replace(/wall time.*\n/, ''), second.stdout.replace(/wall time.*\n/, ''));
});

test('sim --help explains the options; bad options exit 2 naming the option', () => {
  const help = sim('--help');
  assert.equal(help.status, 0);
  for (const option of ['--seeds', '--first-seed', '--seed', '--nodes', '--ticks', '--quiet']) assert.ok(help.stdout.includes(option), option);
  const bad = sim('--seeds', 'many');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--seeds must be an integer/);
  const badNodes = sim('--nodes', '99');
  assert.equal(badNodes.status, 2);
  assert.match(badNodes.stderr, /--nodes must be an integer in \[1, 15\]/);
});

// Profiles: every shipped file resolves, `extends` merges section by section, bad files name the
// file and the field, and unsafe settings run only when declared.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROFILE_DEFAULTS, ProfileError, loadProfile, nodeOptionsOf, parseProfile } from '../../src/server/profile.js';

async function withProfiles(files: Record<string, unknown>, run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'raftbench-profiles-'));
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, `${name}.json`), typeof content === 'string' ? content : JSON.stringify(content));
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function problemsOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProfileError, `a ProfileError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('the profile was accepted');
}

test('every shipped profile resolves to node options; the unsafe ones say why', async () => {
  const names = readdirSync('profiles').filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -5));
  assert.ok(names.length >= 12, `profiles shipped: ${names.join(', ')}`);
  for (const name of names) {
    const profile = await loadProfile(name);
    assert.equal(profile.name, name);
    assert.ok(profile.description.length > 20, `${name} describes itself`);
    const options = nodeOptionsOf(profile, 1, [1, 2, 3], '/tmp/unused', 1);
    assert.equal(options.raft.inflightMax, profile.replication.inflightMax);
    assert.equal(profile.unsafe, ['reads-stale', 'fsync-none'].includes(name), `${name}: ${profile.unsafeReasons.join('; ')}`);
  }
  const baseline = await loadProfile('baseline');
  assert.deepEqual(
    { cluster: baseline.cluster, timing: baseline.timing, raft: baseline.raft, replication: baseline.replication, storage: baseline.storage, kv: baseline.kv, reads: baseline.reads },
    PROFILE_DEFAULTS,
    'baseline.json spells out the defaults',
  );
  const allOn = await loadProfile('all-on');
  assert.equal(allOn.storage.fsync, 'batched');
  assert.equal(allOn.replication.inflightMax, 64);
  assert.equal(allOn.kv.lock, 'rwlock');
});

test('extends: the child replaces fields, section by section; chains and cycles', async () => {
  await withProfiles(
    {
      base: { storage: { fsync: 'batched', logCodec: 'lz4' }, replication: { inflightMax: 8 } },
      child: { extends: 'base', storage: { logCodec: 'none' } },
      grandchild: { extends: 'child', replication: { batchEntriesMax: 16 } },
      loopA: { extends: 'loopB' },
      loopB: { extends: 'loopA' },
    },
    async (dir) => {
      const profile = await loadProfile(join(dir, 'grandchild.json'));
      assert.equal(profile.storage.fsync, 'batched', 'inherited from base');
      assert.equal(profile.storage.logCodec, 'none', 'replaced by child');
      assert.equal(profile.replication.inflightMax, 8);
      assert.equal(profile.replication.batchEntriesMax, 16);
      assert.equal(profile.sources.length, 3);
      assert.match(await problemsOf(loadProfile(join(dir, 'loopA.json'))), /extends: cycle/);
      assert.match(await problemsOf(loadProfile(join(dir, 'missing.json'))), /missing\.json: no such profile file/);
    },
  );
});

test('a bad profile names the file and the path of every bad field', async () => {
  await withProfiles(
    {
      bad: {
        replication: { inflightMax: 0, batchEntriesMax: 'many' },
        storage: { fsync: 'sometimes', logCodec: 'gzip' },
        cluster: { nodes: 3, colour: 'blue' },
      },
      notJson: '{ "storage": ',
      heartbeat: { timing: { electionTicks: 10, heartbeatTicks: 6 } },
    },
    async (dir) => {
      const message = await problemsOf(loadProfile(join(dir, 'bad.json')));
      for (const expected of [/bad\.json: replication\.inflightMax: must be >= 1, got 0/, /replication\.batchEntriesMax: .*got "many"/, /storage\.fsync: must be one of/, /storage\.logCodec: must be 'none', 'lz4' or 'zstd:N'/, /cluster\.colour: unknown field/]) {
        assert.match(message, expected);
      }
      assert.match(await problemsOf(loadProfile(join(dir, 'notJson.json'))), /not valid JSON/);
      assert.match(await problemsOf(loadProfile(join(dir, 'heartbeat.json'))), /timing\.heartbeatTicks: must be at most half of timing\.electionTicks/);
    },
  );
});

test('unsafe settings run only when the profile says so', () => {
  for (const [content, reason] of [
    [{ storage: { fsync: 'none' } }, /storage\.fsync 'none'/],
    [{ reads: { mode: 'stale' } }, /reads\.mode 'stale'/],
    [{ timing: { electionTicks: 30, leaseTicks: 29 }, reads: { mode: 'lease' } }, /leaseTicks 29 exceeds the safe bound 26/],
  ] as const) {
    assert.throws(() => parseProfile(JSON.stringify(content), 'p.json'), (error: unknown) => error instanceof ProfileError && reason.test(error.message) && /set "unsafe": true/.test(error.message));
    const accepted = parseProfile(JSON.stringify({ ...content, unsafe: true }), 'p.json');
    assert.equal(accepted.unsafe, true);
    assert.ok(accepted.unsafeReasons.some((line) => reason.test(line)));
  }
  assert.throws(() => parseProfile(JSON.stringify({ reads: { mode: 'lease' } }), 'p.json'), /'lease' needs timing\.leaseTicks > 0/);
});

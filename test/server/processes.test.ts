// Real node processes on 127.0.0.1 (the compiled `raftbench node` and `raftbench cluster`):
// a leader SIGKILLed and restarted from disk, a partition through the admin endpoint, and no orphan
// processes after the cluster command is stopped or killed. Writes and reads go through the admin
// endpoint's debug routes (off by default; the client APIs come from another branch).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsFiles } from '../../src/transport/tls-files.js';
import { opensslAvailable, selfSignedCertificate } from '../transport/tls-fixture.js';
import { adminRequest, alive, freePortBase, killAll, spawnCli, statusOf, waitForEvent, writeTestProfile, type AdminStatus } from './process-cluster.js';

after(killAll);

async function until(what: string, predicate: () => Promise<boolean>, timeoutMs: number, state: () => Promise<string> = async () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${await state()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface PutReply {
  readonly index: number;
}

test('three node processes: the leader SIGKILLed, a new one elected, the old one restarts from disk and catches up; a partition through the admin endpoint', { timeout: 90_000 }, async (t) => {
  // Where the time went, in the test's output (process start-up dominates on a busy machine).
  const startedMs = Date.now();
  const step = (what: string): void => t.diagnostic(`${((Date.now() - startedMs) / 1000).toFixed(1)} s: ${what}`);
  const dir = await mkdtemp(join(tmpdir(), 'raftbench-processes-test-'));
  try {
    const profile = await writeTestProfile(dir);
    const base = await freePortBase(3);
    const ids = [1, 2, 3];
    const peers = ids.map((id) => `${id}=127.0.0.1:${base + id - 1}`).join(',');
    const adminOf = (id: number): string => `127.0.0.1:${base + 100 + id - 1}`;
    const startNode = (id: number) =>
      spawnCli(['node', '--id', String(id), '--data', join(dir, `node-${id}`), '--peers', peers, '--profile', profile, '--admin-port', String(base + 100 + id - 1), '--admin-debug-routes']);
    const nodes = new Map(ids.map((id) => [id, startNode(id)]));
    for (const id of ids) await waitForEvent(nodes.get(id)!.lines, 'listening', 20_000);
    const statuses = async (): Promise<(AdminStatus | null)[]> => Promise.all(ids.map((id) => statusOf(adminOf(id))));
    const describe = async (): Promise<string> => JSON.stringify(await statuses());
    const leaderOf = async (excluded = 0): Promise<number> => {
      const all = await statuses();
      const leader = all.find((status) => status !== null && status.id !== excluded && status.role === 'leader' && status.commit > 0);
      return leader?.id ?? 0;
    };
    step('three nodes listening');
    let leader = 0;
    await until('a leader', async () => (leader = await leaderOf()) !== 0, 20_000, describe);
    step(`n${leader} leads`);

    // A write goes to whoever leads now; a leader change in between (elections churn on a busy
    // machine) answers 503 and is retried, like a client would. Every wait is bounded.
    const put = async (key: string, excluded = 0): Promise<number> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const at = leader !== 0 ? leader : await leaderOf(excluded);
        if (at !== 0) {
          const reply = await adminRequest<PutReply>(adminOf(at), 'POST', '/debug/put', { key, value: `value of ${key}` }).catch(() => null);
          if (reply?.status === 200) return reply.body.index;
          if (reply !== null) assert.ok(reply.status === 503 || reply.status === 504, JSON.stringify(reply.body));
        }
        if (Date.now() > deadline) throw new Error(`put ${key}: no leader accepted it within 20 s ${await describe()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        leader = await leaderOf(excluded);
      }
    };
    // Ten writes at once (one admin session; proposals batch in the leader's loop).
    const putAll = async (prefix: string, count: number, excluded = 0): Promise<number> =>
      Math.max(...(await Promise.all(Array.from({ length: count }, (_, k) => put(`${prefix}-${k}`, excluded)))));
    let lastIndex = await putAll('before', 10);

    // SIGKILL the leader: the others elect a new one, which still has every committed write.
    const killed = leader;
    const oldTerm = (await statusOf(adminOf(killed)))!.term;
    nodes.get(killed)!.child.kill('SIGKILL');
    await nodes.get(killed)!.exited;
    step(`10 writes committed; n${killed} SIGKILLed`);
    await until('a new leader', async () => (leader = await leaderOf(killed)) !== 0, 20_000, describe);
    step(`n${leader} leads`);
    assert.notEqual(leader, killed);
    assert.ok((await statusOf(adminOf(leader)))!.term > oldTerm);
    lastIndex = await putAll('after', 10, killed);
    step('10 more writes');

    // The killed node restarts from its data directory and catches up.
    nodes.set(killed, startNode(killed));
    await waitForEvent(nodes.get(killed)!.lines, 'listening', 20_000);
    step(`n${killed} restarted`);
    await until(`n${killed} to catch up to ${lastIndex}`, async () => ((await statusOf(adminOf(killed)))?.applied ?? 0) >= lastIndex, 20_000, describe);
    for (const key of ['before-0', 'before-9', 'after-9']) {
      let read: { status: number; body: { found: boolean; value: string; leader: number } } | null = null;
      await until(`a read of ${key} from the leader`, async () => {
        read = await adminRequest<{ found: boolean; value: string; leader: number }>(adminOf(leader), 'GET', `/debug/get?key=${key}`).catch(() => null);
        if (read?.status === 200) return true;
        leader = (await leaderOf()) || leader;
        return false;
      }, 20_000, describe);
      assert.deepEqual({ found: read!.body.found, value: read!.body.value }, { found: true, value: `value of ${key}` });
    }
    const follower = (await statuses()).find((status) => status !== null && status.role === 'follower')!.id;
    const notLeader = await adminRequest<{ error: string; leader: number }>(adminOf(follower), 'GET', '/debug/get?key=before-0');
    assert.equal(notLeader.status, 503);
    assert.ok(notLeader.body.leader !== 0 && notLeader.body.leader !== follower, `a follower names the leader: ${JSON.stringify(notLeader.body)}`);

    // Isolate that follower through its admin endpoint (its side of both links): it applies
    // nothing while the other two keep committing; healed, it catches up.
    for (const peer of ids.filter((id) => id !== follower)) {
      const cut = await adminRequest<{ faults: { partitioned: boolean } }>(adminOf(follower), 'PUT', `/faults/${peer}`, { partitioned: true });
      assert.equal(cut.body.faults.partitioned, true);
    }
    const bad = await adminRequest<{ field: string }>(adminOf(follower), 'PUT', `/faults/${ids.find((id) => id !== follower)}`, { dropProbability: 3 });
    assert.deepEqual([bad.status, bad.body.field], [400, 'dropProbability']);
    const appliedBefore = (await statusOf(adminOf(follower)))!.applied;
    lastIndex = await putAll('cut', 5, follower);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await statusOf(adminOf(follower)))!.applied, appliedBefore, 'the isolated follower applied nothing');
    await adminRequest(adminOf(follower), 'DELETE', '/faults');
    await until(`n${follower} to catch up after the heal`, async () => ((await statusOf(adminOf(follower)))?.applied ?? 0) >= lastIndex, 20_000, describe);
    step('partition and heal done');
    // Graceful stop: SIGTERM, exit code 0.
    for (const id of ids) nodes.get(id)!.child.kill('SIGTERM');
    for (const id of ids) assert.equal(await nodes.get(id)!.exited, 0, `n${id} stopped cleanly: ${nodes.get(id)!.lines.slice(-3).join(' | ')}`);
    step('stopped');
  } finally {
    killAll();
    await rm(dir, { recursive: true, force: true });
  }
});

interface ReadyLine {
  readonly leader: number;
  readonly nodes: readonly { id: number; pid: number; admin: string }[];
}

/** Starts `raftbench cluster`, waits for its ready line, stops it with `parentSignal`, and checks every node exits. */
async function clusterLeavesNoOrphans(parentSignal: 'SIGTERM' | 'SIGKILL', tls: TlsFiles | null): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'raftbench-cluster-test-'));
  try {
    const profile = await writeTestProfile(dir);
    const base = await freePortBase(3);
    const tlsArgs = tls === null ? [] : ['--tls-cert', tls.certPath, '--tls-key', tls.keyPath, '--tls-ca', tls.caPath];
    const cluster = spawnCli(['cluster', '--profile', profile, '--nodes', '3', '--base-port', String(base), '--data', join(dir, 'data'), ...tlsArgs]);
    const ready = await waitForEvent<ReadyLine>(cluster.lines, 'ready', 30_000);
    assert.equal(ready.nodes.length, 3);
    const pids = ready.nodes.map((node) => node.pid);
    for (const pid of pids) assert.ok(alive(pid), `node pid ${pid} runs`);
    const status = await statusOf(ready.nodes.find((node) => node.id === ready.leader)!.admin);
    assert.equal(status?.role, 'leader');
    assert.equal(status?.tls, tls !== null, 'peer traffic is TLS exactly when asked');
    cluster.child.kill(parentSignal);
    const exit = await cluster.exited;
    if (parentSignal === 'SIGTERM') assert.equal(exit, 0, cluster.lines.slice(-5).join('\n'));
    await until(`every node process to exit after ${parentSignal} of the parent`, async () => pids.every((pid) => !alive(pid)), 15_000, async () => `alive: ${pids.filter(alive).join(', ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the cluster command leaves no node process behind after SIGTERM or SIGKILL of the parent (one of them over TLS)', { timeout: 60_000 }, async () => {
  // Two clusters side by side (their own ports): one stopped, one killed. The first talks mutual
  // TLS with a certificate made now (when the openssl CLI is there): it elects a leader through it.
  const tls = opensslAvailable() ? await selfSignedCertificate() : null;
  try {
    await Promise.all([clusterLeavesNoOrphans('SIGTERM', tls), clusterLeavesNoOrphans('SIGKILL', null)]);
  } finally {
    killAll();
    if (tls !== null) await rm(tls.dir, { recursive: true, force: true });
  }
});

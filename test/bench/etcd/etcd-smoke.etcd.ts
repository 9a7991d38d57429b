// etcd itself under the HTTP driver: a 1-member etcd on loopback, 1 s of puts through the
// autocannon closed loop, the last value read back through the gateway; and the launcher's
// promises — stop() leaves no etcd process, and a member outlives its lifetime bound by at most
// a few seconds even if nobody calls stop() (what happens when the bench is SIGKILLed).
//
// Not part of `npm test` (which must not need etcd): run with `npm run test:etcd`. Without etcd it
// FAILS, saying how to install it — it never skips.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { runHttpAutocannon } from '../../../src/bench/drive/http-autocannon.js';
import { ensureEtcd, ETCD_INSTALL_HINT, ETCD_PATH_DEFAULT, startEtcdCluster } from '../../../src/bench/etcd/etcd-cluster.js';
import { createKeySpace, OperationStream, parseWorkload, type Operation } from '../../../src/bench/workload/index.js';

/** Processes whose command line mentions `text` (our members carry their data directory in it). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return condition();
}

test('etcd is installed (installed with apt-get when run as root with CI=true)', () => {
  assert.ok(ensureEtcd(ETCD_PATH_DEFAULT), ETCD_INSTALL_HINT);
});

test('1 s of puts against a 1-member etcd: all answered 200, the last value reads back; stop() leaves no process', { timeout: 60_000 }, async () => {
  const cluster = await startEtcdCluster({ members: 1, lifetimeSecondsMax: 60 });
  try {
    assert.ok(processesMentioning(cluster.dataRoot).length >= 1, 'the member runs');
    const workload = parseWorkload(
      { name: 'etcd-smoke', operations: { update: 1 }, keys: { recordCount: 100, distribution: 'uniform' }, values: { sizeBytes: 256 }, load: { enabled: false }, run: { concurrency: 4, warmupSeconds: 0, durationSeconds: 1 } },
      'test',
    );
    const keySpace = createKeySpace(workload);
    let last: Extract<Operation, { type: 'update' }> | null = null;
    const sources = Array.from({ length: 4 }, (_, index) => {
      const stream = new OperationStream(workload, keySpace, index);
      // Connection 0's operations are remembered, so its last answered put can be read back.
      return index === 0 ? { next: () => (last = stream.next() as Extract<Operation, { type: 'update' }>) } : stream;
    });
    const result = await runHttpAutocannon({ urls: cluster.clientUrls, sources, durationMs: 1000 });
    assert.ok(result.recording.total.count > 0);
    assert.equal(result.recording.total.errorCount, 0, JSON.stringify(result.recording.total.errors));
    assert.deepEqual(Object.keys(result.statusCodes), ['200']);
    assert.ok(result.recording.total.latencyUs.p50 > 0);
    // The last put on connection 0 may have been cut off; put it once more, then read it.
    const put = last as Extract<Operation, { type: 'update' }> | null;
    assert.ok(put !== null);
    const key = Buffer.from(put.key).toString('base64');
    const value = Buffer.from(put.value).toString('base64');
    const post = (path: string, body: unknown) => fetch(`${cluster.clientUrls[0]}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
    assert.equal((await post('/v3/kv/put', { key, value })).status, 200);
    const range = (await (await post('/v3/kv/range', { key })).json()) as { kvs?: { value: string }[] };
    assert.equal(range.kvs?.[0]?.value, value);
  } finally {
    await cluster.stop();
  }
  assert.deepEqual(processesMentioning(cluster.dataRoot), [], 'no etcd process left after stop()');
  assert.equal(existsSync(cluster.dataRoot), false, 'the data directory is removed');
});

test('a member never outlives its lifetime bound (nobody calls stop, as after a SIGKILL of the bench)', { timeout: 60_000 }, async () => {
  const cluster = await startEtcdCluster({ members: 1, lifetimeSecondsMax: 3 });
  try {
    assert.ok(processesMentioning(cluster.dataRoot).length >= 1);
    // timeout sends SIGTERM at 3 s and SIGKILL 5 s later: all gone within ~8 s of the start.
    assert.ok(await until(() => processesMentioning(cluster.dataRoot).length === 0, 15_000), 'etcd still running past its bound');
  } finally {
    await cluster.stop();
  }
});

// SIGKILL mid-load: a child process runs an embedded cluster with group commit and writers; the
// test kills it without warning, restarts a cluster from the same directories, and reads back
// every put the child had acknowledged. Group commit acknowledges only after fsync, so none may
// be missing (a kill, unlike a power loss, keeps even the page cache: the check is that nothing
// acknowledged was only in memory).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedCluster } from '../../src/server/embedded-cluster.js';
import { KvClient } from '../../src/client/client.js';
import { realRuntime } from '../../src/server/runtime.js';
import { createPrng } from '../../src/random/prng.js';

const CHILD = join(process.cwd(), 'dist/test/server/cluster-child.js');
const ACKS_BEFORE_KILL = 300;

/** Runs the child until it has acknowledged `acks` puts, then SIGKILLs it; returns the acked keys. */
function runAndKill(dataDir: string, acks: number, timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let buffered = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child acknowledged ${acked.length} of ${acks} puts within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line.startsWith('ACK ')) acked.push(line.slice(4));
      if (!killed && acked.length >= acks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`the child ended without being killed (${signal ?? 'exit'})\n${stderr}`));
      else resolve(acked);
    });
  });
}

test('SIGKILL of a process running an embedded cluster mid-load loses no acknowledged put', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'raftbench-kill-'));
  try {
    const acked = await runAndKill(dataDir, ACKS_BEFORE_KILL, 60_000);
    assert.ok(acked.length >= ACKS_BEFORE_KILL);
    const cluster = await EmbeddedCluster.start({ nodes: 3, dataDir, node: { tickMs: 5, storage: { fsync: 'batched' } } });
    try {
      await cluster.waitForLeader(20_000);
      const client = new KvClient({ endpoints: cluster.nodes(), readMode: 'read-index', runtime: realRuntime, prng: createPrng(2) });
      const missing: string[] = [];
      for (let start = 0; start < acked.length; start += 64) {
        const batch = acked.slice(start, start + 64);
        const reads = await Promise.all(batch.map((key) => client.get(new TextEncoder().encode(key))));
        reads.forEach((read, k) => {
          const key = batch[k]!;
          if (!read.ok || read.response.type !== 'value' || Buffer.from(read.response.value).toString() !== `value of ${key}`) missing.push(key);
        });
      }
      assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged puts are gone after the kill`);
    } finally {
      await cluster.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

// A child process for the kill test: an embedded 3-node cluster on the data directory it is given
// (real storage, group commit), with 16 writers putting unique keys. Every acknowledged put is
// printed as `ACK key` (stdout to a pipe is synchronous on Linux, so a printed ack was acked);
// the parent kills the process with SIGKILL mid-load and checks the acks against the disk.
// Usage: node cluster-child.js DATA_DIR

import { EmbeddedCluster } from '../../src/server/embedded-cluster.js';
import { KvClient } from '../../src/client/client.js';
import { realRuntime } from '../../src/server/runtime.js';
import { createPrng } from '../../src/random/prng.js';

const WRITERS = 16;
const text = (value: string): Uint8Array => new TextEncoder().encode(value);

async function main(): Promise<void> {
  const dataDir = process.argv[2];
  if (dataDir === undefined) throw new Error('usage: cluster-child DATA_DIR');
  const cluster = await EmbeddedCluster.start({ nodes: 3, dataDir, node: { tickMs: 5, storage: { fsync: 'batched' }, proposalBatchEntriesMax: 256, readiesInFlightMax: 16, sendBeforePersist: true } });
  await cluster.waitForLeader(10_000);
  process.stdout.write('READY\n');
  const client = new KvClient({ endpoints: cluster.nodes(), readMode: 'read-index', runtime: realRuntime, prng: createPrng(1) });
  // Bounded: the parent kills long before this ends; if it does not, the process still stops.
  const deadlineMs = Date.now() + 30_000;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let n = 0; Date.now() < deadlineMs; n++) {
        const key = `w${writer}-${n}`;
        const result = await client.put(text(key), text(`value of ${key}`));
        if (result.ok && result.response.type === 'ok') process.stdout.write(`ACK ${key}\n`);
      }
    }),
  );
  await cluster.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`cluster-child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

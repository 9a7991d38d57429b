// Child process for the crash test: opens a store, runs the seeded append script with several
// appends in flight, and prints "ack <n>" to stdout each time the n-th append resolves (stdout to
// a pipe is synchronous on Linux, so a printed ack happened before any later kill). The parent
// kills it with SIGKILL at a seeded moment. Bounded: it stops by itself after maxAppends or maxMs.
//
// argv: dir policy seed concurrency codec

import { Storage } from '../../src/storage/storage.js';
import type { FsyncPolicy } from '../../src/storage/options.js';
import { appendScript } from './fixtures.js';

const MAX_APPENDS = 100_000;
const MAX_RUN_MS = 15_000;

async function main(): Promise<void> {
  const [dir, policyText, seedText, concurrencyText, codec] = process.argv.slice(2);
  if (dir === undefined || policyText === undefined || seedText === undefined || concurrencyText === undefined || codec === undefined) {
    throw new Error('usage: crash-child <dir> <policy> <seed> <concurrency> <codec>');
  }
  const policy = policyText as FsyncPolicy;
  const { storage } = await Storage.open(dir, {
    fsync: policy,
    allowUnsafe: policy === 'none',
    logCodec: codec,
    segmentSizeBytes: 16 * 1024,
    onWarning: () => undefined,
  });
  const concurrency = Number(concurrencyText);
  const deadline = Date.now() + MAX_RUN_MS;
  process.stdout.write('ready\n');
  let issued = 0;
  let acked = 0;
  const inFlight = new Set<Promise<void>>();
  for (const step of appendScript(Number(seedText))) {
    if (issued >= MAX_APPENDS || Date.now() > deadline) break;
    const number = ++issued;
    const done = storage.append(step.entries, step.hardState).then(() => {
      if (number !== acked + 1) throw new Error(`append ${number} resolved before append ${acked + 1}`);
      acked = number;
      process.stdout.write(`ack ${number}\n`);
    });
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await storage.close();
  process.stdout.write('done\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`crash-child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

// Child process for the crash test: opens a store, runs the seeded append script with several
// appends in flight, and prints "ack <n>" to stdout each time the n-th append resolves (stdout to
// a pipe is synchronous on Linux, so a printed ack happened before any later kill). The parent
// kills it with SIGKILL at a seeded moment. Bounded: it stops by itself after appendsMax or maxMs.
//
// With a tear spec the child instead kills itself in the middle of a write: the n-th write to a
// WAL file puts only a seeded prefix of its bytes on disk, the child prints "tearing …" and
// SIGKILLs itself. A real kill cuts a write() short only at the kernel's page boundaries, and
// rarely; this puts the cut at any byte, so the parent sees every way a torn write can end.
//
// argv: dir policy seed concurrency codec [tearAtWrite:tearSeed]

import type { Prng } from '../../src/random/prng.js';
import { createPrng } from '../../src/random/prng.js';
import { realFileOps, type FileOps, type OpenMode, type StorageFile } from '../../src/storage/file-ops.js';
import { Storage } from '../../src/storage/storage.js';
import type { FsyncPolicy } from '../../src/storage/options.js';
import { appendScript } from './fixtures.js';

const APPENDS_MAX = 100_000;
const RUN_MS_MAX = 15_000;
/** Half the tears land in a write's last bytes, where its last append's record ends. */
const TEAR_NEAR_END_BYTES = 64;

/** Real file operations, except that the `tearAtWrite`-th write to a .wal file is torn (see above). */
class TearingFileOps implements FileOps {
  private walWrites = 0;

  constructor(
    private readonly inner: FileOps,
    private readonly tearAtWrite: number,
    private readonly prng: Prng,
  ) {}

  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    const file = await this.inner.open(path, mode);
    if (!path.endsWith('.wal')) return file;
    const write = async (data: Uint8Array, positionBytes: number): Promise<void> => {
      if (++this.walWrites !== this.tearAtWrite || data.byteLength < 2) return file.write(data, positionBytes);
      const keptBytes = this.prng.chance(0.5)
        ? this.prng.nextInt(1, data.byteLength)
        : Math.max(1, data.byteLength - this.prng.nextInt(1, TEAR_NEAR_END_BYTES + 1));
      await file.write(data.subarray(0, keptBytes), positionBytes);
      process.stdout.write(`tearing write ${this.walWrites}: ${keptBytes} of ${data.byteLength} bytes\n`);
      process.kill(process.pid, 'SIGKILL');
    };
    return {
      path: file.path,
      write,
      read: (target, positionBytes) => file.read(target, positionBytes),
      datasync: () => file.datasync(),
      sync: () => file.sync(),
      truncate: (lengthBytes) => file.truncate(lengthBytes),
      sizeBytes: () => file.sizeBytes(),
      close: () => file.close(),
    };
  }
  readdir(dir: string): Promise<string[]> {
    return this.inner.readdir(dir);
  }
  mkdir(dir: string): Promise<void> {
    return this.inner.mkdir(dir);
  }
  rename(fromPath: string, toPath: string): Promise<void> {
    return this.inner.rename(fromPath, toPath);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  syncDirectory(dir: string): Promise<void> {
    return this.inner.syncDirectory(dir);
  }
  readSync(path: string, target: Uint8Array, positionBytes: number): number {
    return this.inner.readSync(path, target, positionBytes);
  }
}

function fileOpsFor(tearSpec: string | undefined): FileOps {
  if (tearSpec === undefined) return realFileOps;
  const match = /^(\d+):(\d+)$/.exec(tearSpec);
  if (match === null) throw new Error(`tear spec must be <tearAtWrite>:<tearSeed>, got ${tearSpec}`);
  return new TearingFileOps(realFileOps, Number(match[1]), createPrng(Number(match[2])));
}

async function main(): Promise<void> {
  const [dir, policyText, seedText, concurrencyText, codec, tearSpec] = process.argv.slice(2);
  if (dir === undefined || policyText === undefined || seedText === undefined || concurrencyText === undefined || codec === undefined) {
    throw new Error('usage: crash-child <dir> <policy> <seed> <concurrency> <codec> [tearAtWrite:tearSeed]');
  }
  const policy = policyText as FsyncPolicy;
  const { storage } = await Storage.open(dir, {
    fsync: policy,
    allowUnsafe: policy === 'none',
    logCodec: codec,
    segmentSizeBytes: 16 * 1024,
    fileOps: fileOpsFor(tearSpec),
    onWarning: () => undefined,
  });
  const concurrency = Number(concurrencyText);
  const deadline = Date.now() + RUN_MS_MAX;
  process.stdout.write('ready\n');
  let issued = 0;
  let acked = 0;
  const inFlight = new Set<Promise<void>>();
  for (const step of appendScript(Number(seedText))) {
    if (issued >= APPENDS_MAX || Date.now() > deadline) break;
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

// A backstop in case the parent is gone and cannot kill this child: exit on our own, after the
// append loop's own deadline has had time to end the run normally.
setTimeout(() => {
  process.stderr.write(`crash-child: still running after ${RUN_MS_MAX + 5000} ms; exiting\n`);
  process.exit(3);
}, RUN_MS_MAX + 5000).unref();

main().catch((error: unknown) => {
  process.stderr.write(`crash-child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

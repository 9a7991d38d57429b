// Child process for the snapshot-atomicity crash test: saves snapshot A completely, prints
// "saved", then starts snapshot B with a slow streamed body and prints "streaming" once B's first
// chunk has been written. The parent SIGKILLs it while B is being written. Bounded: B's body ends
// after BODY_CHUNKS chunks, and the process exits when done.
//
// argv: dir codec

import { Storage } from '../../src/storage/storage.js';
import { generatedBody, makeEntries } from './fixtures.js';

const BODY_CHUNKS = 400;
const CHUNK_BYTES = 64 * 1024;

async function* slowBody(): AsyncGenerator<Uint8Array> {
  let chunkNumber = 0;
  for await (const chunk of generatedBody(99, BODY_CHUNKS * CHUNK_BYTES, CHUNK_BYTES)) {
    yield chunk;
    if (++chunkNumber === 20) process.stdout.write('streaming\n');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function main(): Promise<void> {
  const [dir, codec] = process.argv.slice(2);
  if (dir === undefined || codec === undefined) throw new Error('usage: snapshot-crash-child <dir> <codec>');
  const { storage } = await Storage.open(dir, { snapshotCodec: codec, onWarning: () => undefined });
  await storage.append(makeEntries(1, 40, 1), { term: 1, vote: 1, commit: 40 });
  await storage.saveSnapshot({ index: 20, term: 1, config: { voters: [1, 2, 3] } }, generatedBody(20, 3 * CHUNK_BYTES, CHUNK_BYTES));
  process.stdout.write('saved\n');
  await storage.saveSnapshot({ index: 40, term: 1, config: { voters: [1, 2, 3] } }, slowBody());
  process.stdout.write('done\n');
  await storage.close();
}

// A backstop in case the parent is gone and cannot kill this child (the body alone ends after
// BODY_CHUNKS chunks of ≥ 2 ms, about 1 s).
const RUN_MS_MAX = 20_000;
setTimeout(() => {
  process.stderr.write(`snapshot-crash-child: still running after ${RUN_MS_MAX} ms; exiting\n`);
  process.exit(3);
}, RUN_MS_MAX).unref();

main().catch((error: unknown) => {
  process.stderr.write(`snapshot-crash-child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

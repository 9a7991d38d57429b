// A reader worker: serves get and scan batches straight from the shared skip list, holding the
// read lock for each request (not for the whole batch, so a long batch never holds the writer off
// for longer than one request). Answers are written directly from shared memory into the answer
// batch, with no intermediate objects.
//
// Started by reader-pool.ts; it exits when asked ('close'), after finishing what it was given.
// If it dies instead (a crash, process.exit, terminate(), or on purpose through 'inject-death'
// in tests), it may die holding the read lock: the pool's reaper thread then releases its lock
// participant (data.participant), and the pool fails its unanswered requests and replaces it.
// data.lifeline is what tells the reaper: it stays reachable through `data` for the life of the
// thread and is never used or closed here, so it closes exactly when the thread ends.

import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { createPrng } from '../../random/prng.js';
import { NULL_REF } from './arena.js';
import { NODE_FORWARD, NODE_META, NODE_VALUE_LENGTH, NODE_VALUE_REF, NODE_VERSION_HIGH, NODE_VERSION_LOW, NodeWalker } from './node-layout.js';
import type { FromReaderWorker, InjectDeathRequest, ReadLoopRequest, ReaderWorkerData, ToReaderWorker } from './reader-protocol.js';
import { SharedSkipListReader } from './shared-skip-list.js';
import { ByteReader, ByteWriter, REQUEST_GET, REQUEST_SCAN } from './wire-format.js';

if (parentPort === null) throw new Error('reader-worker.js must run as a worker thread');
const port = parentPort;
const data = workerData as ReaderWorkerData;
const reader = new SharedSkipListReader(data.descriptor, data.segmentPort, data.participant);
const answers = new ByteWriter(64 * 1024, data.responseBytesMax, 'reader worker answer batch');

function send(message: FromReaderWorker, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer);
}

function writeVersionAndValue(walker: NodeWalker, node: number): void {
  const words = walker.wordsOf(node);
  const index = walker.wordIndexOf(node);
  answers.u32(words[index + NODE_VERSION_LOW]!);
  answers.u32(words[index + NODE_VERSION_HIGH]!);
  const valueLength = words[index + NODE_VALUE_LENGTH]!;
  answers.u32(valueLength);
  if (valueLength > 0) {
    const valueRef = words[index + NODE_VALUE_REF]!;
    const view = walker.view;
    const start = (valueRef & view.unitMask) << 3;
    answers.raw(view.segmentBytes[valueRef >>> view.unitBits]!.subarray(start, start + valueLength));
  }
}

function writeKey(walker: NodeWalker, node: number): void {
  const view = walker.view;
  const segment = node >>> view.unitBits;
  const wordIndex = (node & view.unitMask) << 1;
  const meta = view.segmentWords[segment]![wordIndex + NODE_META]!;
  const keyLength = meta >>> 16;
  const keyStart = (wordIndex + NODE_FORWARD + (meta & 0xff)) << 2;
  answers.u16(keyLength);
  answers.raw(view.segmentBytes[segment]!.subarray(keyStart, keyStart + keyLength));
}

function answerBatch(requests: Uint8Array): void {
  const input = new ByteReader(requests, 'reader worker request batch');
  answers.clear();
  // Bounded by the batch's length: each request consumes at least 4 bytes.
  while (input.remaining > 0) {
    const kind = input.u8();
    if (kind === REQUEST_GET) {
      const key = input.bytesView(input.u16());
      reader.withReadLock((walker) => {
        const node = walker.find(key);
        if (node === NULL_REF) answers.u8(0);
        else {
          answers.u8(1);
          writeVersionAndValue(walker, node);
        }
      });
    } else if (kind === REQUEST_SCAN) {
      const start = input.bytesView(input.u16());
      const end = input.u8() === 0 ? null : input.bytesView(input.u16());
      const limit = input.u32();
      reader.withReadLock((walker) => {
        const countOffset = answers.length;
        answers.u32(0);
        let count = 0;
        let node = walker.findGreaterOrEqual(start);
        // Bounded by limit and the list's length.
        while (node !== NULL_REF && count < limit) {
          if (end !== null && walker.compareNodeKey(node, end) >= 0) break;
          writeKey(walker, node);
          writeVersionAndValue(walker, node);
          count++;
          node = walker.forward(node, 0);
        }
        patchU32(countOffset, count);
      });
    } else {
      throw new RangeError(`reader worker request batch: unknown request kind ${kind} at offset ${input.offset - 1}`);
    }
  }
}

function patchU32(offset: number, value: number): void {
  const saved = answers.length;
  answers.length = offset;
  answers.u32(value);
  answers.length = saved;
}

function readLoop(request: ReadLoopRequest): void {
  const keys = new Uint8Array(request.keys);
  const prng = createPrng(request.seed);
  const startMs = performance.now();
  const deadlineMs = startMs + request.durationMs;
  let gets = 0;
  let found = 0;
  // Bounded by getsMax and by the deadline (checked every 64 gets to keep the clock off the
  // measured path).
  while (gets < request.getsMax) {
    if ((gets & 63) === 0 && performance.now() >= deadlineMs) break;
    const keyIndex = prng.nextInt(0, request.keyCount);
    const key = keys.subarray(keyIndex * request.keyLengthBytes, (keyIndex + 1) * request.keyLengthBytes);
    if (reader.withReadLock((walker) => walker.find(key)) !== NULL_REF) found++;
    gets++;
  }
  send({ type: 'read-loop-done', loopId: request.loopId, gets, found, elapsedMs: performance.now() - startMs });
}

/** Fault injection for tests: die holding the read lock (see InjectDeathRequest). */
function injectDeath(request: InjectDeathRequest): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  reader.withReadLock(() => {
    send({ type: 'holding-read-lock' });
    if (request.how === 'exit') {
      if (request.holdMs > 0) Atomics.wait(sleeper, 0, 0, request.holdMs);
      // process.exit in a worker ends the thread here: the finally that would release the lock
      // never runs.
      process.exit(70);
    }
    // 'hang': hold the lock until the pool terminates this thread.
    Atomics.wait(sleeper, 0, 0);
  });
}

port.on('message', (message: ToReaderWorker) => {
  switch (message.type) {
    case 'batch': {
      try {
        answerBatch(message.requests);
        const copy = answers.takeCopy();
        send({ type: 'answers', batchId: message.batchId, answers: copy }, [copy.buffer as ArrayBuffer]);
      } catch (error) {
        send({ type: 'batch-failed', batchId: message.batchId, message: error instanceof Error ? error.message : String(error) });
      }
      break;
    }
    case 'read-loop':
      readLoop(message);
      break;
    case 'inject-death':
      injectDeath(message);
      break;
    case 'close':
      send({ type: 'closed' });
      port.close();
      data.segmentPort.close();
      break;
  }
});

send({ type: 'ready', workerIndex: data.workerIndex });

// The reaper: a thread that releases a dead reader worker's share of the lock. It holds one
// lifeline port per reader worker (reader-protocol.ts); when a worker's thread ends, for whatever
// reason — it returned, called process.exit, threw, ran out of memory, was terminated — its end
// of the lifeline closes and this thread calls releaseParticipant for the worker's slot, then
// tells the pool.
//
// Why a thread of its own, and not the pool's 'exit' handler: the pool lives on the main thread,
// which is also the writer. If a reader dies holding the read lock while the main thread is
// inside writeLock, the main thread sleeps in Atomics.wait until that reader's exit is counted —
// and its event loop, where 'exit' would be delivered, does not turn. The reaper's event loop
// never waits for the lock, so the release reaches the sleeping writer (releaseParticipant
// notifies it) and the writer goes on.
//
// A lifeline closes only when its worker's thread has ended: the worker keeps its end reachable
// (through workerData) for its whole life and never closes it, so the reaper never releases the
// slot of a thread that could still be inside the lock.

import { parentPort, workerData } from 'node:worker_threads';
import { releaseParticipant } from './lock.js';
import type { FromReaper, ReaperWorkerData, ToReaper } from './reader-protocol.js';

if (parentPort === null) throw new Error('reaper-worker.js must run as a worker thread');
const port = parentPort;
const data = workerData as ReaperWorkerData;

function send(message: FromReaper): void {
  port.postMessage(message);
}

port.on('message', (message: ToReaper) => {
  switch (message.type) {
    case 'watch': {
      const { participant, lifeline } = message;
      lifeline.once('close', () => {
        try {
          const released = releaseParticipant(data.lock, participant);
          send({ type: 'released', participant, readHolds: released.readHolds, mutexHeld: released.mutexHeld });
        } catch (error) {
          send({ type: 'release-failed', participant, message: error instanceof Error ? error.message : String(error) });
        }
      });
      // The lifelines must not keep this thread alive: the pool ends it with 'close' once every
      // watched worker was released.
      lifeline.unref();
      break;
    }
    case 'close':
      port.close();
      break;
  }
});

send({ type: 'ready' });

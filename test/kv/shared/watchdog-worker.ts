// The watchdog thread of bounded.ts's watchMainThread: kills the test process, after describing
// the watched locks on stderr, when the main thread stops advancing its heartbeat for stallMs —
// the one way to turn a main thread stuck inside Atomics.wait into a failure instead of a hang.
// It writes with fs.writeSync: a worker's process.stderr is relayed by the (stuck) main thread.

import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { inspectLock, type LockDescriptor } from '../../../src/kv/shared/lock.js';

export interface WatchdogData {
  readonly heartbeat: SharedArrayBuffer;
  readonly stallMs: number;
}

if (parentPort !== null) {
  const data = workerData as WatchdogData;
  const heartbeat = new Int32Array(data.heartbeat);
  let locks: readonly LockDescriptor[] = [];
  let lastBeat = Atomics.load(heartbeat, 0);
  let lastChangeMs = Date.now();
  parentPort.on('message', (message: readonly LockDescriptor[]) => {
    locks = message;
  });
  setInterval(() => {
    const beat = Atomics.load(heartbeat, 0);
    if (beat !== lastBeat) {
      lastBeat = beat;
      lastChangeMs = Date.now();
      return;
    }
    if (Date.now() - lastChangeMs < data.stallMs) return;
    const states = locks.map((lock) => JSON.stringify(inspectLock(lock))).join(' | ');
    writeSync(2, `WATCHDOG: the main thread's event loop has been stuck for ${data.stallMs} ms (blocked in a lock?); killing the test process. Locks: ${states || 'none watched'}\n`);
    process.kill(process.pid, 'SIGKILL');
  }, 100);
}

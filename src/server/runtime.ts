// Time and scheduling as a node sees them: the one seam between the host loop and the clock. The
// real runtime uses the process's monotonic clock, timers and setImmediate; the deterministic
// simulation supplies one driven by its event queue, so that a seed replays the same run.

import { performance } from 'node:perf_hooks';

export interface Timer {
  cancel(): void;
}

export interface NodeRuntime {
  /** Monotonic milliseconds (fractions allowed). */
  nowMs(): number;
  /** Runs `run` once after `delayMs`. */
  setTimer(delayMs: number, run: () => void): Timer;
  /**
   * Runs `run` soon, after what is already queued: a loop turn. The real runtime uses
   * setImmediate, so every message and request that arrived in the same I/O phase is handled
   * before the turn — which is what makes the turn's Ready a batch.
   */
  defer(run: () => void): void;
}

export const realRuntime: NodeRuntime = {
  nowMs: () => performance.now(),
  setTimer(delayMs, run) {
    const handle = setTimeout(run, delayMs);
    return { cancel: () => clearTimeout(handle) };
  },
  defer(run) {
    setImmediate(run);
  },
};

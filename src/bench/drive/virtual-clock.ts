// A clock whose time moves only when everything else is waiting: the harness's own deterministic
// simulation. `run(work)` lets all pending callbacks and promise reactions settle, then jumps to
// the earliest timer and fires it, until `work` settles. A driver and a simulated target on the
// same virtual clock produce the same latencies on any machine, however loaded.
//
// The subtle thing: "everything else is waiting" is detected by yielding to the event loop with
// setImmediate, which runs only after the microtask queue is empty — so this is exact only if all
// the simulated activity is promise reactions and timers of this clock, never real timers or I/O.
// Times are whole µs (deadlines round up, so a sleeper never wakes before its deadline).

import { EventQueue } from '../../sim/event-queue.js';
import type { Clock } from './clock.js';

export interface VirtualClockOptions {
  /**
   * Sleeps of the Clock interface wake only at multiples of this (rounded up), like a scheduler
   * whose event loop is busy; `at` timers are unaffected. Default 1 (no coarsening).
   */
  readonly sleepGranularityUs?: number;
  /** A bound on timer firings per `run`, against a runaway simulation. Default 10 million. */
  readonly firingsMax?: number;
}

interface Timer {
  cancelled: boolean;
  readonly fire: () => void;
}

export class VirtualClock implements Clock {
  private timeUs = 0;
  private readonly timers = new EventQueue<Timer>(10_000_000);
  private readonly sleepGranularityUs: number;
  private readonly firingsMax: number;

  constructor(options: VirtualClockOptions = {}) {
    this.sleepGranularityUs = options.sleepGranularityUs ?? 1;
    this.firingsMax = options.firingsMax ?? 10_000_000;
    if (!Number.isInteger(this.sleepGranularityUs) || this.sleepGranularityUs < 1) {
      throw new RangeError(`virtual clock: sleepGranularityUs must be a positive integer, got ${this.sleepGranularityUs}`);
    }
  }

  nowUs(): number {
    return this.timeUs;
  }

  sleepUntilUs(deadlineUs: number, signal?: AbortSignal): Promise<void> {
    const wakeUs = Math.ceil(Math.max(deadlineUs, this.timeUs) / this.sleepGranularityUs) * this.sleepGranularityUs;
    return new Promise<void>((resolve) => {
      if (signal?.aborted === true) {
        resolve();
        return;
      }
      const timer = this.schedule(wakeUs, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = (): void => {
        timer.cancelled = true;
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls `callback` at virtual time `timeUs` (rounded up to whole µs, never in the past). */
  at(timeUs: number, callback: () => void): void {
    this.schedule(timeUs, callback);
  }

  /** Advances time until `work` settles; throws if nothing is left to wait for before it does. */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let firings = 0; ; ) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (settled) return work;
      const next = this.timers.pop();
      if (next === undefined) throw new Error(`virtual clock: nothing scheduled at ${this.timeUs} µs and the work has not settled (deadlock)`);
      if (next.payload.cancelled) continue;
      if (++firings > this.firingsMax) throw new Error(`virtual clock: more than ${this.firingsMax} timer firings (runaway)`);
      this.timeUs = next.timeUs;
      next.payload.fire();
    }
  }

  private schedule(timeUs: number, fire: () => void): Timer {
    const timer: Timer = { cancelled: false, fire };
    this.timers.push(Math.ceil(Math.max(timeUs, this.timeUs)), timer);
    return timer;
  }
}

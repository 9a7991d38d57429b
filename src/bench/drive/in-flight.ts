// The operations a driver has sent and not yet heard back about, so that the end of a run can
// wait for them (the drain) and, when the drain times out, record them as 'unfinished' instead of
// losing them. An operation abandoned that way is ignored if it completes later, so it is never
// counted twice.

import type { Clock } from './clock.js';

export interface InFlightOperation {
  readonly type: string;
  /** The start its latency is measured from (intended or actual, per driver). */
  readonly startUs: number;
}

export class InFlight {
  private readonly operations = new Set<InFlightOperation>();
  private emptied: (() => void) | null = null;
  private peakCount = 0;

  get size(): number {
    return this.operations.size;
  }

  get peak(): number {
    return this.peakCount;
  }

  begin(type: string, startUs: number): InFlightOperation {
    const operation: InFlightOperation = { type, startUs };
    this.operations.add(operation);
    if (this.operations.size > this.peakCount) this.peakCount = this.operations.size;
    return operation;
  }

  /** False when the operation was abandoned: its outcome must not be recorded. */
  finish(operation: InFlightOperation): boolean {
    if (!this.operations.delete(operation)) return false;
    if (this.operations.size === 0 && this.emptied !== null) this.emptied();
    return true;
  }

  /** Waits until nothing is in flight or the clock passes `deadlineUs`, whichever comes first. */
  async drain(clock: Clock, deadlineUs: number): Promise<void> {
    if (this.operations.size === 0) return;
    const timeout = new AbortController();
    const empty = new Promise<void>((resolve) => (this.emptied = resolve));
    try {
      await Promise.race([empty, clock.sleepUntilUs(deadlineUs, timeout.signal)]);
    } finally {
      this.emptied = null;
      // Cancels the sleep's timer, so a finished drain leaves nothing pending in the event loop.
      timeout.abort();
    }
  }

  /** Everything still in flight, now abandoned. */
  abandonAll(): InFlightOperation[] {
    const remaining = [...this.operations];
    this.operations.clear();
    return remaining;
  }
}

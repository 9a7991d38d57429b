// A node's time in the simulation: its NodeRuntime runs on the simulation's event queue, through a
// clock that runs fast or slow by the node's drift (local = true × rate), so timers, ticks and the
// lease run on skewed clocks exactly as the seed decided. Everything a node schedules is tagged
// with the node, so the simulation can observe it after the event, and belongs to one incarnation:
// after a crash the dead incarnation's timers never fire.

import type { NodeId } from '../raft/types.js';
import type { NodeRuntime, Timer } from '../server/runtime.js';

/** What a runtime needs of the simulation's loop. */
export interface SimEventLoop {
  readonly nowUs: number;
  /** Runs `run` after `delayUs` (true time), as an event of `node` (0: of no node). */
  schedule(node: NodeId, delayUs: number, run: () => void): void;
}

export class SimNodeRuntime implements NodeRuntime {
  private dead = false;

  constructor(
    private readonly loop: SimEventLoop,
    private readonly node: NodeId,
    /** Local time per true time: 1 + drift. */
    readonly rate: number,
  ) {}

  /** The incarnation crashed: nothing it scheduled runs any more. */
  kill(): void {
    this.dead = true;
  }

  nowMs(): number {
    return (this.loop.nowUs * this.rate) / 1000;
  }

  setTimer(delayMs: number, run: () => void): Timer {
    let cancelled = false;
    const trueDelayUs = Math.max(0, Math.ceil((delayMs * 1000) / this.rate));
    this.loop.schedule(this.node, trueDelayUs, () => {
      if (!cancelled && !this.dead) run();
    });
    return { cancel: () => (cancelled = true) };
  }

  defer(run: () => void): void {
    this.loop.schedule(this.node, 0, () => {
      if (!this.dead) run();
    });
  }

  /** How long `ticks` ticks of `tickMs` take in true time on this clock (for the checkers' bounds). */
  trueUsOf(localMs: number): number {
    return (localMs * 1000) / this.rate;
  }
}

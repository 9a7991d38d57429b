// A target whose service is known exactly, for ground-truth tests of the drivers: one server,
// first come first served, one request at a time, each taking `serviceUs`; and every
// `stallEveryUs` (from `stallPhaseUs` on) it stalls for `stallUs` — a request cannot *start*
// service during a stall (one already in service finishes). Runs on a VirtualClock.

import type { VirtualClock } from '../../../src/bench/drive/virtual-clock.js';
import { OUTCOME_OK, type KvTarget, type Operation, type OperationOutcome } from '../../../src/bench/drive/target.js';

export interface StallingServerConfig {
  readonly serviceUs: number;
  readonly stallEveryUs: number;
  readonly stallUs: number;
  readonly stallPhaseUs: number;
}

export class StallingServer implements KvTarget {
  private freeAtUs = 0;
  executed = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly config: StallingServerConfig,
  ) {}

  execute(_operation: Operation): Promise<OperationOutcome> {
    this.executed++;
    const beginUs = this.pastStall(Math.max(this.clock.nowUs(), this.freeAtUs));
    const doneUs = beginUs + this.config.serviceUs;
    this.freeAtUs = doneUs;
    return new Promise((resolve) => this.clock.at(doneUs, () => resolve(OUTCOME_OK)));
  }

  private pastStall(timeUs: number): number {
    const { stallEveryUs, stallUs, stallPhaseUs } = this.config;
    if (timeUs < stallPhaseUs) return timeUs;
    const stallStartUs = stallPhaseUs + Math.floor((timeUs - stallPhaseUs) / stallEveryUs) * stallEveryUs;
    return timeUs < stallStartUs + stallUs ? stallStartUs + stallUs : timeUs;
  }
}

/** An operation source that hands out one fixed operation type. */
export function constantSource(type = 'get'): { next(): Operation } {
  const operation: Operation = { type };
  return { next: () => operation };
}

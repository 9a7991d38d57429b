// The open-loop driver (as wrk2 does it): operations are due at times fixed in advance by the
// target rate, each is sent when it is due whether or not earlier ones have finished, and its
// latency is measured from when it was *due*. A stall in the target then shows up in the latency
// of every operation that was due during it — which is what a user arriving at that rate would
// see — instead of being hidden by a client that politely stopped sending (coordinated omission).
//
// The subtle thing is the scheduler. One timer per operation cannot work (Node's timers have
// 1 ms resolution and fire late under load). Instead the loop wakes (clock.sleepUntilUs: a timer
// for long gaps, setImmediate for short ones), sends every operation that has come due since,
// each stamped with its own due time, and sleeps again until the next one is due. When it wakes
// late the lateness is in the latency — and in `schedulerLagUs`, so a report can tell a slow
// target from a driver that could not keep up.
//
// In flight operations are bounded by `outstandingMax`: one that comes due beyond it is not
// sent, and is recorded as a 'dropped-overload' error, never silently skipped.

import { LATENCY_US_MAX, createLatencyHistogram, summarizeLatency } from '../record/latency-histogram.js';
import { Recorder } from '../record/recorder.js';
import { createArrivalSchedule, type ArrivalProcess } from './arrivals.js';
import { createSystemClock } from './clock.js';
import { InFlight, type InFlightOperation } from './in-flight.js';
import { describeException, drainAndAbandon, recordOutcome, runBounds, type DriveResult, type RunOptions, type StopReason } from './run.js';
import type { Operation, OperationOutcome } from './target.js';

export interface OpenLoopOptions<Op extends Operation> extends RunOptions<Op> {
  readonly ratePerSecond: number;
  /** Evenly spaced or Poisson arrivals. Default 'uniform'. */
  readonly arrivals?: ArrivalProcess;
  /** Seed of the Poisson arrivals. Default 1. */
  readonly seed?: number;
  /** In-flight bound; operations due beyond it are dropped and recorded. Default 10 000. */
  readonly outstandingMax?: number;
}

export const OUTSTANDING_MAX_DEFAULT = 10_000;

export async function runOpenLoop<Op extends Operation>(options: OpenLoopOptions<Op>): Promise<DriveResult> {
  const clock = options.clock ?? createSystemClock();
  const outstandingMax = options.outstandingMax ?? OUTSTANDING_MAX_DEFAULT;
  if (!Number.isInteger(outstandingMax) || outstandingMax < 1) throw new RangeError(`outstandingMax must be a positive integer, got ${outstandingMax}`);
  const arrivals = options.arrivals ?? 'uniform';
  const startUs = clock.nowUs();
  const bounds = runBounds(options, startUs);
  const schedule = createArrivalSchedule({ ratePerSecond: options.ratePerSecond, process: arrivals, startUs, seed: options.seed ?? 1 });
  const recorder = new Recorder({ measureFromUs: bounds.measureFromUs, seriesBucketUs: bounds.seriesBucketUs, latencyFrom: 'intended-start' });
  const lagUs = createLatencyHistogram();
  const inFlight = new InFlight();
  const { target, source, signal } = options;
  let issued = 0;
  let dropped = 0;
  let firstException: string | null = null;

  const settle = (operation: InFlightOperation, outcome: OperationOutcome | 'exception'): void => {
    if (!inFlight.finish(operation)) return;
    recordOutcome(recorder, operation.type, operation.startUs, clock.nowUs(), outcome);
  };
  const send = (operation: Op, intendedUs: number): void => {
    const sentUs = clock.nowUs();
    if (intendedUs >= bounds.measureFromUs) lagUs.recordValue(Math.min(LATENCY_US_MAX, Math.max(0, Math.round(sentUs - intendedUs))));
    const entry = inFlight.begin(operation.type, intendedUs);
    let pending: Promise<OperationOutcome>;
    try {
      pending = target.execute(operation);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (outcome) => settle(entry, outcome),
      (error: unknown) => {
        firstException ??= describeException(error);
        settle(entry, 'exception');
      },
    );
  };

  let stoppedBy: StopReason | null = null;
  while (stoppedBy === null) {
    if (signal?.aborted === true) {
      stoppedBy = 'signal';
      break;
    }
    const nowUs = clock.nowUs();
    while (schedule.nextUs <= nowUs) {
      const intendedUs = schedule.nextUs;
      if (intendedUs >= bounds.endUs) break;
      if (issued >= bounds.operationsMax) break;
      schedule.advance();
      const operation = source.next();
      issued++;
      if (inFlight.size >= outstandingMax) {
        dropped++;
        recorder.recordError(operation.type, 'dropped-overload', intendedUs, clock.nowUs());
        continue;
      }
      send(operation, intendedUs);
    }
    // Nothing more will come due inside the run: stop without sleeping until the end.
    if (schedule.nextUs >= bounds.endUs) stoppedBy = 'duration';
    else if (issued >= bounds.operationsMax) stoppedBy = 'operations';
    else await clock.sleepUntilUs(schedule.nextUs, signal);
  }
  const windowEndUs = stoppedBy === 'duration' ? bounds.endUs : clock.nowUs();
  const unfinished = await drainAndAbandon(inFlight, recorder, clock, bounds.drainTimeoutUs);
  return {
    mode: 'open-loop',
    coordinatedOmission: 'avoided',
    stoppedBy,
    ratePerSecond: options.ratePerSecond,
    arrivals,
    clients: null,
    issued,
    dropped,
    unfinished,
    inFlightPeak: inFlight.peak,
    schedulerLagUs: summarizeLatency(lagUs),
    firstException,
    elapsedUs: clock.nowUs() - startUs,
    recording: recorder.result(windowEndUs),
  };
}

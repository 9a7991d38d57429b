// What both drivers share: the options that bound a run (duration or operation count, warm-up,
// drain), their validation, the end of a run (drain, then record what never finished) and the
// result. A result says which driver made it and whether its latencies suffer from coordinated
// omission, so no report can print a closed-loop p99 as if it were the truth.

import type { LatencySummaryUs } from '../record/latency-histogram.js';
import type { Recorder, RecordingResult } from '../record/recorder.js';
import type { Clock } from './clock.js';
import type { InFlight } from './in-flight.js';
import type { ArrivalProcess } from './arrivals.js';
import type { KvTarget, Operation, OperationOutcome, OperationSource } from './target.js';

export interface RunOptions<Op extends Operation> {
  readonly target: KvTarget<Op>;
  /**
   * Where operations come from. The closed loop also takes one source per client (the workload
   * generators make one deterministic stream per client); the open loop takes one.
   */
  readonly source: OperationSource<Op>;
  /** Stop issuing after this long (warm-up included). At least one of durationMs / operationsMax. */
  readonly durationMs?: number;
  /** Stop issuing after this many operations (warm-up included). */
  readonly operationsMax?: number;
  /** Operations starting in the first warmupMs are executed but not recorded. Default 0. */
  readonly warmupMs?: number;
  /** How long to wait for in-flight operations after issuing stops. Default 5000. */
  readonly drainTimeoutMs?: number;
  /** Width of the throughput series' buckets. Default 1000. */
  readonly seriesBucketMs?: number;
  /** Aborting stops issuing; what finished (and what finishes within the drain) is kept. */
  readonly signal?: AbortSignal;
  /** Default: the system clock (process.hrtime). */
  readonly clock?: Clock;
}

export type StopReason = 'duration' | 'operations' | 'signal';

export interface DriveResult {
  readonly mode: 'open-loop' | 'closed-loop';
  /**
   * 'avoided': latency counts from when each operation was due, so time an operation spent
   * waiting behind a slow one is in its latency. 'present': latency counts from the actual send,
   * and a client stuck behind a stall does not send (and so does not measure) in the meantime.
   */
  readonly coordinatedOmission: 'avoided' | 'present';
  readonly stoppedBy: StopReason;
  readonly ratePerSecond: number | null;
  readonly arrivals: ArrivalProcess | null;
  readonly clients: number | null;
  /** Operations taken from the source, warm-up included. */
  readonly issued: number;
  /** Never sent because outstandingMax were in flight (open loop), warm-up included. */
  readonly dropped: number;
  /** Still in flight when the drain timed out, warm-up included. */
  readonly unfinished: number;
  readonly inFlightPeak: number;
  /** Open loop: how late each measured operation was actually sent after it was due. */
  readonly schedulerLagUs: LatencySummaryUs | null;
  /** The first exception a target threw or rejected with, for diagnosis. */
  readonly firstException: string | null;
  /** From start to the end of the drain. */
  readonly elapsedUs: number;
  readonly recording: RecordingResult;
}

export interface RunBounds {
  readonly endUs: number;
  readonly operationsMax: number;
  readonly measureFromUs: number;
  readonly drainTimeoutUs: number;
  readonly seriesBucketUs: number;
}

function checkNonNegative(value: number | undefined, name: string, integer = false): void {
  if (value === undefined) return;
  if (!(Number.isFinite(value) && value >= 0) || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${name} must be a non-negative ${integer ? 'integer' : 'number'}, got ${value}`);
  }
}

export type RunBoundOptions = Pick<RunOptions<Operation>, 'durationMs' | 'operationsMax' | 'warmupMs' | 'drainTimeoutMs' | 'seriesBucketMs'>;

export function runBounds(options: RunBoundOptions, startUs: number): RunBounds {
  checkNonNegative(options.durationMs, 'durationMs');
  checkNonNegative(options.operationsMax, 'operationsMax', true);
  checkNonNegative(options.warmupMs, 'warmupMs');
  checkNonNegative(options.drainTimeoutMs, 'drainTimeoutMs');
  checkNonNegative(options.seriesBucketMs, 'seriesBucketMs');
  if (options.durationMs === undefined && options.operationsMax === undefined) {
    throw new RangeError('a run needs durationMs or operationsMax (or both)');
  }
  const seriesBucketUs = Math.round((options.seriesBucketMs ?? 1000) * 1000);
  if (seriesBucketUs < 1) throw new RangeError(`seriesBucketMs must be at least 0.001, got ${options.seriesBucketMs}`);
  return {
    endUs: options.durationMs === undefined ? Number.POSITIVE_INFINITY : startUs + options.durationMs * 1000,
    operationsMax: options.operationsMax ?? Number.POSITIVE_INFINITY,
    measureFromUs: startUs + (options.warmupMs ?? 0) * 1000,
    drainTimeoutUs: (options.drainTimeoutMs ?? 5000) * 1000,
    seriesBucketUs,
  };
}

/** Records one settled operation; `exception` is set when the target threw or rejected. */
export function recordOutcome(recorder: Recorder, type: string, startUs: number, endUs: number, outcome: OperationOutcome | 'exception'): void {
  if (outcome === 'exception') recorder.recordError(type, 'exception', startUs, endUs);
  else if (outcome.ok) recorder.recordSuccess(type, startUs, endUs);
  else recorder.recordError(type, outcome.error, startUs, endUs);
}

/** Drains, then records whatever is still in flight as 'unfinished'. Returns how many that was. */
export async function drainAndAbandon(inFlight: InFlight, recorder: Recorder, clock: Clock, drainTimeoutUs: number): Promise<number> {
  await inFlight.drain(clock, clock.nowUs() + drainTimeoutUs);
  const abandoned = inFlight.abandonAll();
  const nowUs = clock.nowUs();
  for (const operation of abandoned) recorder.recordError(operation.type, 'unfinished', operation.startUs, nowUs);
  return abandoned.length;
}

export function describeException(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

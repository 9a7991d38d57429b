// The closed-loop driver: N clients, each sending its next operation when the previous one
// finishes, latency measured from the actual send. This is what autocannon, YCSB's default and
// most load tools do, and it suffers from coordinated omission: while the target stalls, the
// clients wait instead of sending, so the stall is measured once per client instead of once per
// operation a real user would have sent. Its result says so (`coordinatedOmission: 'present'`);
// it is the right tool for "how much can N clients push through", not for latency percentiles.
//
// The subtle thing: a target that answers from an already-resolved promise would let a client
// loop forever in microtasks without ever giving the event loop (timers, signals) a turn, so each
// client yields to the clock every YIELD_EVERY operations.

import { Recorder } from '../record/recorder.js';
import { createSystemClock } from './clock.js';
import { InFlight } from './in-flight.js';
import { describeException, drainAndAbandon, recordOutcome, runBounds, type DriveResult, type RunOptions, type StopReason } from './run.js';
import type { Operation, OperationOutcome, OperationSource } from './target.js';

export interface ClosedLoopOptions<Op extends Operation> extends Omit<RunOptions<Op>, 'source'> {
  /** Concurrent clients, each with one operation in flight at a time. */
  readonly clients: number;
  /** One source shared by all clients, or one per client (client i draws from sources[i]). */
  readonly source: OperationSource<Op> | readonly OperationSource<Op>[];
}

const YIELD_EVERY = 128;

function isSourceList<Op extends Operation>(source: OperationSource<Op> | readonly OperationSource<Op>[]): source is readonly OperationSource<Op>[] {
  return Array.isArray(source);
}

function perClientSources<Op extends Operation>(
  source: OperationSource<Op> | readonly OperationSource<Op>[],
  clients: number,
): (clientIndex: number) => OperationSource<Op> {
  if (!isSourceList(source)) return () => source;
  const sources = source;
  if (sources.length !== clients) throw new RangeError(`source: ${sources.length} sources for ${clients} clients; give one per client, or one for all`);
  return (clientIndex) => sources[clientIndex]!;
}

export async function runClosedLoop<Op extends Operation>(options: ClosedLoopOptions<Op>): Promise<DriveResult> {
  const clock = options.clock ?? createSystemClock();
  const { clients, target, signal } = options;
  if (!Number.isInteger(clients) || clients < 1) throw new RangeError(`clients must be a positive integer, got ${clients}`);
  const sourceOf = perClientSources(options.source, clients);
  const startUs = clock.nowUs();
  const bounds = runBounds(options, startUs);
  const recorder = new Recorder({ measureFromUs: bounds.measureFromUs, seriesBucketUs: bounds.seriesBucketUs, latencyFrom: 'actual-start' });
  const inFlight = new InFlight();
  let issued = 0;
  let firstException: string | null = null;
  let stoppedBy: StopReason | null = null;
  let windowEndUs = bounds.endUs;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const stop = (reason: StopReason): void => {
    if (stoppedBy !== null) return;
    stoppedBy = reason;
    if (reason !== 'duration') windowEndUs = clock.nowUs();
    resolveStopped();
  };
  const onAbort = (): void => stop('signal');
  if (signal?.aborted === true) stop('signal');
  signal?.addEventListener('abort', onAbort, { once: true });

  const client = async (clientIndex: number): Promise<void> => {
    const source = sourceOf(clientIndex);
    for (let sinceYield = 0; stoppedBy === null; ) {
      const sentUs = clock.nowUs();
      if (sentUs >= bounds.endUs) return stop('duration');
      if (issued >= bounds.operationsMax) return stop('operations');
      const operation = source.next();
      issued++;
      const entry = inFlight.begin(operation.type, sentUs);
      let outcome: OperationOutcome | 'exception';
      try {
        outcome = await target.execute(operation);
      } catch (error) {
        firstException ??= describeException(error);
        outcome = 'exception';
      }
      // Abandoned by a timed-out drain: the run is over for this client.
      if (!inFlight.finish(entry)) return;
      recordOutcome(recorder, operation.type, sentUs, clock.nowUs(), outcome);
      if (++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await clock.sleepUntilUs(clock.nowUs());
      }
    }
  };
  // A source or recorder that throws is a bug in the harness: stop, drain, then report it.
  let clientFailure: unknown = null;
  for (let i = 0; i < clients; i++) {
    client(i).catch((error: unknown) => {
      clientFailure ??= error;
      stop('signal');
    });
  }

  await stopped;
  signal?.removeEventListener('abort', onAbort);
  const unfinished = await drainAndAbandon(inFlight, recorder, clock, bounds.drainTimeoutUs);
  if (clientFailure !== null) throw clientFailure;
  return {
    mode: 'closed-loop',
    coordinatedOmission: 'present',
    stoppedBy: stoppedBy ?? 'signal',
    ratePerSecond: null,
    arrivals: null,
    clients,
    issued,
    dropped: 0,
    unfinished,
    inFlightPeak: inFlight.peak,
    schedulerLagUs: null,
    firstException,
    elapsedUs: clock.nowUs() - startUs,
    recording: recorder.result(windowEndUs),
  };
}

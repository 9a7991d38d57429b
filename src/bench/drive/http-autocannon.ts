// The HTTP driver: autocannon's programmatic API driving etcd v3 gateway requests
// (etcd-gateway-requests.ts) built from a workload, against any base URL — etcd, or raftbench's
// HTTP API, with the same request stream. It is a CLOSED loop and says so in every output
// (`DRIVER_LABEL`): each connection sends its next request when the previous one is answered, so a
// stall is measured once per connection, not once per request a user would have sent.
// autocannon's rate mode (`overallRate`) does not make it open loop — it "corrects" coordinated
// omission by back-filling with a fixed 1 ms expected interval — so this driver does not offer it.
//
// Two latency records come out of one run:
//   - ours (`recording`): per operation type, integer µs in the harness's HDR histogram, timed on
//     our clock (hrtime) from the request's send to its connection's `response` event;
//   - autocannon's (`autocannon`): its aggregate, whose latency histogram records milliseconds as
//     integers, so everything under 1 ms is 0 and every value is cut to whole ms. Kept for
//     comparison with autocannon's command-line output, labelled with that resolution.
//
// How operations meet connections: `setupClient` gives connection i its own request list whose
// `setupRequest` draws from sources[i] (so each connection's stream is deterministic, as in the
// native closed loop), and remembers the operation in flight on that connection (one: no
// pipelining), which the connection's `response`, `timeout` and `connError` events then settle.
// Connection i talks to urls[i % urls.length] (autocannon's own spreading).
//
// A warm-up, when asked, is a separate autocannon run before the measured one (autocannon's
// aggregate has no warm-up cut); the streams carry on from where the warm-up left them. Requests
// still in flight when autocannon stops are not answered (autocannon destroys its connections
// without draining): they are counted in `unfinished`, not as errors.

import autocannon from 'autocannon';
import { Recorder } from '../record/recorder.js';
import { createSystemClock, type Clock } from './clock.js';
import { GATEWAY_PATHS, gatewayRequestOf, type GatewayRequest } from './etcd-gateway-requests.js';
import { describeException, type DriveResult } from './run.js';
import type { OperationSource, TargetErrorKind } from './target.js';
import type { KeySpace, Operation } from '../workload/index.js';

export const DRIVER_LABEL = 'closed loop (autocannon)';

/** How autocannon's own latency figures must be read; carried with them in every output. */
export const AUTOCANNON_LATENCY_RESOLUTION =
  'autocannon latency histogram: whole milliseconds (values cut to integer ms; sub-millisecond responses read as 0 ms)';

export interface HttpDriveOptions {
  /** Base URLs (scheme, host, port); connection i uses urls[i % urls.length]. */
  readonly urls: readonly string[];
  /** One source per connection: connection i draws from sources[i]. */
  readonly sources: readonly OperationSource<Operation>[];
  readonly durationMs: number;
  /** A separate, unrecorded autocannon run first. Default 0 (none). */
  readonly warmupMs?: number;
  /** Per-request timeout; autocannon counts a timeout and reconnects. At least 1000. Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** Inserts are acknowledged here once answered (failed ones too), so reads can reach them. */
  readonly keySpace?: KeySpace;
  readonly seriesBucketMs?: number;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
}

/** autocannon's own aggregate of the measured run (milliseconds; see AUTOCANNON_LATENCY_RESOLUTION). */
export interface AutocannonSummary {
  readonly latencyResolution: string;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number; readonly mean: number };
  readonly requestsPerSecondMean: number;
  readonly sent: number;
  readonly responses2xx: number;
  readonly non2xx: number;
  /** Connection errors and timeouts, as autocannon counts them. */
  readonly errors: number;
  readonly timeouts: number;
  readonly durationSeconds: number;
}

export interface HttpDriveResult extends DriveResult {
  readonly driver: typeof DRIVER_LABEL;
  readonly urls: readonly string[];
  /** Responses by HTTP status code (measured run, warm-up excluded), e.g. { "200": 9120, "503": 14 }. */
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly autocannon: AutocannonSummary;
}

/** What a status code means for the harness: null for success, else the error kind. */
export function errorKindOfStatus(statusCode: number): TargetErrorKind | null {
  if (statusCode >= 200 && statusCode < 300) return null;
  if (statusCode === 503) return 'unavailable';
  if (statusCode === 429) return 'rejected';
  if (statusCode === 408 || statusCode === 504) return 'timeout';
  return 'failed';
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export function checkUrls(urls: readonly string[]): URL[] {
  if (urls.length === 0) throw new RangeError('urls: give at least one base URL (http://host:port)');
  return urls.map((url, index) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new RangeError(`urls[${index}]: not a URL: '${url}'`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RangeError(`urls[${index}]: must be http: or https:, got '${url}'`);
    return parsed;
  });
}

interface Connection {
  /** The operation in flight on this connection (one: no pipelining), and when it was sent. */
  inFlight: Operation | null;
  sentUs: number;
  /** The first request is built before the connection exists; its send time comes with the 'request' event. */
  firstSendPending: boolean;
}

interface RunHooks {
  readonly onSettled: (operation: Operation, startUs: number, endUs: number, outcome: TargetErrorKind | null, statusCode: number | null) => void;
  /** The source or the request builder threw (a bug); the run is being stopped. */
  readonly onException: (message: string) => void;
}

/** What a connection sends after its source threw, until the run stops: a read, never recorded. */
const EXCEPTION_PLACEHOLDER_BODY = JSON.stringify({ key: Buffer.from('raftbench/after-exception').toString('base64') });

/** One autocannon run; every connection's operations settle through `hooks`. */
async function runAutocannon(
  options: { urls: readonly string[]; sources: readonly OperationSource<Operation>[]; durationMs?: number; amount?: number; requestTimeoutMs: number; signal?: AbortSignal; clock: Clock },
  hooks: RunHooks,
): Promise<{ result: autocannon.Result; connections: Connection[] }> {
  const connections: Connection[] = [];
  const { clock, requestTimeoutMs } = options;
  // Set once autocannon returns; the first requests are built inside that call.
  let instance: autocannon.Instance | null = null;
  const setupClient = (client: autocannon.Client): void => {
    const index = connections.length;
    const source = options.sources[index];
    if (source === undefined) throw new RangeError(`autocannon made connection ${index} but only ${options.sources.length} sources were given`);
    const connection: Connection = { inFlight: null, sentUs: 0, firstSendPending: true };
    connections.push(connection);
    const settle = (outcome: TargetErrorKind | null, statusCode: number | null): void => {
      const operation = connection.inFlight;
      if (operation === null) return;
      connection.inFlight = null;
      hooks.onSettled(operation, connection.sentUs, clock.nowUs(), outcome, statusCode);
    };
    client.setRequests([
      {
        setupRequest: (request: autocannon.Request) => {
          // A request still unanswered when the next is built was lost: autocannon timed it out
          // (and reconnected before it emits 'timeout'), or the server closed the connection.
          if (connection.inFlight !== null) {
            settle(clock.nowUs() - connection.sentUs >= requestTimeoutMs * 1000 * 0.99 ? 'timeout' : 'unavailable', null);
          }
          let operation: Operation;
          let built: GatewayRequest;
          try {
            operation = source.next();
            built = gatewayRequestOf(operation);
          } catch (error) {
            // A throwing source is a bug: keep the first message, stop the run, and send a harmless
            // request nobody records until autocannon stops (it cannot skip a send, and an
            // exception here would surface in a socket callback and crash the process).
            hooks.onException(describeException(error));
            instance?.stop();
            return { ...request, method: 'POST', path: GATEWAY_PATHS.range, body: EXCEPTION_PLACEHOLDER_BODY, headers: JSON_HEADERS };
          }
          connection.inFlight = operation;
          connection.sentUs = clock.nowUs();
          return { ...request, method: built.method, path: built.path, body: built.body, headers: JSON_HEADERS };
        },
      },
    ]);
    // 'request' and 'connError' are emitted by autocannon's client but missing from its types.
    const events: NodeJS.EventEmitter = client;
    events.on('request', () => {
      if (!connection.firstSendPending) return;
      connection.firstSendPending = false;
      connection.sentUs = clock.nowUs();
    });
    // Latency comes from our clock, not autocannon's responseTime: autocannon keeps a FIFO of send
    // times that a connection error does not clear, so after one its times belong to older
    // requests. autocannon emits 'response' and 'connError' before it builds the next request,
    // so inFlight is the operation they are about.
    client.on('response', (statusCode: number) => settle(errorKindOfStatus(statusCode), statusCode));
    events.on('connError', () => settle('unavailable', null));
  };
  instance = autocannon(
    {
      // autocannon accepts a list of URLs at run time (its types say string).
      url: options.urls as unknown as string,
      connections: options.sources.length,
      ...(options.amount === undefined ? { duration: (options.durationMs ?? 0) / 1000 } : { amount: options.amount }),
      timeout: requestTimeoutMs / 1000,
      pipelining: 1,
      setupClient,
    },
    () => undefined,
  );
  const started = instance;
  const onAbort = (): void => started.stop();
  // An abort before this run (say, during the warm-up) fires no event now: stop at the first tick.
  if (options.signal?.aborted === true) started.stop();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      started.on('done', resolve);
      started.on('error', reject);
    });
    return { result, connections };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function summarizeAutocannon(result: autocannon.Result): AutocannonSummary {
  return {
    latencyResolution: AUTOCANNON_LATENCY_RESOLUTION,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, p999: result.latency.p99_9, max: result.latency.max, mean: result.latency.mean },
    requestsPerSecondMean: result.requests.mean,
    sent: result.requests.sent,
    responses2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSeconds: result.duration,
  };
}

function checkOptions(options: HttpDriveOptions): number {
  checkUrls(options.urls);
  if (options.sources.length < 1) throw new RangeError('sources: give one source per connection (at least one)');
  if (!(options.durationMs > 0)) throw new RangeError(`durationMs must be positive, got ${options.durationMs}`);
  if (options.warmupMs !== undefined && !(options.warmupMs >= 0)) throw new RangeError(`warmupMs must be non-negative, got ${options.warmupMs}`);
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  if (!(requestTimeoutMs >= 1000)) throw new RangeError(`requestTimeoutMs must be at least 1000 (autocannon's timeout is in whole seconds, minimum 1), got ${requestTimeoutMs}`);
  return requestTimeoutMs;
}

/** Drives the workload's operations over HTTP for `durationMs` (after an optional warm-up run). */
export async function runHttpAutocannon(options: HttpDriveOptions): Promise<HttpDriveResult> {
  const requestTimeoutMs = checkOptions(options);
  const clock = options.clock ?? createSystemClock();
  const common = { urls: options.urls, sources: options.sources, requestTimeoutMs, clock, ...(options.signal === undefined ? {} : { signal: options.signal }) };
  const acknowledge = (operation: Operation): void => {
    if (operation.type === 'insert') options.keySpace?.acknowledgeInsert(operation.keyNumber);
  };
  let firstException: string | null = null;
  const onException = (message: string): void => {
    firstException ??= message;
  };
  const startUs = clock.nowUs();
  const warmupMs = options.warmupMs ?? 0;
  if (warmupMs > 0) {
    const warmup = await runAutocannon({ ...common, durationMs: warmupMs }, { onSettled: acknowledge, onException });
    for (const connection of warmup.connections) if (connection.inFlight !== null) acknowledge(connection.inFlight);
  }
  const measureFromUs = clock.nowUs();
  const recorder = new Recorder({ measureFromUs, seriesBucketUs: Math.round((options.seriesBucketMs ?? 1000) * 1000), latencyFrom: 'actual-start' });
  const statusCodes: Record<string, number> = {};
  let issued = 0;
  const measured = await runAutocannon(
    { ...common, durationMs: options.durationMs },
    {
      onSettled: (operation, operationStartUs, endUs, outcome, statusCode) => {
        issued += 1;
        acknowledge(operation);
        if (statusCode !== null) statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
        if (outcome === null) recorder.recordSuccess(operation.type, operationStartUs, endUs);
        else recorder.recordError(operation.type, outcome, operationStartUs, endUs);
      },
      onException,
    },
  );
  const windowEndUs = clock.nowUs();
  const cutOff = measured.connections.filter((connection) => connection.inFlight !== null);
  for (const connection of cutOff) acknowledge(connection.inFlight!);
  return {
    driver: DRIVER_LABEL,
    urls: [...options.urls],
    mode: 'closed-loop',
    coordinatedOmission: 'present',
    stoppedBy: options.signal?.aborted === true ? 'signal' : 'duration',
    ratePerSecond: null,
    arrivals: null,
    clients: options.sources.length,
    issued: issued + cutOff.length,
    dropped: 0,
    unfinished: cutOff.length,
    inFlightPeak: options.sources.length,
    schedulerLagUs: null,
    firstException,
    elapsedUs: windowEndUs - startUs,
    recording: recorder.result(windowEndUs),
    statusCodes,
    autocannon: summarizeAutocannon(measured.result),
  };
}

export interface HttpLoadResult {
  readonly firstException: string | null;
  readonly records: number;
  readonly failures: number;
  readonly elapsedMs: number;
  readonly statusCodes: Readonly<Record<string, number>>;
}

/**
 * The load phase over HTTP: `sources[i]` yields exactly `counts[i]` inserts (the workload's
 * LoadStreams), sent on `sources.length` connections until each has sent its share.
 */
export async function loadOverHttp(options: {
  readonly urls: readonly string[];
  readonly sources: readonly OperationSource<Operation>[];
  readonly total: number;
  readonly requestTimeoutMs?: number;
  readonly signal?: AbortSignal;
}): Promise<HttpLoadResult> {
  checkUrls(options.urls);
  const clock = createSystemClock();
  const startUs = clock.nowUs();
  const statusCodes: Record<string, number> = {};
  let records = 0;
  let failures = 0;
  let firstException: string | null = null;
  await runAutocannon(
    {
      urls: options.urls,
      sources: options.sources,
      amount: options.total,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      clock,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    },
    {
      onSettled: (_operation, _startUs, _endUs, outcome, statusCode) => {
        if (statusCode !== null) statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
        if (outcome === null) records += 1;
        else failures += 1;
      },
      onException: (message) => {
        firstException ??= message;
      },
    },
  );
  return { firstException, records, failures, elapsedMs: Math.round((clock.nowUs() - startUs) / 1000), statusCodes };
}

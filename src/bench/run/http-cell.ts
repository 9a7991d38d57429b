// One cell against an HTTP target (etcd, or raftbench's HTTP API, at any base URLs): load the
// workload's records over the etcd v3 gateway, then drive the run phase with the autocannon
// closed loop. What comes back is a cell of the results file (target kind 'http', driver
// "closed loop (autocannon)", no cost counters: an external target has none we can read) and the
// driver's own result (autocannon's aggregate, status codes) for reports that want it.
//
// The target is not started or reset here: records loaded by an earlier cell are still there,
// and the load phase simply writes them again.

import { LoadStream, OperationStream, createKeySpace, type Operation, type Workload } from '../workload/index.js';
import { gatewayRefusals } from '../drive/etcd-gateway-requests.js';
import { DRIVER_LABEL, loadOverHttp, runHttpAutocannon, type HttpDriveResult } from '../drive/http-autocannon.js';
import type { OperationSource } from '../drive/target.js';
import type { CellResult } from '../results/schema.js';
import { measuredPart } from './cell.js';

export interface HttpCellPlan {
  /** What the target is called in reports (e.g. "etcd 3.4", "raftbench all-on"). */
  readonly targetName: string;
  readonly urls: readonly string[];
  readonly workload: Workload;
  readonly repetition: number;
}

export interface HttpCellOutcome {
  readonly cell: CellResult;
  readonly drive: HttpDriveResult;
}

/** Refuses (with every reason) a workload the HTTP driver cannot run as written. */
export function checkHttpWorkload(workload: Workload): void {
  const reasons = gatewayRefusals(workload);
  if (workload.run.durationSeconds === undefined) reasons.push(`workload ${workload.name}: the HTTP driver runs for a duration; give run.durationSeconds (or --duration) instead of operationCount`);
  if (reasons.length > 0) throw new RangeError(reasons.join('\n'));
}

/** The load phase's streams: client i of n inserts records i, i + n, … (LoadStream's share). */
function loadSources(workload: Workload): { sources: OperationSource<Operation>[]; total: number } {
  const concurrency = Math.min(workload.load.concurrency, workload.keys.recordCount);
  const loading: Workload = { ...workload, load: { ...workload.load, concurrency } };
  const sources = Array.from({ length: concurrency }, (_, index) => {
    const stream = new LoadStream(loading, index);
    return {
      next: (): Operation => {
        const operation = stream.next();
        // autocannon's `amount` gives connection i exactly LoadStream i's share; more is a bug.
        if (operation === undefined) throw new Error(`load connection ${index} asked for more inserts than its share`);
        return operation;
      },
    };
  });
  return { sources, total: workload.keys.recordCount };
}

export async function runHttpCell(plan: HttpCellPlan, options: { signal?: AbortSignal; requestTimeoutMs?: number } = {}): Promise<HttpCellOutcome> {
  const { workload } = plan;
  checkHttpWorkload(workload);
  const notes: string[] = [`${DRIVER_LABEL}: latency from each request's send (coordinated omission present); not an open-loop measurement`];
  const signalOption = options.signal === undefined ? {} : { signal: options.signal };
  const timeoutOption = options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs };
  let load = { records: 0, elapsedMs: 0 };
  if (workload.load.enabled) {
    const { sources, total } = loadSources(workload);
    const loaded = await loadOverHttp({ urls: plan.urls, sources, total, ...signalOption, ...timeoutOption });
    if (loaded.firstException !== null) notes.push(`the load phase stopped: its source threw: ${loaded.firstException}`);
    if (loaded.failures > 0) notes.push(`${loaded.failures} of ${total} load-phase puts failed (status codes ${JSON.stringify(loaded.statusCodes)})`);
    load = { records: loaded.records, elapsedMs: loaded.elapsedMs };
  }
  const keySpace = createKeySpace(workload);
  const run = workload.run;
  const sources = Array.from({ length: run.concurrency }, (_, index) => new OperationStream(workload, keySpace, index));
  const drive = await runHttpAutocannon({
    urls: plan.urls,
    sources,
    durationMs: (run.durationSeconds ?? 0) * 1000,
    warmupMs: run.warmupSeconds * 1000,
    keySpace,
    ...signalOption,
    ...timeoutOption,
  });
  if (drive.firstException !== null) notes.push(`the run stopped: its source threw: ${drive.firstException}`);
  if (drive.unfinished > 0) notes.push(`${drive.unfinished} requests were in flight when autocannon stopped (it does not drain); not counted as errors`);
  const ac = drive.autocannon;
  notes.push(
    `autocannon's own figures (${ac.latencyResolution}): ${ac.requestsPerSecondMean.toFixed(0)} req/s mean, p50 ${ac.latencyMs.p50} ms, p99 ${ac.latencyMs.p99} ms, ` +
      `${ac.non2xx} non-2xx, ${ac.errors} errors (${ac.timeouts} timeouts); status codes ${JSON.stringify(drive.statusCodes)}`,
  );
  const cell: CellResult = {
    profile: plan.targetName,
    workload: workload.name,
    repetition: plan.repetition,
    // What an external target does with fsync or reads is not ours to know; say so, not "safe".
    unsafe: false,
    unsafeReasons: [],
    resolvedProfile: { external: true, urls: [...plan.urls] },
    resolvedWorkload: workload,
    target: { kind: 'http', description: `${plan.targetName} at ${plan.urls.join(', ')}`, driver: DRIVER_LABEL },
    ...measuredPart(drive),
    costs: null,
    load,
    notes,
  };
  return { cell, drive };
}

// One cell of a run: one profile × one workload × one repetition, in a fresh data directory.
// Start the cluster from the profile, load the workload's records, drive the run phase (closed or
// open loop, as the workload says), read the nodes' counters before and after, stop the cluster,
// remove the data. What comes back is the cell's part of the results file.

import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runClosedLoop } from '../drive/closed-loop.js';
import { runOpenLoop } from '../drive/open-loop.js';
import type { DriveResult } from '../drive/run.js';
import type { OperationSource } from '../drive/target.js';
import type { CellResult } from '../results/schema.js';
import { createKeySpace, LoadStream, OperationStream, type Operation, type Workload } from '../workload/index.js';
import type { ResolvedProfile } from '../../server/profile.js';
import { costsBetween } from './costs.js';
import { EmbeddedTarget, outcomeOf } from './embedded-target.js';
import { ProcessTarget } from './process-target.js';
import { markPhase } from './phase-marks.js';

export interface CellPlan {
  readonly profile: ResolvedProfile;
  readonly workload: Workload;
  readonly repetition: number;
}

export interface CellOptions {
  /** Where the cell's data directory is made (and removed afterwards). */
  readonly dataRoot: string;
  readonly signal?: AbortSignal;
  /** Client library instances the target spreads operations over (each has its own session). */
  readonly targetClients?: number;
  readonly requestTimeoutMs?: number;
}

/** Client library instances by default: enough sessions for any concurrency, few enough to register fast. */
const TARGET_CLIENTS_DEFAULT = 8;

async function loadRecords(target: EmbeddedTarget | ProcessTarget, workload: Workload, signal: AbortSignal | undefined): Promise<{ records: number; elapsedMs: number; failures: number }> {
  const startMs = performance.now();
  let records = 0;
  let failures = 0;
  const clients = Array.from({ length: workload.load.concurrency }, (_, index) => new LoadStream(workload, index));
  await Promise.all(
    clients.map(async (stream) => {
      for (let operation = stream.next(); operation !== undefined && signal?.aborted !== true; operation = stream.next()) {
        const outcome = await target.execute(operation).catch(() => ({ ok: false as const, error: 'failed' as const }));
        if (outcome.ok) records += 1;
        else failures += 1;
      }
    }),
  );
  return { records, elapsedMs: performance.now() - startMs, failures };
}

/** A source that deals from the per-client streams in turn (the open loop takes one source). */
function roundRobin(sources: readonly OperationSource<Operation>[]): OperationSource<Operation> {
  let next = 0;
  return { next: () => sources[next++ % sources.length]!.next() };
}

export async function runCell(plan: CellPlan, options: CellOptions): Promise<CellResult> {
  const { profile, workload } = plan;
  const dataDir = await mkdtemp(join(options.dataRoot, `${profile.name}-${workload.name}-`));
  const notes: string[] = [];
  try {
    const targetOptions = {
      profile,
      dataDir,
      clients: options.targetClients ?? TARGET_CLIENTS_DEFAULT,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      seed: workload.run.seed + plan.repetition,
    };
    const target = profile.cluster.layout === 'processes' ? await ProcessTarget.start(targetOptions) : await EmbeddedTarget.start(targetOptions);
    try {
      const load = workload.load.enabled ? await loadRecords(target, workload, options.signal) : { records: 0, elapsedMs: 0, failures: 0 };
      if (load.failures > 0) notes.push(`${load.failures} of ${workload.keys.recordCount} load-phase inserts failed`);
      const keySpace = createKeySpace(workload);
      target.keySpace = keySpace;
      const run = workload.run;
      const sources = Array.from({ length: run.concurrency }, (_, index) => new OperationStream(workload, keySpace, index));
      // durationSeconds is the recorded time (the workload README says so): issuing lasts the
      // warm-up plus that. An operation count includes the warm-up's operations.
      const bounds = run.durationSeconds !== undefined ? { durationMs: (run.warmupSeconds + run.durationSeconds) * 1000 } : { operationsMax: run.operationCount };
      const before = await target.counters();
      markPhase('drive-start', run.warmupSeconds * 1_000_000);
      const common = { target, warmupMs: run.warmupSeconds * 1000, ...bounds, ...(options.signal === undefined ? {} : { signal: options.signal }) };
      const drive: DriveResult =
        run.mode === 'closed'
          ? await runClosedLoop<Operation>({ ...common, clients: run.concurrency, source: sources })
          : await runOpenLoop<Operation>({ ...common, source: roundRobin(sources), ratePerSecond: run.rateOpsPerSecond, outstandingMax: Math.max(1000, run.concurrency * 64) });
      markPhase('drive-end');
      const after = await target.counters();
      const recording = drive.recording;
      const operations = recording.total.count + recording.total.errorCount + recording.warmupDiscarded;
      if (drive.firstException !== null) notes.push(`the target threw: ${drive.firstException}`);
      return {
        profile: profile.name,
        workload: workload.name,
        repetition: plan.repetition,
        unsafe: profile.unsafe,
        unsafeReasons: [...profile.unsafeReasons],
        resolvedProfile: profile,
        resolvedWorkload: workload,
        target: target instanceof ProcessTarget ? { kind: 'processes', description: target.describe(), driver: 'binary protocol client library' } : { kind: 'embedded', description: target.describe(), driver: 'embedded client library' },
        ...measuredPart(drive),
        costs: costsBetween(before, after, operations),
        load: { records: load.records, elapsedMs: Math.round(load.elapsedMs) },
        notes,
      };
    } finally {
      await target.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The part of a cell every driver fills the same way: how it drove, and what it recorded. */
export function measuredPart(drive: DriveResult): Pick<CellResult, 'drive' | 'total' | 'byType'> {
  const recording = drive.recording;
  return {
    drive: {
      mode: drive.mode,
      coordinatedOmission: drive.coordinatedOmission,
      ratePerSecond: drive.ratePerSecond,
      clients: drive.clients,
      issued: drive.issued,
      dropped: drive.dropped,
      unfinished: drive.unfinished,
      elapsedUs: drive.elapsedUs,
      windowUs: recording.windowUs,
      warmupDiscarded: recording.warmupDiscarded,
      firstException: drive.firstException,
    },
    // The recorder's arrays are readonly; the file holds the same data.
    total: recording.total as CellResult['total'],
    byType: recording.byType as CellResult['byType'],
  };
}

export { outcomeOf };

// Synthetic run files (raftbench.run/1) for the report tests, built the way the runner builds them:
// per operation type an HDR histogram (hdr-histogram-js, the recorder's range and precision) of
// known latencies, encoded; totals as the merge of the types; throughput as count / window.
//
// The subtle thing: latencies below 2048 µs are stored exactly at 3 significant digits (one
// bucket per µs), so a test can compute every percentile by hand with the nearest-rank rule
// (rank ⌈p/100 · N⌉) and compare it with what the report reads from the decoded histograms.

import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellResult, Costs, Environment, OperationTypeResult, RunFile } from '../../../src/bench/results/schema.js';

export const WINDOW_US = 10_000_000;

/** Distinct latency values (µs), each recorded `countEach` times. */
export interface TypeSpec {
  readonly valuesUs: readonly number[];
  readonly countEach: number;
  readonly errors?: Readonly<Record<string, number>>;
}

export interface CellSpec {
  readonly profile: string;
  readonly workload: string;
  readonly repetition: number;
  readonly types: Readonly<Record<string, TypeSpec>>;
  readonly unsafeReasons?: readonly string[];
  readonly mode?: 'open-loop' | 'closed-loop';
  readonly driver?: string;
  readonly clients?: number;
  /** Per-operation costs; the counters are derived from them. null: no counters (an HTTP target). */
  readonly costs?: { fsyncs: number; bytesWritten: number; messages: number; bytesOnWire: number; entriesPerAppend: number; proposalsPerBatch: number; logCompressionRatio: number } | null;
  readonly notes?: readonly string[];
  readonly description?: string;
}

function histogramOf(valuesUs: readonly number[], countEach: number): Histogram {
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: false });
  for (const value of valuesUs) histogram.recordValueWithCount(value, countEach);
  return histogram;
}

function typeResult(histogram: Histogram, errors: Readonly<Record<string, number>>): OperationTypeResult {
  const empty = histogram.totalCount === 0;
  const errorCount = Object.values(errors).reduce((sum, count) => sum + count, 0);
  const buckets = WINDOW_US / 1_000_000;
  const spread = (total: number): number[] => Array.from({ length: buckets }, (_, bucket) => Math.floor(total / buckets) + (bucket < total % buckets ? 1 : 0));
  return {
    count: histogram.totalCount,
    errorCount,
    errors: { ...errors },
    latencyUs: {
      count: histogram.totalCount,
      min: empty ? 0 : histogram.getValueAtPercentile(0),
      mean: empty ? 0 : histogram.mean,
      stdev: empty ? 0 : histogram.stdDeviation,
      p50: histogram.getValueAtPercentile(50),
      p90: histogram.getValueAtPercentile(90),
      p99: histogram.getValueAtPercentile(99),
      p999: histogram.getValueAtPercentile(99.9),
      max: histogram.getValueAtPercentile(100),
      encoded: encodeIntoCompressedBase64(histogram),
    },
    throughputPerSecond: histogram.totalCount / (WINDOW_US / 1e6),
    series: { completed: spread(histogram.totalCount), failed: spread(errorCount) },
  };
}

export function makeCell(spec: CellSpec): CellResult {
  const total = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: false });
  const totalErrors: Record<string, number> = {};
  const byType: Record<string, OperationTypeResult> = {};
  for (const [type, typeSpec] of Object.entries(spec.types)) {
    const histogram = histogramOf(typeSpec.valuesUs, typeSpec.countEach);
    total.add(histogram);
    byType[type] = typeResult(histogram, typeSpec.errors ?? {});
    for (const [kind, count] of Object.entries(typeSpec.errors ?? {})) totalErrors[kind] = (totalErrors[kind] ?? 0) + count;
  }
  const operations = total.totalCount;
  const mode = spec.mode ?? 'open-loop';
  let costs: Costs | null = null;
  if (spec.costs !== null) {
    const perOperation = spec.costs ?? { fsyncs: 1, bytesWritten: 120, messages: 4, bytesOnWire: 400, entriesPerAppend: 1, proposalsPerBatch: 1, logCompressionRatio: 1 };
    const appends = Math.round(operations / perOperation.entriesPerAppend);
    costs = {
      operations,
      fsyncs: perOperation.fsyncs * operations,
      bytesWritten: perOperation.bytesWritten * operations,
      messages: perOperation.messages * operations,
      bytesOnWire: perOperation.bytesOnWire * operations,
      appendsWithEntries: appends,
      entriesAppended: operations,
      proposals: operations,
      proposeCalls: Math.round(operations / perOperation.proposalsPerBatch),
      logBytesRaw: perOperation.bytesWritten * operations * perOperation.logCompressionRatio,
      logBytesStored: perOperation.bytesWritten * operations,
      snapshotBytesRaw: 0,
      snapshotBytesStored: 0,
      readsByMode: { log: operations / 2 },
      perOperation: { fsyncs: perOperation.fsyncs, bytesWritten: perOperation.bytesWritten, messages: perOperation.messages, bytesOnWire: perOperation.bytesOnWire },
      entriesPerAppend: perOperation.entriesPerAppend,
      proposalsPerBatch: perOperation.proposalsPerBatch,
      logCompressionRatio: perOperation.logCompressionRatio,
      snapshotCompressionRatio: 0,
    };
  }
  const unsafeReasons = [...(spec.unsafeReasons ?? [])];
  return {
    profile: spec.profile,
    workload: spec.workload,
    repetition: spec.repetition,
    unsafe: unsafeReasons.length > 0,
    unsafeReasons,
    resolvedProfile: { name: spec.profile, description: spec.description ?? `the ${spec.profile} profile` },
    resolvedWorkload: { name: spec.workload },
    target: { kind: 'embedded', description: '3 nodes in process', driver: spec.driver ?? 'raftbench' },
    drive: {
      mode,
      coordinatedOmission: mode === 'closed-loop' ? 'present' : 'avoided',
      ratePerSecond: mode === 'open-loop' ? 2000 : null,
      clients: mode === 'closed-loop' ? (spec.clients ?? 4) : null,
      issued: operations + Object.values(totalErrors).reduce((sum, count) => sum + count, 0),
      dropped: 0,
      unfinished: 0,
      elapsedUs: WINDOW_US + 1_000_000,
      windowUs: WINDOW_US,
      warmupDiscarded: 10,
      firstException: null,
    },
    total: typeResult(total, totalErrors),
    byType,
    costs,
    load: { records: 1000, elapsedMs: 50 },
    notes: [...(spec.notes ?? [])],
  };
}

export const TEST_ENVIRONMENT: Environment = {
  cpuModel: 'Test CPU 3000',
  cores: 2,
  memoryBytes: 24 * 1024 * 1024 * 1024,
  loadAverageAtStart: [0.25, 0.3, 0.35],
  node: 'v20.20.2',
  os: 'Linux 6.1.0-test',
  gitCommit: 'abc123def4567890abc123def4567890abc123de',
  gitDirty: true,
  startedAt: '2025-12-02T10:00:00.000Z',
};

export function makeRun(cells: readonly CellResult[], environment: Partial<Environment> = {}, command = 'raftbench run --profiles baseline,all-on --repetitions 5'): RunFile {
  return { schema: 'raftbench.run/1', environment: { ...TEST_ENVIRONMENT, ...environment }, command, cells: [...cells], interrupted: false };
}

export function writeRun(directory: string, name: string, run: unknown): string {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, name);
  writeFileSync(path, JSON.stringify(run));
  return path;
}

/** Ten evenly spaced values from `first` in steps of `step`, each shifted by `shift`. */
export function ladder(first: number, step: number, shift: number): number[] {
  return Array.from({ length: 10 }, (_, k) => first + step * k + shift);
}

export const UNSAFE_REASON = 'storage.fsync is none: a crash can lose acknowledged writes';

/**
 * The main scenario, workload `kv-mix` (types get and put), 5 runs per profile, run r = 0 … 4:
 * - baseline: get 200, 300, … 1100 µs and put 1000, 1100, … 1900 µs (each + r), each value 100 + r
 *   times → per type (100 + r) ops/s, total 2 · (100 + r) ops/s.
 * - all-on: twice the throughput (each value 200 + r times), latencies halved (get 100 … 550,
 *   put 500 … 950, + r); fewer fsyncs.
 * - same: exactly the baseline's runs under another name.
 * - fsync-none: UNSAFE, like all-on plus 5 timeouts of put per run.
 * - closed: closed loop with 4 clients (coordinated omission), like the baseline.
 * and workload `few-runs` (type get), 2 runs each: baseline, and all-on driven by autocannon.
 * Cells are interleaved by repetition with all-on first, as a runner writes them, so "baseline" is
 * not the first profile in the file.
 */
export function mainScenarioCells(): CellResult[] {
  const cells: CellResult[] = [];
  const slowCosts = { fsyncs: 1, bytesWritten: 150, messages: 4, bytesOnWire: 500, entriesPerAppend: 1, proposalsPerBatch: 1, logCompressionRatio: 1 };
  const fastCosts = { fsyncs: 0.05, bytesWritten: 70, messages: 0.5, bytesOnWire: 240, entriesPerAppend: 16, proposalsPerBatch: 32, logCompressionRatio: 2.2 };
  for (let r = 0; r < 5; r++) {
    const baselineTypes = { get: { valuesUs: ladder(200, 100, r), countEach: 100 + r }, put: { valuesUs: ladder(1000, 100, r), countEach: 100 + r } };
    const fastTypes = { get: { valuesUs: ladder(100, 50, r), countEach: 200 + r }, put: { valuesUs: ladder(500, 50, r), countEach: 200 + r } };
    cells.push(makeCell({ profile: 'all-on', workload: 'kv-mix', repetition: r, types: fastTypes, costs: fastCosts, description: 'Every safe optimisation on.' }));
    cells.push(makeCell({ profile: 'baseline', workload: 'kv-mix', repetition: r, types: baselineTypes, costs: slowCosts, description: 'The naive safe baseline.' }));
    cells.push(makeCell({ profile: 'same', workload: 'kv-mix', repetition: r, types: baselineTypes, costs: slowCosts }));
    cells.push(
      makeCell({
        profile: 'fsync-none',
        workload: 'kv-mix',
        repetition: r,
        types: { get: fastTypes.get, put: { ...fastTypes.put, errors: { timeout: 5 } } },
        costs: { ...fastCosts, fsyncs: 0 },
        unsafeReasons: [UNSAFE_REASON],
        notes: r === 0 ? ['leader changed once during the run'] : [],
      }),
    );
    cells.push(makeCell({ profile: 'closed', workload: 'kv-mix', repetition: r, types: baselineTypes, costs: slowCosts, mode: 'closed-loop', clients: 4 }));
  }
  for (let r = 0; r < 2; r++) {
    cells.push(makeCell({ profile: 'baseline', workload: 'few-runs', repetition: r, types: { get: { valuesUs: ladder(300, 10, r), countEach: 50 } }, costs: null }));
    cells.push(makeCell({ profile: 'all-on', workload: 'few-runs', repetition: r, types: { get: { valuesUs: ladder(150, 10, r), countEach: 100 } }, costs: null, driver: 'autocannon' }));
  }
  return cells;
}

/** Nearest-rank percentile of values given with multiplicities: the value of rank max(1, ⌈p/100 · N⌉). */
export function nearestRank(weighted: readonly (readonly [value: number, count: number])[], percentile: number): number {
  const sorted = [...weighted].sort((x, y) => x[0] - y[0]);
  const total = sorted.reduce((sum, [, count]) => sum + count, 0);
  const rank = Math.max(1, Math.ceil((percentile / 100) * total - 1e-9));
  let seen = 0;
  for (const [value, count] of sorted) {
    seen += count;
    if (seen >= rank) return value;
  }
  return sorted[sorted.length - 1]![0];
}

// The results file: what one `raftbench run` measured, versioned, so that runs can be compared,
// merged and re-plotted long after. One file per run (results/run-<time>.json), holding every cell
// of the matrix (profile × workload × repetition). Latency histograms are stored encoded
// (hdr-histogram-js `encodeIntoCompressedBase64`), so percentiles can be recomputed and runs
// merged without losing resolution.
//
// Loading checks the schema version first and says exactly what is wrong (path of the bad field).

import { z } from 'zod';

export const RUN_SCHEMA = 'raftbench.run/1';

const LatencySummary = z.object({
  count: z.number(),
  min: z.number(),
  mean: z.number(),
  stdev: z.number(),
  p50: z.number(),
  p90: z.number(),
  p99: z.number(),
  p999: z.number(),
  max: z.number(),
  /** hdr-histogram-js encodeIntoCompressedBase64 of the whole histogram (µs). */
  encoded: z.string(),
});
export type LatencySummary = z.infer<typeof LatencySummary>;

const OperationTypeResult = z.object({
  count: z.number(),
  errorCount: z.number(),
  errors: z.record(z.string(), z.number()),
  latencyUs: LatencySummary,
  throughputPerSecond: z.number(),
  series: z.object({ completed: z.array(z.number()), failed: z.array(z.number()) }),
});
export type OperationTypeResult = z.infer<typeof OperationTypeResult>;

export const EnvironmentSchema = z.object({
  cpuModel: z.string(),
  cores: z.number(),
  memoryBytes: z.number(),
  /** 1, 5 and 15 minute load averages when the run started. */
  loadAverageAtStart: z.array(z.number()),
  node: z.string(),
  os: z.string(),
  gitCommit: z.string(),
  gitDirty: z.boolean(),
  startedAt: z.string(),
});
export type Environment = z.infer<typeof EnvironmentSchema>;

/** Deterministic cost counters of one cell, summed over the nodes, and per operation. */
export const CostsSchema = z.object({
  operations: z.number(),
  fsyncs: z.number(),
  bytesWritten: z.number(),
  messages: z.number(),
  bytesOnWire: z.number(),
  appendsWithEntries: z.number(),
  entriesAppended: z.number(),
  proposals: z.number(),
  proposeCalls: z.number(),
  logBytesRaw: z.number(),
  logBytesStored: z.number(),
  snapshotBytesRaw: z.number(),
  snapshotBytesStored: z.number(),
  readsByMode: z.record(z.string(), z.number()),
  /** The same, divided by the operations measured: what the gate compares. */
  perOperation: z.object({
    fsyncs: z.number(),
    bytesWritten: z.number(),
    messages: z.number(),
    bytesOnWire: z.number(),
  }),
  entriesPerAppend: z.number(),
  proposalsPerBatch: z.number(),
  logCompressionRatio: z.number(),
  snapshotCompressionRatio: z.number(),
});
export type Costs = z.infer<typeof CostsSchema>;

export const CellResultSchema = z.object({
  profile: z.string(),
  workload: z.string(),
  repetition: z.number(),
  /** Unsafe settings make every row that shows this cell say UNSAFE, with these reasons. */
  unsafe: z.boolean(),
  unsafeReasons: z.array(z.string()),
  /** The profile and workload as resolved (every default filled in). */
  resolvedProfile: z.unknown(),
  resolvedWorkload: z.unknown(),
  target: z.object({
    /** 'embedded' (in process), 'processes' (TCP), 'http' (any URL, e.g. etcd). */
    kind: z.string(),
    description: z.string(),
    driver: z.string(),
  }),
  drive: z.object({
    mode: z.enum(['open-loop', 'closed-loop']),
    coordinatedOmission: z.enum(['avoided', 'present']),
    ratePerSecond: z.number().nullable(),
    clients: z.number().nullable(),
    issued: z.number(),
    dropped: z.number(),
    unfinished: z.number(),
    elapsedUs: z.number(),
    windowUs: z.number(),
    warmupDiscarded: z.number(),
    firstException: z.string().nullable(),
  }),
  total: OperationTypeResult,
  byType: z.record(z.string(), OperationTypeResult),
  costs: CostsSchema.nullable(),
  load: z.object({ records: z.number(), elapsedMs: z.number() }),
  /** Anything the run noticed that a reader should know (e.g. errors during the load phase). */
  notes: z.array(z.string()),
});
export type CellResult = z.infer<typeof CellResultSchema>;

export const RunFileSchema = z.object({
  schema: z.literal(RUN_SCHEMA),
  environment: EnvironmentSchema,
  /** The command line that made it. */
  command: z.string(),
  /** Cells in the order they ran (repetitions interleaved). */
  cells: z.array(CellResultSchema),
  /** True when the run was interrupted (Ctrl-C): the cells are those that finished. */
  interrupted: z.boolean(),
});
export type RunFile = z.infer<typeof RunFileSchema>;

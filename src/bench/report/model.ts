// The report as data, apart from any rendering: from one or more run files (raftbench.run/1),
// per workload and configuration the repetitions' samples of every metric, their summaries, the
// merged latency histograms, and every configuration compared with its reference by the rank test
// and the bootstrap interval. Markdown, CSV and (later) HTML renderers only format this; it is
// plain JSON (no NaN, no class instances), so it can be written out and rendered elsewhere.
//
// The subtle thing is *what is compared with what*. A configuration is a profile's cells from one
// file: the same profile in two files is two configurations, labelled `profile@file`, never pooled
// (two files are two machines or two builds until proven otherwise). With pairing 'baseline'
// every configuration of a workload is compared with one baseline configuration; with
// 'across-files' (the compare command, benchstat's old → new) a profile that appears in several
// files is compared with itself in the first file that has it, and the rest with the baseline.

import { basename } from 'node:path';
import { SERIES_BUCKET_US_DEFAULT } from '../record/recorder.js';
import type { CellResult, Costs, Environment, OperationTypeResult, RunFile } from '../results/schema.js';
import { BOOTSTRAP_CONFIDENCE_DEFAULT, BOOTSTRAP_RESAMPLES_DEFAULT } from '../stats/bootstrap.js';
import { ALPHA_DEFAULT } from '../stats/compare.js';
import { summarize } from '../stats/summary.js';
import { compareMetric, type CompareSettings, type MetricComparisonResult, type MetricSamples } from './comparison.js';
import { metricsFor, repetitionValue, type MetricDefinition } from './metrics.js';
import { mergeLatency, type MergedLatency } from './spectrum.js';

export type { Assessment, MetricComparison, MetricComparisonResult, MetricNotCompared, MetricSamples } from './comparison.js';

export const REPORT_SCHEMA = 'raftbench.report/1';
/** The profile name taken as the baseline when none is named. */
export const BASELINE_PROFILE_DEFAULT = 'baseline';
/** A load average above this many per core when a run started marks the run's machine as busy. */
const LOAD_PER_CORE_BUSY = 0.5;
/** The environment fields that make two runs come from different machines or software. */
const MACHINE_FIELDS = ['cpuModel', 'cores', 'memoryBytes', 'node', 'os'] as const;

export interface ReportSource {
  /** The file as the user named it; labels are made from it. */
  readonly path: string;
  readonly run: RunFile;
}

export type Pairing = 'baseline' | 'across-files';

export interface ReportOptions {
  /** A profile name or a configuration label (`profile@file`); default: `baseline`, else the first. */
  readonly baseline?: string | undefined;
  /** Default 'baseline'. */
  readonly pairing?: Pairing;
  readonly alpha?: number;
  readonly bootstrapResamples?: number;
}

/** Input that cannot make a report (a baseline that is nowhere, no sources): a usage error. */
export class ReportInputError extends Error {
  override readonly name = 'ReportInputError';
}

// ——— the data ———

export interface SourceData {
  /** Short name of the file in labels: its base name without `.json` (the path when two share one). */
  readonly label: string;
  readonly path: string;
  readonly environment: Environment;
  readonly command: string;
  readonly interrupted: boolean;
  readonly cellCount: number;
  readonly workloads: readonly string[];
  readonly profiles: readonly string[];
  /** The most repetitions any (workload, profile) of this file has. */
  readonly repetitionsMax: number;
}

/** One operation type's (or all operations') latency in one repetition, µs. */
export interface LatencyFigures {
  readonly min: number;
  readonly mean: number;
  readonly stdev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export interface OperationFigures {
  /** Successful operations (those in the latency histogram). */
  readonly count: number;
  readonly errorCount: number;
  readonly errors: Readonly<Record<string, number>>;
  /** errorCount / (count + errorCount) · 100; null when nothing finished at all. */
  readonly errorRatePercent: number | null;
  readonly throughputPerSecond: number;
  /** null when no operation succeeded (the histogram is empty; its percentiles would read 0). */
  readonly latencyUs: LatencyFigures | null;
  /** Per bucket of `seriesBucketUs`, by completion time. */
  readonly series: { readonly completed: readonly number[]; readonly failed: readonly number[] };
}

export interface CostFigures {
  readonly operations: number;
  readonly fsyncsPerOperation: number;
  readonly bytesWrittenPerOperation: number;
  readonly messagesPerOperation: number;
  readonly bytesOnWirePerOperation: number;
  /** null when no AppendEntries carried entries. */
  readonly entriesPerAppend: number | null;
  /** null when nothing was proposed. */
  readonly proposalsPerBatch: number | null;
  /** raw / stored; null when nothing was written to the log. */
  readonly logCompressionRatio: number | null;
  /** raw / stored; null when no snapshot was taken. */
  readonly snapshotCompressionRatio: number | null;
  readonly readsByMode: Readonly<Record<string, number>>;
}

export interface DriveLabel {
  readonly mode: 'open-loop' | 'closed-loop';
  readonly coordinatedOmission: 'avoided' | 'present';
  readonly driver: string;
  readonly targetKind: string;
  readonly targetDescription: string;
  readonly ratePerSecond: number | null;
  readonly clients: number | null;
}

export interface RepetitionData {
  readonly repetition: number;
  readonly drive: DriveLabel & {
    readonly issued: number;
    readonly dropped: number;
    readonly unfinished: number;
    readonly windowUs: number;
    readonly elapsedUs: number;
    readonly warmupDiscarded: number;
    readonly firstException: string | null;
  };
  /**
   * Width of a series bucket. raftbench.run/1 does not record it; the recorder's default (1 s) is
   * assumed.
   */
  readonly seriesBucketUs: number;
  readonly total: OperationFigures;
  readonly byType: Readonly<Record<string, OperationFigures>>;
  readonly costs: CostFigures | null;
  readonly notes: readonly string[];
}

export interface ErrorTally {
  /** Operations that finished, successfully or not. */
  readonly finished: number;
  readonly errorCount: number;
  readonly byKind: Readonly<Record<string, number>>;
}

export interface ConfigurationData {
  /** Unique within the report: the profile, or `profile@file` when the profile is in several files. */
  readonly label: string;
  readonly profile: string;
  /** SourceData.label of the file its cells came from. */
  readonly source: string;
  readonly description: string | null;
  readonly unsafe: boolean;
  readonly unsafeReasons: readonly string[];
  /** How its repetitions were driven (usually one). */
  readonly drives: readonly DriveLabel[];
  /** Set when its latencies suffer from coordinated omission (closed loop, autocannon …): print it next to its latencies. */
  readonly latencyCaveat: string | null;
  readonly repetitions: readonly RepetitionData[];
  /** By metric id; a metric no repetition has is absent. */
  readonly samples: Readonly<Record<string, MetricSamples>>;
  /** All repetitions' histograms merged, over all operations and per type. */
  readonly latency: { readonly total: MergedLatency; readonly byType: Readonly<Record<string, MergedLatency>> };
  readonly errors: { readonly total: ErrorTally; readonly byType: Readonly<Record<string, ErrorTally>> };
  readonly notes: readonly string[];
}

export interface ComparisonRow {
  /** ConfigurationData.label of the candidate and of what it is compared with. */
  readonly configuration: string;
  readonly reference: string;
  /** By metric id, for every metric either side has. */
  readonly metrics: Readonly<Record<string, MetricComparisonResult>>;
}

export interface WorkloadData {
  readonly workload: string;
  /** Label of the baseline configuration: the reference of every row in 'baseline' pairing. */
  readonly baseline: string;
  /** Why the baseline is not the one asked for, if it is not. */
  readonly baselineNote: string | null;
  readonly operationTypes: readonly string[];
  /** The metrics some configuration has, in reading order. */
  readonly metrics: readonly MetricDefinition[];
  /** Baseline profile first, then by first appearance; the same profile's files side by side. */
  readonly configurations: readonly ConfigurationData[];
  /** One per configuration that has a reference (all but the baseline). */
  readonly rows: readonly ComparisonRow[];
}

export interface UnsafeProfile {
  readonly label: string;
  readonly reasons: readonly string[];
}

export interface ReportData {
  readonly schema: typeof REPORT_SCHEMA;
  readonly settings: {
    readonly pairing: Pairing;
    readonly baselineRequested: string | null;
    readonly alpha: number;
    readonly confidence: number;
    readonly bootstrapResamples: number;
  };
  readonly sources: readonly SourceData[];
  /** Machine fields (cpuModel, cores, memoryBytes, node, os) that differ between the sources. */
  readonly environmentDifferences: readonly string[];
  readonly unsafe: readonly UnsafeProfile[];
  readonly workloads: readonly WorkloadData[];
  /** Things a reader must know before trusting any number (busy machine, interrupted run, …). */
  readonly warnings: readonly string[];
}

// ——— building it ———

interface LabelledCell {
  readonly cell: CellResult;
  readonly source: string;
}

function sourceLabels(sources: readonly ReportSource[]): string[] {
  const bases = sources.map((source) => basename(source.path).replace(/\.json$/i, ''));
  const labels = sources.map((source, index) => (bases.filter((base) => base === bases[index]).length > 1 ? source.path : bases[index]!));
  // The same path twice: number them so every configuration stays distinct.
  return labels.map((label, index) => (labels.filter((other) => other === label).length > 1 ? `${label}#${index + 1}` : label));
}

function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

function latencyFigures(result: OperationTypeResult): LatencyFigures | null {
  if (result.count === 0) return null;
  const { min, mean, stdev, p50, p90, p99, p999, max } = result.latencyUs;
  return { min, mean, stdev, p50, p90, p99, p999, max };
}

function operationFigures(result: OperationTypeResult): OperationFigures {
  const finished = result.count + result.errorCount;
  return {
    count: result.count,
    errorCount: result.errorCount,
    errors: { ...result.errors },
    errorRatePercent: finished === 0 ? null : (result.errorCount / finished) * 100,
    throughputPerSecond: result.throughputPerSecond,
    latencyUs: latencyFigures(result),
    series: { completed: [...result.series.completed], failed: [...result.series.failed] },
  };
}

function costFigures(costs: Costs | null): CostFigures | null {
  if (costs === null) return null;
  return {
    operations: costs.operations,
    fsyncsPerOperation: costs.perOperation.fsyncs,
    bytesWrittenPerOperation: costs.perOperation.bytesWritten,
    messagesPerOperation: costs.perOperation.messages,
    bytesOnWirePerOperation: costs.perOperation.bytesOnWire,
    entriesPerAppend: costs.appendsWithEntries === 0 ? null : costs.entriesPerAppend,
    proposalsPerBatch: costs.proposeCalls === 0 ? null : costs.proposalsPerBatch,
    logCompressionRatio: costs.logBytesRaw === 0 ? null : costs.logCompressionRatio,
    snapshotCompressionRatio: costs.snapshotBytesRaw === 0 ? null : costs.snapshotCompressionRatio,
    readsByMode: { ...costs.readsByMode },
  };
}

function driveLabel(cell: CellResult): DriveLabel {
  return {
    mode: cell.drive.mode,
    coordinatedOmission: cell.drive.coordinatedOmission,
    driver: cell.target.driver,
    targetKind: cell.target.kind,
    targetDescription: cell.target.description,
    ratePerSecond: cell.drive.ratePerSecond,
    clients: cell.drive.clients,
  };
}

function repetitionData(cell: CellResult): RepetitionData {
  const byType: Record<string, OperationFigures> = {};
  for (const type of Object.keys(cell.byType).sort()) byType[type] = operationFigures(cell.byType[type]!);
  const notes = [...cell.notes];
  if (cell.drive.firstException !== null) notes.push(`the target threw: ${cell.drive.firstException}`);
  return {
    repetition: cell.repetition,
    drive: {
      ...driveLabel(cell),
      issued: cell.drive.issued,
      dropped: cell.drive.dropped,
      unfinished: cell.drive.unfinished,
      windowUs: cell.drive.windowUs,
      elapsedUs: cell.drive.elapsedUs,
      warmupDiscarded: cell.drive.warmupDiscarded,
      firstException: cell.drive.firstException,
    },
    seriesBucketUs: SERIES_BUCKET_US_DEFAULT,
    total: operationFigures(cell.total),
    byType,
    costs: costFigures(cell.costs),
    notes,
  };
}

/**
 * The label printed next to latencies that suffer from coordinated omission: the closed loop
 * measures from the actual send, and so does autocannon whatever its mode.
 */
export function latencyCaveat(drives: readonly DriveLabel[]): string | null {
  const causes = unique(
    drives.flatMap((drive) => {
      if (/autocannon/i.test(drive.driver)) return [`driven by ${drive.driver}, which measures from the actual send`];
      if (drive.coordinatedOmission === 'present') return [drive.mode === 'closed-loop' ? `closed loop${drive.clients === null ? '' : ` with ${drive.clients} clients`}` : `${drive.mode}, measured from the actual send`];
      return [];
    }),
  );
  if (causes.length === 0) return null;
  return `latencies suffer from coordinated omission (${causes.join('; ')}): while the target stalls the clients wait instead of measuring, so percentiles read far too low; its throughput stands`;
}

function tallyErrors(figures: readonly OperationFigures[]): ErrorTally {
  const byKind: Record<string, number> = {};
  let finished = 0;
  let errorCount = 0;
  for (const figure of figures) {
    finished += figure.count + figure.errorCount;
    errorCount += figure.errorCount;
    for (const [kind, count] of Object.entries(figure.errors)) byKind[kind] = (byKind[kind] ?? 0) + count;
  }
  return { finished, errorCount, byKind };
}

function profileDescription(resolvedProfile: unknown): string | null {
  if (typeof resolvedProfile !== 'object' || resolvedProfile === null) return null;
  const description = (resolvedProfile as Record<string, unknown>)['description'];
  return typeof description === 'string' ? description : null;
}

function configurationData(label: string, profile: string, source: string, sourcePath: string, workload: string, cells: readonly CellResult[], metrics: readonly MetricDefinition[], operationTypes: readonly string[]): ConfigurationData {
  const ordered = [...cells].sort((x, y) => x.repetition - y.repetition);
  const repetitions = ordered.map(repetitionData);
  const samples: Record<string, MetricSamples> = {};
  for (const metric of metrics) {
    const values: number[] = [];
    const repetitionNumbers: number[] = [];
    for (const repetition of repetitions) {
      const value = repetitionValue(repetition, metric);
      if (value === null) continue;
      values.push(value);
      repetitionNumbers.push(repetition.repetition);
    }
    if (values.length > 0) samples[metric.id] = { values, repetitions: repetitionNumbers, summary: summarize(values, `${label} ${metric.id}`) };
  }
  const latencyByType: Record<string, MergedLatency> = {};
  const errorsByType: Record<string, ErrorTally> = {};
  for (const type of operationTypes) {
    const withType = ordered.filter((cell) => cell.byType[type] !== undefined);
    if (withType.length === 0) continue;
    latencyByType[type] = mergeLatency(withType.map((cell) => cell.byType[type]!.latencyUs.encoded), (index) => `${sourcePath}: ${workload}/${profile} repetition ${withType[index]!.repetition} ${type}`);
    errorsByType[type] = tallyErrors(repetitions.flatMap((repetition) => (repetition.byType[type] === undefined ? [] : [repetition.byType[type]!])));
  }
  const drives = unique(ordered.map((cell) => JSON.stringify(driveLabel(cell)))).map((json) => JSON.parse(json) as DriveLabel);
  return {
    label,
    profile,
    source,
    description: unique(ordered.map((cell) => profileDescription(cell.resolvedProfile)))[0] ?? null,
    unsafe: ordered.some((cell) => cell.unsafe),
    unsafeReasons: unique(ordered.flatMap((cell) => cell.unsafeReasons)),
    drives,
    latencyCaveat: latencyCaveat(drives),
    repetitions,
    samples,
    latency: { total: mergeLatency(ordered.map((cell) => cell.total.latencyUs.encoded), (index) => `${sourcePath}: ${workload}/${profile} repetition ${ordered[index]!.repetition} total`), byType: latencyByType },
    errors: { total: tallyErrors(repetitions.map((repetition) => repetition.total)), byType: errorsByType },
    notes: unique(repetitions.flatMap((repetition) => repetition.notes)),
  };
}

interface WorkloadCells {
  readonly workload: string;
  readonly cells: LabelledCell[];
}

function groupByWorkload(sources: readonly ReportSource[], labels: readonly string[]): WorkloadCells[] {
  const groups = new Map<string, LabelledCell[]>();
  sources.forEach((source, index) => {
    for (const cell of source.run.cells) {
      let group = groups.get(cell.workload);
      if (group === undefined) groups.set(cell.workload, (group = []));
      group.push({ cell, source: labels[index]! });
    }
  });
  return [...groups].map(([workload, cells]) => ({ workload, cells }));
}

interface ResolvedBaseline {
  readonly label: string;
  readonly note: string | null;
}

function resolveBaseline(requested: string | undefined, configurations: readonly { label: string; profile: string }[], workload: string): ResolvedBaseline {
  const first = configurations[0]!;
  const byName = (name: string): { label: string } | undefined => configurations.find((configuration) => configuration.label === name) ?? configurations.find((configuration) => configuration.profile === name);
  if (requested === undefined) return { label: (byName(BASELINE_PROFILE_DEFAULT) ?? first).label, note: null };
  const found = byName(requested);
  if (found !== undefined) return { label: found.label, note: null };
  return { label: first.label, note: `workload ${workload} has no profile '${requested}': compared with ${first.label} (the first) instead` };
}

/** What every workload's assembly needs from the whole set of files. */
interface Context {
  readonly labels: readonly string[];
  readonly pathOf: ReadonlyMap<string, string>;
  readonly configurationLabel: (profile: string, source: string) => string;
  readonly baselineRequested: string | undefined;
  readonly pairing: Pairing;
  readonly compare: CompareSettings;
}

function workloadData({ workload, cells }: WorkloadCells, context: Context): WorkloadData {
  const operationTypes = unique(cells.flatMap(({ cell }) => Object.keys(cell.byType))).sort();
  const metricsAll = metricsFor(operationTypes, cells.some(({ cell }) => cell.costs !== null));
  // Configurations: profiles by first appearance, each profile's files in the order given.
  const keys = unique(cells.map(({ cell }) => cell.profile)).flatMap((profile) =>
    context.labels
      .filter((source) => cells.some((entry) => entry.source === source && entry.cell.profile === profile))
      .map((source) => ({ profile, source, label: context.configurationLabel(profile, source) })),
  );
  const baseline = resolveBaseline(context.baselineRequested, keys, workload);
  const baselineProfile = keys.find((key) => key.label === baseline.label)!.profile;
  const ordered = [...keys.filter((key) => key.profile === baselineProfile), ...keys.filter((key) => key.profile !== baselineProfile)];
  const configurations = ordered.map((key) => {
    const own = cells.filter((entry) => entry.source === key.source && entry.cell.profile === key.profile).map((entry) => entry.cell);
    return configurationData(key.label, key.profile, key.source, context.pathOf.get(key.source)!, workload, own, metricsAll, operationTypes);
  });
  const metrics = metricsAll.filter((metric) => configurations.some((configuration) => configuration.samples[metric.id] !== undefined));
  const referenceOf = (configuration: ConfigurationData): ConfigurationData | null => {
    if (configuration.label === baseline.label) return null;
    if (context.pairing === 'across-files') {
      const firstOfProfile = configurations.find((other) => other.profile === configuration.profile)!;
      if (firstOfProfile !== configuration) return firstOfProfile;
    }
    return configurations.find((other) => other.label === baseline.label)!;
  };
  const rows = configurations.flatMap((configuration): ComparisonRow[] => {
    const reference = referenceOf(configuration);
    if (reference === null) return [];
    const comparisons: Record<string, MetricComparisonResult> = {};
    for (const metric of metrics) {
      if (reference.samples[metric.id] === undefined && configuration.samples[metric.id] === undefined) continue;
      comparisons[metric.id] = compareMetric(metric, reference.samples[metric.id], configuration.samples[metric.id], context.compare);
    }
    return [{ configuration: configuration.label, reference: reference.label, metrics: comparisons }];
  });
  return { workload, baseline: baseline.label, baselineNote: baseline.note, operationTypes, metrics, configurations, rows };
}

function sourceData(source: ReportSource, label: string): SourceData {
  const cellsPerConfiguration = new Map<string, number>();
  for (const cell of source.run.cells) {
    const key = JSON.stringify([cell.workload, cell.profile]);
    cellsPerConfiguration.set(key, (cellsPerConfiguration.get(key) ?? 0) + 1);
  }
  return {
    label,
    path: source.path,
    environment: source.run.environment,
    command: source.run.command,
    interrupted: source.run.interrupted,
    cellCount: source.run.cells.length,
    workloads: unique(source.run.cells.map((cell) => cell.workload)),
    profiles: unique(source.run.cells.map((cell) => cell.profile)),
    repetitionsMax: Math.max(0, ...cellsPerConfiguration.values()),
  };
}

function reportWarnings(sources: readonly SourceData[], environmentDifferences: readonly string[], workloads: readonly WorkloadData[]): string[] {
  const warnings: string[] = [];
  if (environmentDifferences.length > 0) {
    warnings.push(`the runs come from different machines or software (${environmentDifferences.join(', ')} differ): a difference between files may be the machine's, not the change's`);
  }
  for (const source of sources) {
    const { environment } = source;
    const load = environment.loadAverageAtStart[0];
    if (load !== undefined && load > LOAD_PER_CORE_BUSY * environment.cores) {
      warnings.push(`${source.label}: load average ${load.toFixed(2)} on ${environment.cores} cores when the run started: the machine was busy, so timings carry its noise`);
    }
    if (source.interrupted) warnings.push(`${source.label}: the run was interrupted; only the cells that finished are here`);
    if (source.cellCount === 0) warnings.push(`${source.label}: no cells were recorded`);
  }
  for (const workload of workloads) if (workload.baselineNote !== null) warnings.push(workload.baselineNote);
  return warnings;
}

function unsafeProfiles(workloads: readonly WorkloadData[]): UnsafeProfile[] {
  const reasonsOf = new Map<string, Set<string>>();
  for (const workload of workloads) {
    for (const configuration of workload.configurations) {
      if (!configuration.unsafe) continue;
      let reasons = reasonsOf.get(configuration.label);
      if (reasons === undefined) reasonsOf.set(configuration.label, (reasons = new Set()));
      for (const reason of configuration.unsafeReasons) reasons.add(reason);
    }
  }
  return [...reasonsOf].map(([label, reasons]) => ({ label, reasons: [...reasons] }));
}

export function buildReport(sources: readonly ReportSource[], options: ReportOptions = {}): ReportData {
  if (sources.length === 0) throw new ReportInputError('no run files given');
  const settings = {
    pairing: options.pairing ?? 'baseline',
    baselineRequested: options.baseline ?? null,
    alpha: options.alpha ?? ALPHA_DEFAULT,
    confidence: BOOTSTRAP_CONFIDENCE_DEFAULT,
    bootstrapResamples: options.bootstrapResamples ?? BOOTSTRAP_RESAMPLES_DEFAULT,
  };
  const labels = sourceLabels(sources);
  const sourcesOfProfile = new Map<string, Set<string>>();
  sources.forEach((source, index) => {
    for (const cell of source.run.cells) {
      let set = sourcesOfProfile.get(cell.profile);
      if (set === undefined) sourcesOfProfile.set(cell.profile, (set = new Set()));
      set.add(labels[index]!);
    }
  });
  // A profile in several files is labelled by file everywhere, so one name means one thing.
  const configurationLabel = (profile: string, source: string): string => ((sourcesOfProfile.get(profile)?.size ?? 0) > 1 ? `${profile}@${source}` : profile);

  const groups = groupByWorkload(sources, labels);
  if (options.baseline !== undefined) {
    const known = unique(groups.flatMap((group) => group.cells.flatMap(({ cell, source }) => [cell.profile, configurationLabel(cell.profile, source)])));
    if (!known.includes(options.baseline)) throw new ReportInputError(`baseline '${options.baseline}' is not a profile of any run given; they are: ${known.join(', ')}`);
  }
  const context: Context = {
    labels,
    pathOf: new Map(labels.map((label, index) => [label, sources[index]!.path])),
    configurationLabel,
    baselineRequested: options.baseline,
    pairing: settings.pairing,
    compare: settings,
  };
  const workloads = groups.map((group) => workloadData(group, context));
  const sourcesData = sources.map((source, index) => sourceData(source, labels[index]!));
  const environmentDifferences = MACHINE_FIELDS.filter((field) => unique(sources.map((source) => JSON.stringify(source.run.environment[field]))).length > 1);
  return {
    schema: REPORT_SCHEMA,
    settings,
    sources: sourcesData,
    environmentDifferences,
    unsafe: unsafeProfiles(workloads),
    workloads,
    warnings: reportWarnings(sourcesData, environmentDifferences, workloads),
  };
}

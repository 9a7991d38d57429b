// The report's tables and sentences as plain text cells, apart from any markup: the comparison
// (verdict) table per metric, the merged latency percentiles, the costs per operation, the errors,
// the environment, and the hyperfine summary line per configuration. The Markdown renderer lays
// them out as pipe tables, the HTML renderer as <table>s; both print the same cells, so a verdict
// reads the same in either (one source of truth: the words are chosen here, the numbers in
// model.ts and comparison.ts).
//
// The subtle thing is what must never be dropped to save space: every row of an unsafe
// configuration says UNSAFE, and every latency row of a configuration driven with coordinated
// omission carries the † mark — a closed-loop p99 without that label is a wrong number, not a
// short one. The marks are added here, so no renderer can forget them.

import { formatBytes, formatCount, formatLatencyIn, formatMetricValue, formatNumber, formatRatio, formatSpreadRelative, latencyUnitFor, ratioDecimals, type LatencyUnit } from './format.js';
import { parseMetricSelector, type MetricDefinition } from './metrics.js';
import type { ConfigurationData, MetricComparison, ReportData, WorkloadData } from './model.js';
import { SPECTRUM_PERCENTILES } from './spectrum.js';

export const UNSAFE_MARK = 'UNSAFE';
/** Marks a configuration whose latencies suffer from coordinated omission. */
export const COORDINATED_OMISSION_MARK = '†';

export type Align = 'left' | 'right';

export interface TextTable {
  /** Short name, emphasised by a renderer ("Throughput", "Latency percentiles"). */
  readonly name: string;
  /** What the numbers are, in brackets after the name ("ops/s; higher is better"). */
  readonly detail: string;
  readonly headers: readonly string[];
  readonly aligns: readonly Align[];
  readonly rows: readonly (readonly string[])[];
  /** Printed under the table with ⚠ (e.g. too few runs to conclude). */
  readonly warnings: readonly string[];
}

// ——— words ———

export function assessmentWord(metric: MetricDefinition, comparison: MetricComparison): string {
  switch (comparison.assessment) {
    case 'no-difference':
      return '';
    case 'changed':
      return comparison.direction === 'increase' ? 'more' : 'fewer';
    case 'better':
    case 'worse': {
      const better = comparison.assessment === 'better';
      if (metric.kind === 'throughput' || metric.kind === 'latency') return better ? 'faster' : 'slower';
      if (metric.kind === 'error-rate') return better ? 'fewer errors' : 'more errors';
      if (metric.unit === 'ratio') return better ? 'better' : 'worse';
      return better ? 'cheaper' : 'costlier';
    }
  }
}

function betterPhrase(metric: MetricDefinition): string {
  return metric.better === 'higher' ? 'higher is better' : metric.better === 'lower' ? 'lower is better' : 'neither way is better';
}

function unitPhrase(metric: MetricDefinition, latencyUnit: LatencyUnit): string {
  switch (metric.unit) {
    case 'us':
      return latencyUnit;
    case 'ops/s':
      return 'ops/s';
    case 'percent':
      return '%';
    case 'count/op':
      return 'per operation';
    case 'bytes/op':
      return 'bytes per operation';
    case 'count':
      return 'count';
    case 'ratio':
      return 'raw / stored';
  }
}

/** The label with its marks: UNSAFE always, † in latency tables. */
export function configurationName(configuration: ConfigurationData, latencyTable: boolean): string {
  let name = configuration.label;
  if (configuration.unsafe) name += ` ${UNSAFE_MARK}`;
  if (latencyTable && configuration.latencyCaveat !== null) name += ` ${COORDINATED_OMISSION_MARK}`;
  return name;
}

function intervalText(comparison: MetricComparison): string {
  if (comparison.ratio === null) return '—';
  const decimals = ratioDecimals(comparison.ratio);
  const ratio = `${formatRatio(comparison.ratio, decimals)}×`;
  if (comparison.interval === null) return ratio;
  return `${ratio} (${formatRatio(comparison.interval.low, decimals)}–${formatRatio(comparison.interval.high, decimals)})`;
}

function verdictText(metric: MetricDefinition, comparison: MetricComparison): string {
  const word = assessmentWord(metric, comparison);
  return `${comparison.verdict}${word === '' ? '' : ` ${word}`}${comparison.warnings.length > 0 ? ' ⚠' : ''}`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// ——— the environment and the runs ———

/** One row per environment field, one column per source file. */
export function environmentTable(report: ReportData): { headers: string[]; rows: string[][] } {
  const rows: [string, (index: number) => string][] = [
    ['started', (index) => report.sources[index]!.environment.startedAt],
    ['CPU', (index) => `${report.sources[index]!.environment.cpuModel}, ${report.sources[index]!.environment.cores} cores`],
    ['memory', (index) => formatBytes(report.sources[index]!.environment.memoryBytes)],
    ['load average at start', (index) => report.sources[index]!.environment.loadAverageAtStart.map((load) => load.toFixed(2)).join(' ')],
    ['Node', (index) => report.sources[index]!.environment.node],
    ['OS', (index) => report.sources[index]!.environment.os],
    ['git', (index) => `${report.sources[index]!.environment.gitCommit.slice(0, 12)}${report.sources[index]!.environment.gitDirty ? ' (dirty: uncommitted changes)' : ''}`],
    ['cells', (index) => {
      const source = report.sources[index]!;
      return `${source.cellCount} (${source.workloads.length} workloads × ${source.profiles.length} profiles, ≤ ${source.repetitionsMax} runs each)${source.interrupted ? ' INTERRUPTED' : ''}`;
    }],
  ];
  return { headers: ['', ...report.sources.map((source) => source.label)], rows: rows.map(([name, value]) => [name, ...report.sources.map((_, index) => value(index))]) };
}

/** How the workload's runs were driven, without the baseline sentence (renderers emphasise its name). */
export function describeRuns(workload: WorkloadData): string {
  const drives = new Set<string>();
  const windows: number[] = [];
  for (const configuration of workload.configurations) {
    for (const repetition of configuration.repetitions) {
      const { drive } = repetition;
      const load = drive.mode === 'open-loop'
        ? `open loop${drive.ratePerSecond === null ? '' : ` at ${formatCount(drive.ratePerSecond)} ops/s`}`
        : `closed loop${drive.clients === null ? '' : ` with ${drive.clients} clients`}`;
      drives.add(`${load} (driver ${drive.driver}, target ${drive.targetKind}${drive.targetDescription === '' ? '' : `: ${drive.targetDescription}`})`);
      windows.push(drive.windowUs);
    }
  }
  const runs = new Set(workload.configurations.map((configuration) => configuration.repetitions.length));
  const runText = runs.size === 1 ? `${[...runs][0]} runs per profile` : `runs per profile: ${workload.configurations.map((configuration) => `${configuration.label} ${configuration.repetitions.length}`).join(', ')}`;
  const window = windows.length === 0 ? '' : `, ${formatNumber(median(windows) / 1e6)} s measured per run`;
  return `${[...drives].join('; ')}; ${runText}${window}.`;
}

export function howToRead(report: ReportData): string {
  const { settings } = report;
  return (
    `How to read: each run of a configuration is one sample. A verdict is the two-sided Mann–Whitney U test at α=${settings.alpha}: ` +
    '`+12.3 % (p=0.008 n=5+5)` is a significant change of the median, `~` means the runs cannot be told apart from noise, ' +
    `and ⚠ that there were too few runs to tell anything. × is the ratio of medians with its ${Math.round(settings.confidence * 100)} % ` +
    `bootstrap interval (${formatCount(settings.bootstrapResamples)} resamples); spread is MAD / median.`
  );
}

// ——— the hyperfine summary ———

/** One configuration's throughput against its reference: `name` is marked, `text` follows it. */
export interface SummaryItem {
  readonly name: string;
  readonly text: string;
}

export const SUMMARY_INTRODUCTION = 'Throughput relative to the reference (median of the runs; ± is the propagated MAD / median spread):';

export function summaryItems(workload: WorkloadData): SummaryItem[] {
  const throughput = workload.metrics.find((metric) => metric.id === 'throughput');
  if (throughput === undefined) return [];
  const byLabel = new Map(workload.configurations.map((configuration) => [configuration.label, configuration]));
  return workload.rows.map((row) => {
    const comparison = row.metrics[throughput.id];
    const name = configurationName(byLabel.get(row.configuration)!, false);
    if (comparison === undefined || comparison.status !== 'compared' || comparison.ratio === null) {
      return { name, text: `throughput not comparable with ${row.reference}${comparison?.status === 'unavailable' ? ` (${comparison.reason})` : ''}` };
    }
    const decimals = ratioDecimals(comparison.ratio);
    const spread = comparison.ratioSpread === null ? '' : ` ± ${formatRatio(comparison.ratioSpread, decimals)}`;
    const interval = comparison.interval === null ? '' : ` (95 % CI ${formatRatio(comparison.interval.low, decimals)} … ${formatRatio(comparison.interval.high, decimals)})`;
    const word = assessmentWord(throughput, comparison);
    const judgement = comparison.significant ? `${word}, ${comparison.verdict}` : `no significant difference, ${comparison.verdict}`;
    const warning = comparison.warnings.length === 0 ? '' : ` ⚠ ${comparison.warnings.join('; ')}`;
    return { name, text: `${formatRatio(comparison.ratio, decimals)}${spread} × the throughput of ${row.reference}${interval}: ${judgement}${warning}` };
  });
}

// ——— tables ———

function referenceHeader(workload: WorkloadData): { header: string; perRow: boolean } {
  const perRow = workload.rows.some((row) => row.reference !== workload.baseline);
  return { header: perRow ? '× ref (95 % CI)' : `× ${workload.baseline} (95 % CI)`, perRow };
}

/** The verdict table of one metric: median, range, spread, ratio with its interval, verdict. null when no configuration has it. */
export function comparisonTable(workload: WorkloadData, metric: MetricDefinition): TextTable | null {
  const withSamples = workload.configurations.filter((configuration) => configuration.samples[metric.id] !== undefined);
  if (withSamples.length === 0) return null;
  const latencyUnit = latencyUnitFor(median(withSamples.map((configuration) => configuration.samples[metric.id]!.summary.median)));
  const { header, perRow } = referenceHeader(workload);
  const rowOf = new Map(workload.rows.map((row) => [row.configuration, row]));
  const warnings = new Set<string>();
  const rows = workload.configurations.map((configuration) => {
    const samples = configuration.samples[metric.id];
    const row = rowOf.get(configuration.label);
    const name = configurationName(configuration, metric.kind === 'latency');
    const described = samples === undefined
      ? ['—', '—', '—']
      : [
          formatMetricValue(samples.summary.median, metric.unit, latencyUnit),
          `${formatMetricValue(samples.summary.min, metric.unit, latencyUnit)} … ${formatMetricValue(samples.summary.max, metric.unit, latencyUnit)}`,
          formatSpreadRelative(samples.summary.spreadRelative),
        ];
    let compared = ['—', row === undefined ? '(baseline)' : '—'];
    const comparison = row?.metrics[metric.id];
    if (comparison?.status === 'compared') {
      compared = [intervalText(comparison), verdictText(metric, comparison)];
      for (const warning of comparison.warnings) warnings.add(warning);
    } else if (comparison?.status === 'unavailable') {
      compared = ['—', `n/a: ${comparison.reason}`];
    }
    return [name, ...described, ...(perRow ? [row?.reference ?? ''] : []), ...compared];
  });
  return {
    name: metric.title,
    detail: `${unitPhrase(metric, latencyUnit)}; ${betterPhrase(metric)}${metric.kind === 'latency' ? '; median of the runs’ percentiles' : ''}`,
    headers: ['profile', 'median', 'min … max', 'spread', ...(perRow ? ['vs'] : []), header, 'verdict'],
    aligns: ['left', 'right', 'right', 'right', ...(perRow ? (['left'] as Align[]) : []), 'right', 'left'],
    rows,
    warnings: [...warnings],
  };
}

/** Every run's histogram merged, read at p50 … p99.999 and max; per operation type when there are several. */
export function percentileTable(workload: WorkloadData): TextTable | null {
  const points = SPECTRUM_PERCENTILES.filter((percentile) => percentile >= 50);
  const typed = workload.operationTypes.length > 1;
  const entries = workload.configurations.flatMap((configuration) => [
    { configuration, type: 'all', latency: configuration.latency.total },
    ...(typed ? workload.operationTypes.flatMap((type) => (configuration.latency.byType[type] === undefined ? [] : [{ configuration, type, latency: configuration.latency.byType[type]! }])) : []),
  ]);
  const measured = entries.filter((entry) => entry.latency.count > 0);
  if (measured.length === 0) return null;
  const unit = latencyUnitFor(median(measured.map((entry) => entry.latency.p50Us)));
  const label = (percentile: number): string => (percentile === 100 ? 'max' : `p${percentile}`);
  const rows = entries.map(({ configuration, type, latency }) => [
    configurationName(configuration, true),
    ...(typed ? [type] : []),
    formatCount(latency.count),
    ...points.map((percentile) => (latency.count === 0 ? '—' : formatLatencyIn(latency.spectrum.find((point) => point.percentile === percentile)!.valueUs, unit))),
  ]);
  return {
    name: 'Latency percentiles',
    detail: `${unit}; every run's histogram merged, so one slow run weighs in as its operations do`,
    headers: ['profile', ...(typed ? ['op'] : []), 'ops', ...points.map(label)],
    aligns: ['left', ...(typed ? (['left'] as Align[]) : []), 'right', ...points.map((): Align => 'right')],
    rows,
    warnings: [],
  };
}

function costCell(workload: WorkloadData, configuration: ConfigurationData, metric: MetricDefinition): string {
  const samples = configuration.samples[metric.id];
  if (samples === undefined) return '—';
  const value = formatMetricValue(samples.summary.median, metric.unit);
  const comparison = workload.rows.find((row) => row.configuration === configuration.label)?.metrics[metric.id];
  if (comparison?.status !== 'compared') return value;
  if (!comparison.significant || comparison.ratio === null) return `${value} (~)`;
  return `${value} (×${formatRatio(comparison.ratio)})`;
}

const COST_GROUPS: readonly { title: string; ids: readonly string[]; headers: readonly string[] }[] = [
  { title: 'disk', ids: ['fsyncs/op', 'bytes-written/op', 'log-compression', 'snapshot-compression'], headers: ['fsyncs/op', 'written/op', 'log raw/stored', 'snapshot raw/stored'] },
  { title: 'replication', ids: ['messages/op', 'wire-bytes/op', 'entries/append', 'proposals/batch'], headers: ['messages/op', 'wire bytes/op', 'entries/append', 'proposals/batch'] },
];

/** The cost counters per operation (disk, then replication); empty when no run had counters. */
export function costTables(workload: WorkloadData): TextTable[] {
  return COST_GROUPS.flatMap((group): TextTable[] => {
    const metrics = group.ids.map((id) => workload.metrics.find((metric) => metric.id === id));
    if (metrics.every((metric) => metric === undefined)) return [];
    const rows = workload.configurations.map((configuration) => [
      configurationName(configuration, false),
      ...metrics.map((metric) => (metric === undefined ? '—' : costCell(workload, configuration, metric))),
    ]);
    return [{
      name: `Costs per operation: ${group.title}`,
      detail: 'median of the runs; (×r) the ratio to the reference where the difference is significant, (~) where it is not',
      headers: ['profile', ...group.headers],
      aligns: ['left', ...group.headers.map((): Align => 'right')],
      rows,
      warnings: [],
    }];
  });
}

/** Failed operations by kind; null when nothing failed. */
export function errorTable(workload: WorkloadData): TextTable | null {
  const rows: string[][] = [];
  for (const configuration of workload.configurations) {
    const tallies = [['all', configuration.errors.total] as const, ...Object.entries(configuration.errors.byType)];
    for (const [type, tally] of tallies) {
      if (tally.errorCount === 0) continue;
      if (type !== 'all' && workload.operationTypes.length === 1) continue;
      const kinds = Object.entries(tally.byKind).sort((x, y) => y[1] - x[1]).map(([kind, count]) => `${kind} ${formatCount(count)}`).join(', ');
      rows.push([configurationName(configuration, false), type, `${formatCount(tally.errorCount)} / ${formatCount(tally.finished)}`, `${formatNumber((tally.errorCount / tally.finished) * 100)} %`, kinds]);
    }
  }
  if (rows.length === 0) return null;
  return {
    name: 'Errors',
    detail: 'all runs together; failed operations are not in the latency figures',
    headers: ['profile', 'op', 'failed / finished', 'rate', 'by kind'],
    aligns: ['left', 'left', 'right', 'right', 'left'],
    rows,
    warnings: [],
  };
}

/** The unsafe configurations among `labels`, each with its reasons. */
export function unsafeStatements(report: ReportData, labels: ReadonlySet<string>): { label: string; text: string }[] {
  return report.unsafe
    .filter((profile) => labels.has(profile.label))
    .map((profile) => ({ label: profile.label, text: `is ${UNSAFE_MARK}: ${profile.reasons.length === 0 ? '(the run gave no reason)' : profile.reasons.join('; ')}` }));
}

export const DEFAULT_METRICS = ['throughput', 'p50', 'p99', 'p99.9'] as const;

/**
 * The metrics that get a comparison table: `selectors` as `name` or `name:type` (see metrics.ts),
 * by default throughput, p50, p99, p99.9, and p99 per operation type when there are several.
 */
export function selectedMetrics(workload: WorkloadData, selectors: readonly string[] | undefined): MetricDefinition[] {
  const wanted = selectors ?? [...DEFAULT_METRICS, ...(workload.operationTypes.length > 1 ? workload.operationTypes.map((type) => `p99:${type}`) : [])];
  const ids = wanted.map((selector) => {
    const parsed = parseMetricSelector(selector);
    if (!parsed.ok) throw new RangeError(parsed.problem);
    return parsed.operationType === null ? parsed.name : `${parsed.name}:${parsed.operationType}`;
  });
  return ids.flatMap((id) => workload.metrics.filter((metric) => metric.id === id));
}

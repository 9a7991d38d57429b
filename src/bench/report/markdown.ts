// The report as Markdown, for a terminal and for a pull request: the environment and what was run,
// then per workload a hyperfine-style summary line per profile, one narrow comparison table per
// metric (median, min … max, relative spread, ratio with its interval, benchstat verdict), the
// merged latency percentiles, the costs per operation and the errors.
//
// The subtle thing is what must never be dropped to save space: every row of an unsafe profile
// says UNSAFE and the reasons are printed in the section, and every latency table whose
// configuration was driven with coordinated omission carries the mark and its caveat — a
// closed-loop p99 without that label is a wrong number, not a short one. Tables are split by
// metric rather than widened so that each stays within 120 columns.

import { formatBytes, formatCount, formatLatencyIn, formatMetricValue, formatNumber, formatRatio, formatSpreadRelative, latencyUnitFor, ratioDecimals, type LatencyUnit } from './format.js';
import { parseMetricSelector, type MetricDefinition } from './metrics.js';
import type { ConfigurationData, MetricComparison, ReportData, WorkloadData } from './model.js';
import { SPECTRUM_PERCENTILES } from './spectrum.js';

export interface MarkdownOptions {
  /** First heading. Default "raftbench report". */
  readonly title?: string;
  /**
   * The metrics that get a comparison table, as `name` or `name:type` (see metrics.ts). Default:
   * throughput, p50, p99, p99.9, and p99 per operation type when a workload has several.
   */
  readonly metrics?: readonly string[];
}

export const UNSAFE_MARK = 'UNSAFE';
/** Marks a configuration whose latencies suffer from coordinated omission. */
export const COORDINATED_OMISSION_MARK = '†';
const DEFAULT_METRICS = ['throughput', 'p50', 'p99', 'p99.9'] as const;

// ——— tables ———

type Align = 'left' | 'right';

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Code points, which is what a terminal shows for everything this report prints. */
function width(text: string): number {
  return [...text].length;
}

function pad(text: string, size: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, size - width(text)));
  return align === 'left' ? text + fill : fill + text;
}

/** A Markdown table padded to its column widths, so it reads as a table in a terminal too. */
function table(headers: readonly string[], aligns: readonly Align[], rows: readonly (readonly string[])[]): string[] {
  const cells = [headers, ...rows].map((row) => row.map(escapeCell));
  const widths = headers.map((_, column) => Math.max(3, ...cells.map((row) => width(row[column] ?? ''))));
  const line = (row: readonly string[]): string => `| ${row.map((cell, column) => pad(cell, widths[column]!, aligns[column] ?? 'left')).join(' | ')} |`;
  const rule = `| ${widths.map((size, column) => (aligns[column] === 'right' ? `${'-'.repeat(size - 1)}:` : '-'.repeat(size))).join(' | ')} |`;
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)];
}

// ——— words ———

function assessmentWord(metric: MetricDefinition, comparison: MetricComparison): string {
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

function configurationName(configuration: ConfigurationData, latencyTable: boolean): string {
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

// ——— sections ———

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function environmentSection(report: ReportData): string[] {
  const lines = ['## Environment', ''];
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
  lines.push(...table(['', ...report.sources.map((source) => source.label)], ['left', ...report.sources.map((): Align => 'left')], rows.map(([name, value]) => [name, ...report.sources.map((_, index) => value(index))])));
  lines.push('');
  for (const source of report.sources) lines.push(`- ${source.label} (${source.path}) was made by: \`${source.command}\``);
  return lines;
}

function profilesSection(report: ReportData): string[] {
  const seen = new Map<string, ConfigurationData>();
  for (const workload of report.workloads) for (const configuration of workload.configurations) if (!seen.has(configuration.label)) seen.set(configuration.label, configuration);
  if (seen.size === 0) return [];
  const lines = ['## Profiles', ''];
  for (const configuration of seen.values()) {
    const unsafe = configuration.unsafe ? ` ${UNSAFE_MARK}` : '';
    lines.push(`- **${configuration.label}**${unsafe}${configuration.description === null ? '' : `: ${configuration.description}`}`);
  }
  return lines;
}

function unsafeLines(report: ReportData, labels: ReadonlySet<string>): string[] {
  return report.unsafe
    .filter((profile) => labels.has(profile.label))
    .map((profile) => `> ⚠ **${profile.label}** is ${UNSAFE_MARK}: ${profile.reasons.length === 0 ? '(the run gave no reason)' : profile.reasons.join('; ')}`);
}

function describeRuns(workload: WorkloadData): string {
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
  return `${[...drives].join('; ')}; ${runText}${window}. Baseline: **${workload.baseline}**.`;
}

function referenceHeader(workload: WorkloadData): { header: string; perRow: boolean } {
  const perRow = workload.rows.some((row) => row.reference !== workload.baseline);
  return { header: perRow ? '× ref (95 % CI)' : `× ${workload.baseline} (95 % CI)`, perRow };
}

function summaryLines(workload: WorkloadData, byLabel: ReadonlyMap<string, ConfigurationData>): string[] {
  const throughput = workload.metrics.find((metric) => metric.id === 'throughput');
  if (throughput === undefined || workload.rows.length === 0) return [];
  const lines: string[] = [];
  for (const row of workload.rows) {
    const comparison = row.metrics[throughput.id];
    const name = `**${configurationName(byLabel.get(row.configuration)!, false)}**`;
    if (comparison === undefined || comparison.status !== 'compared' || comparison.ratio === null) {
      lines.push(`- ${name}: throughput not comparable with ${row.reference}${comparison?.status === 'unavailable' ? ` (${comparison.reason})` : ''}`);
      continue;
    }
    const decimals = ratioDecimals(comparison.ratio);
    const spread = comparison.ratioSpread === null ? '' : ` ± ${formatRatio(comparison.ratioSpread, decimals)}`;
    const interval = comparison.interval === null ? '' : ` (95 % CI ${formatRatio(comparison.interval.low, decimals)} … ${formatRatio(comparison.interval.high, decimals)})`;
    const word = assessmentWord(throughput, comparison);
    const judgement = comparison.significant ? `${word}, ${comparison.verdict}` : `no significant difference, ${comparison.verdict}`;
    const warning = comparison.warnings.length === 0 ? '' : ` ⚠ ${comparison.warnings.join('; ')}`;
    lines.push(`- ${name}: ${formatRatio(comparison.ratio, decimals)}${spread} × the throughput of ${row.reference}${interval}: ${judgement}${warning}`);
  }
  return ['Throughput relative to the reference (median of the runs; ± is the propagated MAD / median spread):', '', ...lines];
}

function comparisonTable(workload: WorkloadData, metric: MetricDefinition): string[] {
  const withSamples = workload.configurations.filter((configuration) => configuration.samples[metric.id] !== undefined);
  if (withSamples.length === 0) return [];
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
  const headers = ['profile', 'median', 'min … max', 'spread', ...(perRow ? ['vs'] : []), header, 'verdict'];
  const aligns: Align[] = ['left', 'right', 'right', 'right', ...(perRow ? (['left'] as Align[]) : []), 'right', 'left'];
  const lines = [`**${metric.title}** (${unitPhrase(metric, latencyUnit)}; ${betterPhrase(metric)}${metric.kind === 'latency' ? '; median of the runs’ percentiles' : ''})`, '', ...table(headers, aligns, rows)];
  if (warnings.size > 0) lines.push('', ...[...warnings].map((warning) => `⚠ ${warning}`));
  return lines;
}

function percentileTable(workload: WorkloadData): string[] {
  const points = SPECTRUM_PERCENTILES.filter((percentile) => percentile >= 50);
  const typed = workload.operationTypes.length > 1;
  const entries = workload.configurations.flatMap((configuration) => [
    { configuration, type: 'all', latency: configuration.latency.total },
    ...(typed ? workload.operationTypes.flatMap((type) => (configuration.latency.byType[type] === undefined ? [] : [{ configuration, type, latency: configuration.latency.byType[type]! }])) : []),
  ]);
  const measured = entries.filter((entry) => entry.latency.count > 0);
  if (measured.length === 0) return [];
  const unit = latencyUnitFor(median(measured.map((entry) => entry.latency.p50Us)));
  const label = (percentile: number): string => (percentile === 100 ? 'max' : `p${percentile}`);
  const rows = entries.map(({ configuration, type, latency }) => [
    configurationName(configuration, true),
    ...(typed ? [type] : []),
    formatCount(latency.count),
    ...points.map((percentile) => (latency.count === 0 ? '—' : formatLatencyIn(latency.spectrum.find((point) => point.percentile === percentile)!.valueUs, unit))),
  ]);
  return [
    `**Latency percentiles** (${unit}; every run's histogram merged, so one slow run weighs in as its operations do)`,
    '',
    ...table(['profile', ...(typed ? ['op'] : []), 'ops', ...points.map(label)], ['left', ...(typed ? (['left'] as Align[]) : []), 'right', ...points.map((): Align => 'right')], rows),
  ];
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

function costTables(workload: WorkloadData): string[] {
  const groups: { title: string; ids: string[]; headers: string[] }[] = [
    { title: 'disk', ids: ['fsyncs/op', 'bytes-written/op', 'log-compression', 'snapshot-compression'], headers: ['fsyncs/op', 'written/op', 'log raw/stored', 'snapshot raw/stored'] },
    { title: 'replication', ids: ['messages/op', 'wire-bytes/op', 'entries/append', 'proposals/batch'], headers: ['messages/op', 'wire bytes/op', 'entries/append', 'proposals/batch'] },
  ];
  const lines: string[] = [];
  for (const group of groups) {
    const metrics = group.ids.map((id) => workload.metrics.find((metric) => metric.id === id));
    if (metrics.every((metric) => metric === undefined)) continue;
    const rows = workload.configurations.map((configuration) => [
      configurationName(configuration, false),
      ...metrics.map((metric) => (metric === undefined ? '—' : costCell(workload, configuration, metric))),
    ]);
    if (lines.length > 0) lines.push('');
    lines.push(`**Costs per operation: ${group.title}** (median of the runs; (×r) the ratio to the reference where the difference is significant, (~) where it is not)`, '');
    lines.push(...table(['profile', ...group.headers], ['left', ...group.headers.map((): Align => 'right')], rows));
  }
  return lines;
}

function errorTable(workload: WorkloadData): string[] {
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
  if (rows.length === 0) return [];
  return ['**Errors** (all runs together; failed operations are not in the latency figures)', '', ...table(['profile', 'op', 'failed / finished', 'rate', 'by kind'], ['left', 'left', 'right', 'right', 'left'], rows)];
}

function noteLines(workload: WorkloadData): string[] {
  const lines = workload.configurations.flatMap((configuration) => configuration.notes.map((note) => `- ${configuration.label}: ${note}`));
  return lines.length === 0 ? [] : ['**Notes from the runs**', '', ...lines];
}

function selectedMetrics(workload: WorkloadData, selectors: readonly string[] | undefined): MetricDefinition[] {
  const wanted = selectors ?? [...DEFAULT_METRICS, ...(workload.operationTypes.length > 1 ? workload.operationTypes.map((type) => `p99:${type}`) : [])];
  const ids = wanted.map((selector) => {
    const parsed = parseMetricSelector(selector);
    if (!parsed.ok) throw new RangeError(parsed.problem);
    return parsed.operationType === null ? parsed.name : `${parsed.name}:${parsed.operationType}`;
  });
  return ids.flatMap((id) => workload.metrics.filter((metric) => metric.id === id));
}

function workloadSection(report: ReportData, workload: WorkloadData, options: MarkdownOptions): string[] {
  const byLabel = new Map(workload.configurations.map((configuration) => [configuration.label, configuration]));
  const lines = [`## Workload ${workload.workload}`, '', describeRuns(workload)];
  if (workload.baselineNote !== null) lines.push('', `⚠ ${workload.baselineNote}`);
  const unsafe = unsafeLines(report, new Set(byLabel.keys()));
  if (unsafe.length > 0) lines.push('', ...unsafe);
  const metrics = selectedMetrics(workload, options.metrics);
  const tables = (chosen: readonly MetricDefinition[]): string[] =>
    chosen.flatMap((metric) => {
      const lines = comparisonTable(workload, metric);
      return lines.length === 0 ? [] : ['', ...lines];
    });
  const summary = summaryLines(workload, byLabel);
  const throughputTables = tables(metrics.filter((metric) => metric.kind === 'throughput'));
  if (summary.length > 0 || throughputTables.length > 0) lines.push('', '### Throughput', ...(summary.length > 0 ? ['', ...summary] : []), ...throughputTables);
  const otherTables = tables(metrics.filter((metric) => metric.kind === 'error-rate' || metric.kind === 'cost'));
  if (otherTables.length > 0) lines.push('', '### Errors and costs compared', ...otherTables);

  const caveats = workload.configurations.filter((configuration) => configuration.latencyCaveat !== null);
  const percentiles = percentileTable(workload);
  const latencyTables = [...tables(metrics.filter((metric) => metric.kind === 'latency')), ...(percentiles.length === 0 ? [] : ['', ...percentiles])];
  if (latencyTables.length > 0) {
    lines.push('', '### Latency');
    if (caveats.length > 0) {
      lines.push('', ...caveats.map((configuration) => `> ${COORDINATED_OMISSION_MARK} **${configuration.label}**: ${configuration.latencyCaveat}`));
    }
    lines.push(...latencyTables);
  }
  const costs = costTables(workload);
  if (costs.length > 0) lines.push('', '### Costs', '', ...costs);
  const errors = errorTable(workload);
  if (errors.length > 0) lines.push('', '### Errors', '', ...errors);
  const notes = noteLines(workload);
  if (notes.length > 0) lines.push('', ...notes);
  return lines;
}

function howToRead(report: ReportData): string {
  const { settings } = report;
  return (
    `How to read: each run of a configuration is one sample. A verdict is the two-sided Mann–Whitney U test at α=${settings.alpha}: ` +
    '`+12.3 % (p=0.008 n=5+5)` is a significant change of the median, `~` means the runs cannot be told apart from noise, ' +
    `and ⚠ that there were too few runs to tell anything. × is the ratio of medians with its ${Math.round(settings.confidence * 100)} % ` +
    `bootstrap interval (${formatCount(settings.bootstrapResamples)} resamples); spread is MAD / median.`
  );
}

export function renderMarkdown(report: ReportData, options: MarkdownOptions = {}): string {
  const lines = [`# ${options.title ?? 'raftbench report'}`, ''];
  lines.push(...environmentSection(report));
  if (report.warnings.length > 0) lines.push('', '## Warnings', '', ...report.warnings.map((warning) => `- ⚠ ${warning}`));
  const profiles = profilesSection(report);
  if (profiles.length > 0) lines.push('', ...profiles);
  if (report.unsafe.length > 0) lines.push('', ...unsafeLines(report, new Set(report.unsafe.map((profile) => profile.label))));
  lines.push('', howToRead(report));
  if (report.workloads.length === 0) lines.push('', 'No cells were recorded: there is nothing to compare.');
  for (const workload of report.workloads) lines.push('', ...workloadSection(report, workload, options));
  return `${lines.join('\n')}\n`;
}

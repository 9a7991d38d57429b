// `raftbench report RUN.json [more.json …]`: the report of one or more run files, as Markdown (the
// default), a self-contained HTML page with charts (`--html`, written beside the first run file
// unless --out says where), CSV (one row per run, or the summary per metric) or the report data
// as JSON. Exit code
// 0 on success, 2 for a usage error — a bad option, and also a results file that is missing,
// unreadable or of another schema version, since the file is the argument the user got wrong.
//
// The loading and output helpers here are shared with `raftbench compare`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { renderHtml } from '../bench/report/html.js';
import { renderRunsCsv, renderSummaryCsv } from '../bench/report/csv.js';
import { renderMarkdown } from '../bench/report/markdown.js';
import { METRIC_NAMES, parseMetricSelector } from '../bench/report/metrics.js';
import { buildReport, ReportInputError, type ReportData, type ReportOptions, type ReportSource } from '../bench/report/model.js';
import { loadRunFile, ResultsFileError } from '../bench/results/load.js';
import { Command, InvalidArgumentError, integerOption, parseOptions } from './options.js';
import { BOOTSTRAP_RESAMPLES_DEFAULT } from '../bench/stats/bootstrap.js';

export const REPORT_FORMATS = ['markdown', 'html', 'csv', 'csv-summary', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

interface ReportCommandOptions {
  format: ReportFormat;
  html?: true;
  out?: string;
  baseline?: string;
  metric?: string[];
  resamples: number;
}

function formatOption(value: string): ReportFormat {
  const format = REPORT_FORMATS.find((candidate) => candidate === value);
  if (format === undefined) throw new InvalidArgumentError(`--format must be one of ${REPORT_FORMATS.join(', ')}, got '${value}'`);
  return format;
}

/** `--metric throughput,p99,p99:read` → the selectors, each checked. */
export function metricListOption(value: string): string[] {
  const selectors = value.split(',').map((part) => part.trim()).filter((part) => part.length > 0);
  if (selectors.length === 0) throw new InvalidArgumentError('--metric needs at least one metric name');
  for (const selector of selectors) {
    const parsed = parseMetricSelector(selector);
    if (!parsed.ok) throw new InvalidArgumentError(parsed.problem);
  }
  return selectors;
}

export const METRIC_HELP = `comparison tables to print, comma-separated: ${METRIC_NAMES.join(', ')}; NAME:TYPE for one operation type (e.g. p99:read). Default: throughput,p50,p99,p99.9 and p99 per type`;

export const RESAMPLES_HELP = 'bootstrap resamples per ratio interval: the intervals are most of a report\'s time, so fewer is faster and coarser';
export const resamplesOption = integerOption('--resamples', 100, 1_000_000);

export type Loaded = { readonly ok: true; readonly sources: ReportSource[] } | { readonly ok: false; readonly exitCode: number };

/** Loads every file, reporting all the bad ones at once (exit 2) rather than the first. */
export function loadSources(command: string, files: readonly string[]): Loaded {
  const sources: ReportSource[] = [];
  const problems: string[] = [];
  for (const file of files) {
    try {
      sources.push({ path: file, run: loadRunFile(file) });
    } catch (error) {
      if (!(error instanceof ResultsFileError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) {
    console.error(`${command}: cannot read the results:\n${problems.join('\n')}`);
    return { ok: false, exitCode: 2 };
  }
  return { ok: true, sources };
}

/** buildReport with its input errors (an unknown baseline) turned into exit code 2. */
export function buildOrExplain(command: string, sources: readonly ReportSource[], options: ReportOptions): ReportData | null {
  try {
    return buildReport(sources, options);
  } catch (error) {
    if (!(error instanceof ReportInputError)) throw error;
    console.error(`${command}: ${error.message}`);
    return null;
  }
}

/** Prints `text`, or writes it to `out` (creating its folder) and says where. */
export function emit(command: string, text: string, out: string | undefined): void {
  if (out === undefined) {
    process.stdout.write(text);
    return;
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
  console.log(`${command}: wrote ${out}`);
}

export function renderReport(report: ReportData, format: ReportFormat, metrics: readonly string[] | undefined, title: string): string {
  switch (format) {
    case 'markdown':
      return renderMarkdown(report, metrics === undefined ? { title } : { title, metrics });
    case 'html':
      return renderHtml(report, metrics === undefined ? { title } : { title, metrics });
    case 'csv':
      return renderRunsCsv(report);
    case 'csv-summary':
      return renderSummaryCsv(report);
    case 'json':
      return `${JSON.stringify(report, null, 1)}\n`;
  }
}

export async function reportCommand(argv: string[]): Promise<number> {
  const name = 'raftbench report';
  const program = new Command(name)
    .description(
      'Report one or more run files (raftbench.run/1): the environment, then per workload every profile against the baseline — ' +
        'throughput, latency percentiles, errors and costs per operation, each with the median of the runs, their spread, the ratio ' +
        'with a 95 % bootstrap interval and the Mann–Whitney verdict (`~` = indistinguishable from noise). UNSAFE profiles and ' +
        'latencies that suffer from coordinated omission are marked. The same profile in two files is two configurations, labelled profile@file.',
    )
    .argument('<runs...>', 'results files written by raftbench run')
    .option('--format <format>', `markdown (default), html (a self-contained page with charts), csv (one row per workload, profile, run and operation type), csv-summary (one row per workload, profile and metric) or json (the report data)`, formatOption, 'markdown' as ReportFormat)
    .option('--html', 'the same as --format html: one self-contained HTML file with charts (styles, scripts and data inline; opens from disk with no network)')
    .option('--out <file>', 'write to this file instead of standard output (HTML: default RUN.html beside the first run file)')
    .option('--baseline <profile>', "the profile (or profile@file) every other is compared with (default: 'baseline' if present, else the first)")
    .option('--metric <names>', METRIC_HELP, metricListOption)
    .option('--resamples <n>', RESAMPLES_HELP, resamplesOption, BOOTSTRAP_RESAMPLES_DEFAULT);
  const parsed = parseOptions<ReportCommandOptions>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const { options } = parsed;
  if (options.html === true) {
    if (program.getOptionValueSource('format') === 'cli' && options.format !== 'html') {
      console.error(`${name}: --html and --format ${options.format} ask for two formats; give one`);
      return 2;
    }
    options.format = 'html';
  }
  // A page of inline script is no use on a terminal: it goes to a file unless --out says otherwise.
  const out = options.out ?? (options.format === 'html' ? htmlPathBeside(program.args[0]!) : undefined);
  const loaded = loadSources(name, program.args);
  if (!loaded.ok) return loaded.exitCode;
  const report = buildOrExplain(name, loaded.sources, { baseline: options.baseline, pairing: 'baseline', bootstrapResamples: options.resamples });
  if (report === null) return 2;
  emit(name, renderReport(report, options.format, options.metric, 'raftbench report'), out);
  return 0;
}

/** results/run-1.json → results/run-1.html. */
export function htmlPathBeside(runFile: string): string {
  return /\.json$/i.test(runFile) ? runFile.replace(/\.json$/i, '.html') : `${runFile}.html`;
}

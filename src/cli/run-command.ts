// `raftbench run`: the benchmark matrix — profiles × workloads × repetitions on an embedded
// cluster — written to a results file and summarised as a Markdown report with verdicts.
// `raftbench start` (what `npm start` runs) is the same with a preset: a short comparison of the
// baseline, each switch and all-on on one mixed workload.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeRunFile } from '../bench/results/load.js';
import { renderHtml } from '../bench/report/html.js';
import { renderMarkdown } from '../bench/report/markdown.js';
import { buildReport } from '../bench/report/model.js';
import { runMatrix, type CellSubject, type SubjectCellPlan } from '../bench/run/runner.js';
import { checkHttpWorkload, runHttpCell } from '../bench/run/http-cell.js';
import { checkUrls } from '../bench/drive/http-autocannon.js';
import { leaderUrl } from '../bench/drive/http-leader.js';
import { describeEnvironment } from '../bench/run/environment.js';
import { loadWorkload, loadYcsbProperties, WorkloadError, type Workload } from '../bench/workload/index.js';
import { loadProfile, ProfileError, type ResolvedProfile } from '../server/profile.js';
import type { CellResult, RunFile } from '../bench/results/schema.js';
import { Command, InvalidArgumentError, integerOption, parseOptions } from './options.js';
import { htmlPathBeside } from './report-command.js';

interface RunOptions {
  profiles?: string[];
  /** Base URLs of an HTTP target (etcd, raftbench's HTTP API): the autocannon closed loop instead of an embedded cluster. */
  target?: string[];
  targetName?: string;
  targetSpread?: boolean;
  workloads: string[];
  repetitions: number;
  duration?: number;
  warmup?: number;
  records?: number;
  concurrency?: number;
  out?: string;
  baseline?: string;
  progress: boolean;
  report: boolean;
  resamples?: number;
}

const listOption = (name: string) => (value: string): string[] => {
  const items = value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
  if (items.length === 0) throw new InvalidArgumentError(`${name} needs at least one name`);
  return items;
};

export const secondsOption = (name: string) => (value: string): number => {
  const seconds = Number(value);
  if (!(seconds >= 0 && seconds <= 86_400)) throw new InvalidArgumentError(`${name} must be a number of seconds from 0 to 86400, got '${value}'`);
  return seconds;
};

/** A workload by name (workloads/NAME.json), by path (.json), or a YCSB property file. */
export async function resolveWorkload(reference: string): Promise<Workload> {
  if (!reference.includes('/') && !reference.endsWith('.json')) return loadWorkload(join('workloads', `${reference}.json`));
  if (reference.endsWith('.json')) return loadWorkload(reference);
  if (!existsSync(reference)) throw new WorkloadError([`${reference}: no such workload or YCSB property file`]);
  const mapped = loadYcsbProperties(reference);
  for (const warning of mapped.warnings) console.error(`raftbench run: ${reference}: ${warning}`);
  return mapped.workload;
}

/** The workload with the command line's overrides (shorter runs, fewer records …). */
export function withOverrides(workload: Workload, options: Pick<RunOptions, 'duration' | 'warmup' | 'records' | 'concurrency'>): Workload {
  const run = {
    ...workload.run,
    ...(options.warmup === undefined ? {} : { warmupSeconds: options.warmup }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.duration === undefined ? {} : { durationSeconds: options.duration, operationCount: undefined }),
  } as Workload['run'];
  const keys = options.records === undefined ? workload.keys : { ...workload.keys, recordCount: options.records };
  return { ...workload, run, keys };
}

export async function executeRun(options: RunOptions, command: string): Promise<number> {
  if ((options.profiles === undefined) === (options.target === undefined)) {
    console.error('raftbench run: give --profiles (an embedded cluster per profile) or --target URL[,URL…] (an HTTP target), not both');
    return 2;
  }
  let profiles: ResolvedProfile[];
  let workloads: Workload[];
  try {
    profiles = await Promise.all((options.profiles ?? []).map((name) => loadProfile(name)));
    workloads = (await Promise.all(options.workloads.map(resolveWorkload))).map((workload) => withOverrides(workload, options));
  } catch (error) {
    if (error instanceof ProfileError || error instanceof WorkloadError) {
      console.error(`raftbench: ${error.message}`);
      return 2;
    }
    throw error;
  }
  for (const profile of profiles.filter((candidate) => candidate.unsafe)) {
    console.error(`raftbench: profile ${profile.name} is UNSAFE: ${profile.unsafeReasons.join('; ')} (its rows are marked so)`);
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts += 1;
    if (interrupts === 1) {
      console.error('\nraftbench: interrupted — finishing the cell in flight, keeping what finished (Ctrl-C again to quit at once)');
      controller.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onInterrupt);
  let run: RunFile;
  try {
    const runnerOptions = { signal: controller.signal, progress: options.progress && process.stderr.isTTY ? process.stderr : null, onCell: options.progress && !process.stderr.isTTY ? logCell : undefined };
    if (options.target !== undefined) {
      const http = await httpTargetRun(options.target, options.targetName ?? 'http', options.targetSpread === true, workloads);
      if (typeof http === 'number') return http;
      run = await runMatrix({ profiles: [http.subject], workloads, repetitions: options.repetitions, command }, { ...runnerOptions, runCell: http.runCell });
    } else {
      run = await runMatrix({ profiles, workloads, repetitions: options.repetitions, command }, runnerOptions);
    }
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  const out = options.out ?? join('results', `run-${run.environment.startedAt.replace(/[:.]/g, '-')}.json`);
  writeRunFile(out, run);
  console.error(`raftbench: ${run.cells.length} cells${run.interrupted ? ' (interrupted)' : ''} → ${out}`);
  if (options.report && run.cells.length > 0) {
    const report = buildReport([{ path: out, run }], { ...(options.baseline === undefined ? {} : { baseline: options.baseline }), ...(options.resamples === undefined ? {} : { bootstrapResamples: options.resamples }) });
    console.log(renderMarkdown(report));
    // The same report with charts, beside the results file, for those who would rather look than read.
    const page = htmlPathBeside(out);
    writeFileSync(page, renderHtml(report));
    console.error(`raftbench: the report with charts → ${page}`);
  }
  return run.interrupted ? 130 : 0;
}

/** The pieces runMatrix needs to drive an HTTP target, or an exit code when the target or a workload is unusable. */
async function httpTargetRun(
  urls: string[],
  name: string,
  spread: boolean,
  workloads: readonly Workload[],
): Promise<number | { subject: CellSubject; runCell: (cell: SubjectCellPlan<CellSubject>, options: { signal?: AbortSignal }) => Promise<CellResult> }> {
  try {
    checkUrls(urls);
    for (const workload of workloads) checkHttpWorkload(workload);
  } catch (error) {
    console.error(`raftbench run: ${(error as Error).message}`);
    return 2;
  }
  let targetUrls: string[];
  try {
    targetUrls = spread ? urls : [await leaderUrl(urls)];
  } catch (error) {
    console.error(`raftbench run: --target: ${(error as Error).message}`);
    return 1;
  }
  // The target keeps its records between cells: each workload's load phase runs once.
  const loaded = new Set<string>();
  const runCell = async (cell: SubjectCellPlan<CellSubject>, options: { signal?: AbortSignal }): Promise<CellResult> => {
    const workload = loaded.has(cell.workload.name) ? { ...cell.workload, load: { ...cell.workload.load, enabled: false } } : cell.workload;
    const outcome = await runHttpCell({ targetName: name, urls: targetUrls, workload, repetition: cell.repetition }, options.signal === undefined ? {} : { signal: options.signal });
    loaded.add(cell.workload.name);
    return outcome.cell;
  };
  return { subject: { name, unsafe: false }, runCell };
}

function logCell(cell: RunFile['cells'][number], done: number, total: number): void {
  console.error(`[${done}/${total}] ${cell.profile} × ${cell.workload} #${cell.repetition}: ${cell.total.throughputPerSecond.toFixed(0)} ops/s, p99 ${cell.total.latencyUs.p99} µs`);
}

export async function runCommand(argv: string[]): Promise<number> {
  const program = new Command('raftbench run')
    .description(
      'Run the benchmark matrix on an embedded cluster: every profile × workload, repeated (interleaved: A B A B …), each cell in a fresh data ' +
        'directory; write the results file, print the Markdown report (every profile against the baseline, with verdicts) and write it with charts as HTML beside the results file. Ctrl-C keeps the cells that finished. ' +
        'With --target instead of --profiles: the workloads against HTTP base URLs (etcd, or raftbench nodes) through the autocannon closed loop.',
    )
    .option('--profiles <list>', 'profile names (profiles/NAME.json) or paths, comma-separated', listOption('--profiles'))
    .option('--target <urls>', 'instead of --profiles: HTTP base URLs (etcd, raftbench HTTP API) driven by the autocannon closed loop with etcd v3 gateway requests', listOption('--target'))
    .option('--target-name <name>', 'what the --target is called in results and reports', 'http')
    .option('--target-spread', 'spread connections over every --target URL (default: the leader only)')
    .requiredOption('--workloads <list>', 'workload names (workloads/NAME.json), .json paths or YCSB property files, comma-separated', listOption('--workloads'))
    .option('--repetitions <n>', 'runs of each cell (4 or more for a verdict at p < 0.05)', integerOption('--repetitions', 1, 1000), 5)
    .option('--duration <seconds>', "override every workload's measured duration", secondsOption('--duration'))
    .option('--warmup <seconds>', "override every workload's warm-up", secondsOption('--warmup'))
    .option('--records <n>', "override every workload's record count", integerOption('--records', 1, 1_000_000_000))
    .option('--concurrency <n>', "override every workload's client concurrency", integerOption('--concurrency', 1, 10_000))
    .option('--out <file>', 'results file (default results/run-<time>.json)')
    .option('--baseline <profile>', 'the profile the report compares against (default: baseline, if run)')
    .option('--resamples <n>', 'bootstrap resamples for the report', integerOption('--resamples', 100, 1_000_000))
    .option('--no-progress', 'no progress bar or per-cell log')
    .option('--no-report', 'write the results file only');
  const parsed = parseOptions<RunOptions>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  return executeRun(parsed.options, `raftbench run ${argv.join(' ')}`);
}

/** What `npm start` runs: the baseline, each switch alone and all-on, on one short mixed workload. */
export const START_PROFILES = ['baseline', 'fsync-batched', 'pipelining', 'batching', 'kv-rwlock', 'log-lz4', 'reads-lease', 'all-on'];

export async function startCommand(argv: string[]): Promise<number> {
  const program = new Command('raftbench start')
    .description(
      `The default comparison (what npm start runs): on an embedded 3-node cluster with real fsync, ${START_PROFILES.join(', ')} ` +
        'on the mixed workload (70 % reads, 30 % updates, zipfian keys, 256 B text values), short runs repeated 4 times, interleaved; then the ' +
        'report with verdicts. Takes about two minutes. For anything else: raftbench run --help.',
    )
    .option('--repetitions <n>', 'runs of each profile', integerOption('--repetitions', 1, 1000), 4)
    .option('--duration <seconds>', 'measured seconds per run', secondsOption('--duration'), 2)
    .option('--no-progress', 'no progress bar');
  const parsed = parseOptions<{ repetitions: number; duration: number; progress: boolean }>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  console.error(`raftbench: comparing ${START_PROFILES.length} profiles on the mixed workload, ${parsed.options.repetitions} runs each (about two minutes)…`);
  return executeRun(
    {
      profiles: START_PROFILES,
      workloads: ['mixed'],
      repetitions: parsed.options.repetitions,
      duration: parsed.options.duration,
      warmup: 0.5,
      records: 1000,
      concurrency: 64,
      progress: parsed.options.progress,
      report: true,
      resamples: 2000,
    },
    `raftbench start ${argv.join(' ')}`.trim(),
  );
}

export { describeEnvironment };

// `raftbench gate`: the regression gate. Exact cost counters from the deterministic simulation
// against the committed baseline, and (with --base REF) the apply path timed A/B against the base
// commit built beside the head. Exit 0 when both legs pass, 1 when either fails (or cannot run),
// 2 for a usage error. The Markdown summary is printed and, with --summary, written to a file.

import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, integerOption, parseOptions } from '../../cli/options.js';
import { BASELINE_PATH_DEFAULT, baselineOf, BaselineError, compareCounters, COUNTER_TOLERANCE_PERCENT_DEFAULT, loadBaseline, saveBaseline } from './baseline.js';
import { BaseRefError, prepareBaseTree, resolveCommit } from './base-tree.js';
import { COUNTER_CONFIGURATIONS, measureAllCounters } from './counters.js';
import { gatePasses, renderSummary, type GateReport } from './summary.js';
import {
  runTiming,
  TIMING_ALPHA_DEFAULT,
  TIMING_ENTRIES_DEFAULT,
  TIMING_FLOOR_PERCENT_DEFAULT,
  TIMING_PROCESSES_DEFAULT,
  TIMING_ROUNDS_DEFAULT,
  type TimingVerdict,
} from './timing.js';

interface GateOptions {
  base?: string;
  countersOnly?: boolean;
  updateBaseline?: boolean;
  baseline?: string;
  summary?: string;
  json?: string;
  counterTolerancePercent: number;
  floorPercent: number;
  alpha: number;
  processes: number;
  rounds: number;
  entries: number;
  quiet?: boolean;
}

/** The package root of the code running now (dist/src/bench/gate/ → four levels up): the head. */
const HEAD_DIR = fileURLToPath(new URL('../../../../', import.meta.url));

function numberOption(name: string, min: number, max: number, exclusiveMin = false): (value: string) => number {
  return (value: string) => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed) || parsed > max || (exclusiveMin ? parsed <= min : parsed < min)) {
      throw new InvalidArgumentError(`${name} must be a number in ${exclusiveMin ? '(' : '['}${min}, ${max}], got '${value}'`);
    }
    return parsed;
  };
}

function headSha(dir: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return null;
  }
}

export async function gateCommand(argv: string[]): Promise<number> {
  const name = 'raftbench gate';
  const program = new Command(name)
    .description(
      'The regression gate. Exact counters (fsyncs, bytes written, messages and bytes on the wire per put, entries per append) from seeded ' +
        'simulation runs against the committed baseline; with --base, the apply path timed A/B against that commit (built in a worktree ' +
        'beside this one), interleaved, Mann–Whitney U and a bootstrap interval over a measured noise floor. Exit 0 pass, 1 fail, 2 usage error.',
    )
    .option('--base <ref>', 'git ref of the base commit for the timing leg (e.g. origin/main); without it only the counters run')
    .option('--counters-only', 'run only the counters leg (fast; what the test suite runs)')
    .option('--update-baseline', 'measure the counters and rewrite the baseline file, then exit')
    .option('--baseline <file>', `the counters baseline (default: ${BASELINE_PATH_DEFAULT} in the package)`)
    .option('--summary <file>', 'also write the Markdown summary to this file')
    .option('--json <file>', 'write the verdicts and figures as JSON to this file')
    .option('--counter-tolerance-percent <x>', 'relative tolerance of each counter', numberOption('--counter-tolerance-percent', 0, 100), COUNTER_TOLERANCE_PERCENT_DEFAULT)
    .option('--floor-percent <x>', 'noise floor, percent: a significant slowdown fails only when its median ratio exceeds 1 + floor', numberOption('--floor-percent', 0, 1000), TIMING_FLOOR_PERCENT_DEFAULT)
    .option('--alpha <p>', 'significance level of the Mann–Whitney test', numberOption('--alpha', 0, 0.5, true), TIMING_ALPHA_DEFAULT)
    .option('--processes <n>', 'timing: worker processes, each running base and head interleaved', integerOption('--processes', 1, 100), TIMING_PROCESSES_DEFAULT)
    .option('--rounds <n>', 'timing: rounds per process (one repetition of each side per round)', integerOption('--rounds', 2, 1000), TIMING_ROUNDS_DEFAULT)
    .option('--entries <n>', 'timing: log entries applied per repetition', integerOption('--entries', 100, 1_000_000), TIMING_ENTRIES_DEFAULT)
    .option('--quiet', 'print only the summary');
  const parsed = parseOptions<GateOptions>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const options = parsed.options;
  if (program.args.length > 0) {
    console.error(`${name}: unexpected argument '${program.args[0]}' (see --help)`);
    return 2;
  }
  if (options.countersOnly === true && options.base !== undefined) {
    console.error(`${name}: --counters-only and --base exclude each other (the timing leg is what --base asks for)`);
    return 2;
  }
  if (options.base !== undefined) {
    // A ref that names no commit is the caller's mistake: say so before spending a minute.
    try {
      resolveCommit(HEAD_DIR, options.base);
    } catch (error) {
      if (!(error instanceof BaseRefError)) throw error;
      console.error(`${name}: ${error.message}`);
      return 2;
    }
  }
  const log = options.quiet === true ? (): void => {} : (line: string): void => console.error(line);
  const baselinePath = options.baseline === undefined ? join(HEAD_DIR, BASELINE_PATH_DEFAULT) : resolve(options.baseline);
  const loadStart = loadavg();

  if (options.updateBaseline === true) {
    log('gate: counters (deterministic simulation)…');
    const measured = await measureAllCounters(COUNTER_CONFIGURATIONS);
    await saveBaseline(baselinePath, baselineOf(measured, Object.fromEntries(COUNTER_CONFIGURATIONS.map((c) => [c.name, c.description]))));
    console.log(`${name}: wrote ${baselinePath} (${Object.keys(measured).length} configurations); commit it with the change that moved the counters`);
    return 0;
  }
  let baseline;
  try {
    baseline = await loadBaseline(baselinePath);
  } catch (error) {
    if (!(error instanceof BaselineError)) throw error;
    console.error(`${name}: ${error.message}`);
    return 1;
  }
  log('gate: counters (deterministic simulation)…');
  const counters = compareCounters(baseline, await measureAllCounters(COUNTER_CONFIGURATIONS), options.counterTolerancePercent);

  let timing: TimingVerdict | null = null;
  let timingSkipped: string | null = options.countersOnly === true ? '--counters-only' : 'no --base given';
  let baseSha: string | null = null;
  if (options.base !== undefined) {
    try {
      const base = await prepareBaseTree(HEAD_DIR, options.base, log);
      baseSha = base.sha;
      log(`gate: timing ${options.base} (${base.sha.slice(0, 12)}${base.reused ? ', built before' : `, node_modules by ${base.nodeModules}`}) against the head…`);
      timing = await runTiming(
        { baseDir: base.dir, headDir: HEAD_DIR, processes: options.processes, rounds: options.rounds, entries: options.entries, floorPercent: options.floorPercent, alpha: options.alpha },
        log,
      );
      timingSkipped = null;
    } catch (error) {
      // The gate cannot say the head is not slower: that is a failure, with the reason.
      console.error(`${name}: the timing leg could not run: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
  }

  const report: GateReport = {
    counters,
    timing,
    timingSkipped,
    baseRef: options.base ?? null,
    baseSha,
    headSha: headSha(HEAD_DIR),
    loadAverage: { start: loadStart, end: loadavg() },
    cores: availableParallelism(),
  };
  const summary = renderSummary(report);
  console.log(summary);
  if (options.summary !== undefined) await writeFile(options.summary, summary);
  if (options.json !== undefined) {
    const { comparison, ...timingRest } = timing ?? { comparison: null };
    const json = {
      pass: gatePasses(report),
      counters,
      timing: timing === null ? null : { ...timingRest, ratio: comparison!.ratioOfMedians, p: comparison!.test.p, interval: comparison!.interval, direction: comparison!.direction },
      timingSkipped,
      baseSha,
      headSha: report.headSha,
      loadAverage: report.loadAverage,
    };
    await writeFile(options.json, `${JSON.stringify(json, null, 2)}\n`);
  }
  return gatePasses(report) ? 0 : 1;
}

// The gate's timing leg: base and head on the same machine in the same job, interleaved, and a
// verdict that only calls a regression what is both significant and larger than the noise floor.
//
// Each of `processes` worker processes loads both trees' compiled code and applies the same log
// with each, round after round (A B A B …; every other process starts with the head, so neither
// side always runs first). A sample is one repetition's CPU time. The samples of every process
// are pooled per side and compared with the Mann–Whitney U test (two-sided, alpha 0.01) and a
// percentile-bootstrap interval of median(head) / median(base). Red only when all three agree:
// the test says the head is slower, the interval lies above 1, and the median ratio is above
// 1 + floor — a slowdown that is real and larger than what unchanged code shows against itself
// (the floor; src/bench/gate/README.md says how it was measured). The test bounds the false
// alarms on unchanged code (at most alpha / 2); the floor keeps real but tiny changes green.
//
// Many short repetitions rather than a few long ones: on a shared machine the noise is per
// repetition and independent (preemption, caches emptied by other processes; measured: no
// correlation between neighbouring repetitions), so precision grows with the count.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compareSamples, type Comparison } from '../stats/compare.js';
import type { TimingWorkerOutput } from './timing-worker.js';

export const TIMING_FLOOR_PERCENT_DEFAULT = 5;
export const TIMING_ALPHA_DEFAULT = 0.01;
export const TIMING_PROCESSES_DEFAULT = 3;
export const TIMING_ROUNDS_DEFAULT = 100;
export const TIMING_ENTRIES_DEFAULT = 500;
const WORKER_TIMEOUT_MS = 5 * 60_000;

export interface TimingOptions {
  readonly baseDir: string;
  readonly headDir: string;
  readonly processes: number;
  readonly rounds: number;
  readonly entries: number;
  readonly floorPercent: number;
  readonly alpha: number;
}

export type TimingOutcome = 'regression' | 'improvement' | 'no-change' | 'within-floor';

export interface TimingVerdict {
  readonly pass: boolean;
  readonly outcome: TimingOutcome;
  readonly options: TimingOptions;
  readonly comparison: Comparison;
  /** CPU ms per repetition, pooled over the processes. */
  readonly baseCpuMs: readonly number[];
  readonly headCpuMs: readonly number[];
  readonly entriesPerRepetition: number;
  readonly elapsedMs: number;
  readonly explanation: string;
}

const WORKER_PATH = fileURLToPath(new URL('./timing-worker.js', import.meta.url));

function runWorker(trees: readonly string[], options: TimingOptions): Promise<TimingWorkerOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', WORKER_PATH, '--trees', trees.join(','), '--rounds', String(options.rounds), '--entries', String(options.entries)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), WORKER_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`timing worker on ${trees.join(', ')} failed (${signal ?? `exit ${code}`}${signal === 'SIGKILL' ? `, killed after ${WORKER_TIMEOUT_MS / 1000} s` : ''}): ${stderr.trim().slice(-1500)}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as TimingWorkerOutput);
      } catch (error) {
        reject(new Error(`timing worker printed no result: ${(error as Error).message}; stderr: ${stderr.trim().slice(-500)}`));
      }
    });
  });
}

function explain(outcome: TimingOutcome, comparison: Comparison, floorPercent: number): string {
  const interval = comparison.interval;
  const range = interval === null ? 'no interval' : `${(interval.confidence * 100).toFixed(0)} % interval ×${interval.low.toFixed(3)}…×${interval.high.toFixed(3)}`;
  const delta = `${comparison.deltaPercent >= 0 ? '+' : ''}${comparison.deltaPercent.toFixed(1)} %`;
  switch (outcome) {
    case 'regression':
      return `the apply path is slower: ${delta} CPU time per repetition (p=${comparison.test.p.toPrecision(2)}, ${range}), more than the ${floorPercent} % noise floor`;
    case 'within-floor':
      return `the head is significantly slower (${delta}, p=${comparison.test.p.toPrecision(2)}, ${range}), but not by more than the ${floorPercent} % noise floor: not called a regression`;
    case 'improvement':
      return `the apply path is faster: ${delta} (p=${comparison.test.p.toPrecision(2)}, ${range})`;
    case 'no-change':
      return `no significant difference (${delta}, p=${comparison.test.p.toPrecision(2)}, ${range})`;
  }
}

/** Runs the interleaved A/B timing of the apply path and decides. `log` gets progress lines. */
export async function runTiming(options: TimingOptions, log: (line: string) => void): Promise<TimingVerdict> {
  const started = performance.now();
  const baseCpuMs: number[] = [];
  const headCpuMs: number[] = [];
  let entries = 0;
  for (let process = 0; process < options.processes; process++) {
    const headFirst = process % 2 === 1;
    const trees = headFirst ? [options.headDir, options.baseDir] : [options.baseDir, options.headDir];
    const output = await runWorker(trees, options);
    const [first, second] = output.sides;
    if (first === undefined || second === undefined) throw new Error('timing worker returned fewer than two sides');
    (headFirst ? headCpuMs : baseCpuMs).push(...first.cpuMs);
    (headFirst ? baseCpuMs : headCpuMs).push(...second.cpuMs);
    entries = output.entries;
    log(`gate: timing process ${process + 1}/${options.processes} done (${headFirst ? 'head' : 'base'} first)`);
  }
  const comparison = compareSamples(baseCpuMs, headCpuMs, { alpha: options.alpha, bootstrap: { resamples: 5_000, confidence: 0.95, seed: 1 } });
  const interval = comparison.interval;
  const slower = comparison.direction === 'increase';
  let outcome: TimingOutcome;
  if (slower && interval !== null && interval.low > 1 && comparison.ratioOfMedians > 1 + options.floorPercent / 100) outcome = 'regression';
  else if (slower) outcome = 'within-floor';
  else if (comparison.direction === 'decrease') outcome = 'improvement';
  else outcome = 'no-change';
  return {
    pass: outcome !== 'regression',
    outcome,
    options,
    comparison,
    baseCpuMs,
    headCpuMs,
    entriesPerRepetition: entries,
    elapsedMs: performance.now() - started,
    explanation: explain(outcome, comparison, options.floorPercent),
  };
}

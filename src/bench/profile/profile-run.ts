// A profiled run: `raftbench run` (one profile × one workload, one repetition) in a child process,
// twice when a clinic tool is asked for:
//  1. under Node's `--cpu-prof` alone — the text hotspots come from this .cpuprofile (V8's format,
//     stable; clinic's data files are internal to each clinic version);
//  2. under clinic (flame, doctor or bubbleprof) alone, for its HTML report.
// Not both at once: clinic's instrumentation moves the hotspots. Under bubbleprof the top of a
// --cpu-prof collected alongside was bubbleprof's own async hooks and stack capture (~60 % of the
// main thread) and the store ran at ~100 writes/s; under flame `(program)` (V8's tick log) rose to
// the second place. Hotspots from a clean run name our code's costs, not the profiler's.
//
// Clinic 13 is unmaintained. Where it cannot run — not installed, it exits non-zero, it writes no
// HTML (bubbleprof's analysis dies with "premature close" on this store's traces; doctor fails on
// newer Node versions), the workload does not finish under it, or it does not finish in time — the
// outcome says why, so nobody mistakes the --cpu-prof hotspots for a clinic report.
//
// Bounded: the child stops by itself after the workload's warm-up + duration; the whole process
// group is killed if it has not finished within its bound (clinic's includes its analysis).
// Clinic's first-run question about anonymous usage statistics and its update check are switched
// off (NO_INSIGHT, NO_UPDATE_NOTIFIER; its stdin is not a terminal either), and `--open=false`
// keeps it from starting a browser.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PHASE_MARKS_ENV } from '../run/phase-marks.js';

export const PROFILE_TOOLS = ['flame', 'doctor', 'bubbleprof', 'cpu-prof'] as const;
export type ProfileTool = (typeof PROFILE_TOOLS)[number];
type ClinicTool = Exclude<ProfileTool, 'cpu-prof'>;

export interface ProfileRunPlan {
  readonly tool: ProfileTool;
  /** Absolute; created by the caller. Clinic's HTML and data, cpu/*.cpuprofile, run.json and the logs go here. */
  readonly outDir: string;
  /**
   * Arguments of `raftbench run` after `run` (profile, workload, overrides), without --out. Paths
   * absolute: the children run in `outDir` (see runBounded).
   */
  readonly runArgs: readonly string[];
  /** Bound on the clinic run (start to HTML written), killed with its process group after it. */
  readonly clinicTimeoutMs: number;
  /** Bound on the --cpu-prof run: the tool asked for, or the fallback after clinic failed. */
  readonly cpuProfTimeoutMs: number;
  readonly samplingIntervalUs: number;
  /** Progress lines (clinic's and the child's output, prefixed), for stderr. */
  readonly log: (line: string) => void;
}

export interface ProfileRunOutcome {
  /** Why there is no clinic report, when one was asked for and clinic could not make it; null otherwise. */
  readonly fallbackReason: string | null;
  readonly clinicHtml: string | null;
  readonly cpuProfileDir: string;
  /** The child's results file (throughput of the profiled run). */
  readonly runFile: string;
  /** Where the --cpu-prof run marked its measured window (../run/phase-marks.ts). */
  readonly phaseMarksFile: string;
}

export class ProfileRunError extends Error {
  override readonly name = 'ProfileRunError';
}

const CLI_MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** The last lines the process printed (for error messages). */
  readonly tail: string;
}

export async function profileRun(plan: ProfileRunPlan): Promise<ProfileRunOutcome> {
  const cpuProfileDir = join(plan.outDir, 'cpu');
  const runFile = join(plan.outDir, 'run.json');
  const phaseMarksFile = join(plan.outDir, 'phases.jsonl');
  const paths = { cpuProfileDir, runFile, phaseMarksFile };
  const runArgs = (out: string): string[] => [CLI_MAIN, 'run', ...plan.runArgs, '--repetitions', '1', '--no-progress', '--no-report', '--out', out];

  const cpuProf = ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`, `--cpu-prof-interval=${plan.samplingIntervalUs}`];
  const exit = await runBounded(process.execPath, [...cpuProf, ...runArgs(runFile)], plan.cpuProfTimeoutMs, plan, 'cpu-prof.log', 'cpu-prof', {
    [PHASE_MARKS_ENV]: phaseMarksFile,
  });
  if (!existsSync(runFile) || exit.code !== 0) throw new ProfileRunError(`the profiled run failed (${describeExit(exit, plan.cpuProfTimeoutMs)}):\n${exit.tail}`);
  if (mainThreadProfiles(cpuProfileDir).length === 0) throw new ProfileRunError(`node --cpu-prof wrote no main-thread profile under ${cpuProfileDir}`);
  if (plan.tool === 'cpu-prof') return { fallbackReason: null, clinicHtml: null, ...paths };

  const clinic = await underClinic(plan, plan.tool, runArgs(join(plan.outDir, CLINIC_RUN_FILE)));
  if (clinic.html !== null) return { fallbackReason: null, clinicHtml: clinic.html, ...paths };
  plan.log(`clinic ${plan.tool} could not run: ${clinic.failure}`);
  return { fallbackReason: clinic.failure, clinicHtml: null, ...paths };
}

/** The results file of the run under clinic (its throughput is the profiler's, not the store's). */
const CLINIC_RUN_FILE = 'clinic-run.json';

async function underClinic(plan: ProfileRunPlan, tool: ClinicTool, runArgs: readonly string[]): Promise<{ html: string; failure: null } | { html: null; failure: string }> {
  let clinicBin: string;
  try {
    clinicBin = createRequire(import.meta.url).resolve('clinic/bin.js');
  } catch {
    return { html: null, failure: 'clinic is not installed (it is a devDependency: run npm install)' };
  }
  const args = [clinicBin, tool, '--open=false', '--dest', plan.outDir, '--', process.execPath, ...runArgs];
  const exit = await runBounded(process.execPath, args, plan.clinicTimeoutMs, plan, 'clinic.log', 'clinic');
  const html = readdirSync(plan.outDir).find((name) => name.endsWith(`.clinic-${tool}.html`));
  // A report of a run that did not finish (the child crashed under clinic's hooks) is no report.
  const finished = existsSync(join(plan.outDir, CLINIC_RUN_FILE));
  if (exit.code === 0 && html !== undefined && finished) return { html: join(plan.outDir, html), failure: null };
  // Raw clinic data of a failed analysis is useless and can be large (bubbleprof: ~200 MB per
  // second of load, in its folder and in the trace files it had not moved there yet).
  for (const name of readdirSync(plan.outDir)) {
    if (name.includes(`.clinic-${tool}`) || /^node_trace\.\d+\.log$/.test(name)) rmSync(join(plan.outDir, name), { recursive: true, force: true });
  }
  // The message, not the stack: the last two lines that are not "at …" frames.
  const lastLine = exit.tail.split('\n').filter((line) => line.trim() !== '' && !/^\s+at /.test(line)).slice(-2).join(' | ');
  return { html: null, failure: `${describeExit(exit, plan.clinicTimeoutMs)}${html === undefined ? ', no HTML report written' : ''}${finished ? '' : ', the workload did not finish under it'}${lastLine === '' ? '' : ` (${lastLine})`}; its output is in clinic.log` };
}

function describeExit(exit: Exit, timeoutMs: number): string {
  if (exit.timedOut) return `did not finish within ${Math.round(timeoutMs / 1000)} s and was killed`;
  return exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/**
 * Runs a command with the out dir as its working directory: clinic doctor and bubbleprof collect
 * Node's trace events into node_trace.*.log in the working directory, leave them there when their
 * analysis fails (bubbleprof: ~1 GB), and doctor refuses to start where such files exist. A fresh
 * folder per run keeps them out of the checkout and never blocks the next run.
 *
 * In its own process group (clinic starts the profiled node as a grandchild), with
 * its output copied to `logName` in the out dir and to `plan.log`. Killed, group and all, after
 * `timeoutMs`; Ctrl-C is passed on to the group, so clinic still writes its report.
 */
function runBounded(command: string, args: readonly string[], timeoutMs: number, plan: ProfileRunPlan, logName: string, prefix: string, env: Record<string, string> = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(join(plan.outDir, logName));
    const child = spawn(command, args, {
      cwd: plan.outDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, NO_INSIGHT: '1', NO_UPDATE_NOTIFIER: '1', NO_COLOR: '1', ...env },
    });
    let tail = '';
    const onOutput = (chunk: Buffer): void => {
      log.write(chunk);
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim() !== '') plan.log(`${prefix}: ${line}`);
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGKILL');
    }, timeoutMs);
    const onInterrupt = (): void => killGroup('SIGINT');
    process.on('SIGINT', onInterrupt);
    child.on('error', (error) => {
      clearTimeout(timer);
      process.off('SIGINT', onInterrupt);
      log.end();
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', onInterrupt);
      // The group may hold a straggler (a clinic helper) after its leader exits.
      killGroup('SIGKILL');
      log.end(() => resolve({ code, signal, timedOut, tail }));
    });
  });
}

export interface CpuProfileFile {
  readonly path: string;
  readonly threadId: number;
}

/** The .cpuprofile files in `dir` (node names them CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile). */
export function cpuProfileFiles(dir: string): CpuProfileFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .map((name) => ({ path: join(dir, name), threadId: Number(name.split('.')[4] ?? Number.NaN) }));
}

export function mainThreadProfiles(dir: string): CpuProfileFile[] {
  return cpuProfileFiles(dir).filter((file) => file.threadId === 0);
}

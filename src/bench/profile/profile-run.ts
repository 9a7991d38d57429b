// One profiled run: `raftbench run` (one profile × one workload, one repetition) in a child process,
// under clinic (flame, doctor or bubbleprof) with Node's own `--cpu-prof` collected alongside, or
// under `--cpu-prof` alone. The text hotspots always come from the .cpuprofile: its format is V8's
// and stable, while clinic's data files are internal to each clinic version.
//
// Clinic 13 is unmaintained. Where it cannot run — not installed, it exits non-zero, it writes no
// HTML (bubbleprof's analysis dies on large traces; doctor fails on newer Node versions), or it does
// not finish in time — the run falls back to `--cpu-prof` and the outcome says why, so nobody
// mistakes the fallback for the tool they asked for.
//
// Bounded: the child stops by itself after the workload's warm-up + duration; the whole process
// group is killed if it has not finished within its bound (clinic's includes its analysis). Clinic's first-run question about
// anonymous usage statistics and its update check are switched off (NO_INSIGHT, NO_UPDATE_NOTIFIER;
// its stdin is not a terminal either), and `--open=false` keeps it from starting a browser.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROFILE_TOOLS = ['flame', 'doctor', 'bubbleprof', 'cpu-prof'] as const;
export type ProfileTool = (typeof PROFILE_TOOLS)[number];
type ClinicTool = Exclude<ProfileTool, 'cpu-prof'>;

export interface ProfileRunPlan {
  readonly tool: ProfileTool;
  /** Absolute; created by the caller. Clinic's HTML and data, cpu/*.cpuprofile, run.json and the logs go here. */
  readonly outDir: string;
  /** Arguments of `raftbench run` after `run` (profile, workload, overrides), without --out. */
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
  /** What produced the hotspots' profile: the tool asked for, or cpu-prof after a fallback. */
  readonly toolUsed: ProfileTool;
  /** Why clinic was not used, when it was asked for and could not run; null otherwise. */
  readonly fallbackReason: string | null;
  readonly clinicHtml: string | null;
  readonly cpuProfileDir: string;
  /** The child's results file (throughput of the profiled run). */
  readonly runFile: string;
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
  const cpuProf = ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`, `--cpu-prof-interval=${plan.samplingIntervalUs}`];
  const child = [...cpuProf, CLI_MAIN, 'run', ...plan.runArgs, '--repetitions', '1', '--no-progress', '--no-report', '--out', runFile];

  let fallbackReason: string | null = null;
  if (plan.tool !== 'cpu-prof') {
    const clinic = await underClinic(plan, plan.tool, child);
    if (clinic.html !== null) return { toolUsed: plan.tool, fallbackReason: null, clinicHtml: clinic.html, cpuProfileDir, runFile };
    fallbackReason = clinic.failure;
    plan.log(`clinic ${plan.tool} could not run: ${fallbackReason}`);
    // The child may well have finished under clinic (bubbleprof dies in its analysis, after the
    // run): then its --cpu-prof profile is whole and a second run is not needed.
    if (existsSync(runFile) && mainThreadProfiles(cpuProfileDir).length > 0) {
      plan.log('falling back to the node --cpu-prof profile collected alongside clinic');
      return { toolUsed: 'cpu-prof', fallbackReason, clinicHtml: null, cpuProfileDir, runFile };
    }
    plan.log('falling back to node --cpu-prof: running the workload again');
    rmSync(cpuProfileDir, { recursive: true, force: true });
    rmSync(runFile, { force: true });
  }
  const exit = await runBounded(process.execPath, child, plan.cpuProfTimeoutMs, plan, 'cpu-prof.log', 'run');
  if (!existsSync(runFile) || exit.code !== 0) throw new ProfileRunError(`the profiled run failed (${describeExit(exit, plan.cpuProfTimeoutMs)}):\n${exit.tail}`);
  if (mainThreadProfiles(cpuProfileDir).length === 0) throw new ProfileRunError(`node --cpu-prof wrote no main-thread profile under ${cpuProfileDir}`);
  return { toolUsed: 'cpu-prof', fallbackReason, clinicHtml: null, cpuProfileDir, runFile };
}

async function underClinic(plan: ProfileRunPlan, tool: ClinicTool, child: readonly string[]): Promise<{ html: string; failure: null } | { html: null; failure: string }> {
  let clinicBin: string;
  try {
    clinicBin = createRequire(import.meta.url).resolve('clinic/bin.js');
  } catch {
    return { html: null, failure: 'clinic is not installed (it is a devDependency: run npm install)' };
  }
  const args = [clinicBin, tool, '--open=false', '--dest', plan.outDir, '--', process.execPath, ...child];
  const exit = await runBounded(process.execPath, args, plan.clinicTimeoutMs, plan, 'clinic.log', 'clinic');
  const html = readdirSync(plan.outDir).find((name) => name.endsWith(`.clinic-${tool}.html`));
  // A report of a run that did not finish (the child crashed under clinic's hooks) is no report.
  const finished = existsSync(join(plan.outDir, 'run.json'));
  if (exit.code === 0 && html !== undefined && finished) return { html: join(plan.outDir, html), failure: null };
  // Raw clinic data of a failed analysis is useless and can be large (bubbleprof: ~200 MB per second of load).
  for (const name of readdirSync(plan.outDir)) {
    if (name.includes(`.clinic-${tool}`)) rmSync(join(plan.outDir, name), { recursive: true, force: true });
  }
  const lastLine = exit.tail.trim().split('\n').filter((line) => line.trim() !== '').slice(-3).join(' | ');
  return { html: null, failure: `${describeExit(exit, plan.clinicTimeoutMs)}${html === undefined ? ', no HTML report written' : ''}${finished ? '' : ', the workload did not finish under it'}${lastLine === '' ? '' : ` (${lastLine})`}; its output is in clinic.log` };
}

function describeExit(exit: Exit, timeoutMs: number): string {
  if (exit.timedOut) return `did not finish within ${Math.round(timeoutMs / 1000)} s and was killed`;
  return exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/**
 * Runs a command in its own process group (clinic starts the profiled node as a grandchild) with
 * its output copied to `logName` in the out dir and to `plan.log`. Killed, group and all, after
 * `timeoutMs`; Ctrl-C is passed on to the group, so clinic still writes its report.
 */
function runBounded(command: string, args: readonly string[], timeoutMs: number, plan: ProfileRunPlan, logName: string, prefix: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(join(plan.outDir, logName));
    const child = spawn(command, args, {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, NO_INSIGHT: '1', NO_UPDATE_NOTIFIER: '1', NO_COLOR: '1' },
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

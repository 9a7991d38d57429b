// `raftbench profile` (what `npm run profile -- …` runs): one profile × one workload in a child
// process under clinic (flame, doctor, bubbleprof) or Node's --cpu-prof, the reports written under
// results/profiles/<stamp>-<profile>-<workload>-<tool>/, and the top hotspots and the time by layer
// printed as text. src/bench/profile/README.md explains what each figure means.

import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Option } from 'commander';
import { summarizeCpuProfile, type CpuProfile } from '../bench/profile/cpu-profile.js';
import { renderHotspots, type ThreadProfile } from '../bench/profile/hotspot-text.js';
import { cpuProfileFiles, PROFILE_TOOLS, profileRun, ProfileRunError, type ProfileRunOutcome, type ProfileTool } from '../bench/profile/profile-run.js';
import { sourceMappedLocator } from '../bench/profile/source-location.js';
import { loadRunFile } from '../bench/results/load.js';
import { readMeasuredWindow } from '../bench/run/phase-marks.js';
import { WorkloadError, type Workload } from '../bench/workload/index.js';
import { loadProfile, ProfileError, type ResolvedProfile } from '../server/profile.js';
import { Command, integerOption, parseOptions } from './options.js';
import { resolveWorkload, secondsOption, withOverrides } from './run-command.js';

interface ProfileOptions {
  profile: string;
  workload: string;
  tool: ProfileTool;
  duration?: number;
  warmup?: number;
  records?: number;
  concurrency?: number;
  top: number;
  intervalUs: number;
  outRoot: string;
  timeout?: number;
  wholeRun: boolean;
}

/** Start-up, the load phase and shutdown around the measured run; generous on a loaded 2-core machine. */
const RUN_OVERHEAD_SECONDS = 60;
/** Clinic's analysis after the run (flame: seconds; bubbleprof: minutes on a busy store). */
const CLINIC_ANALYSIS_SECONDS = 600;
/** A workload bounded by an operation count has no duration to scale the bound from. */
const COUNT_BOUNDED_RUN_SECONDS = 300;

/** The bound on a --cpu-prof run of this workload: three times its length plus start-up and load. */
function cpuProfTimeoutSeconds(workload: Workload): number {
  const run = workload.run;
  const runSeconds = run.durationSeconds === undefined ? COUNT_BOUNDED_RUN_SECONDS : run.warmupSeconds + run.durationSeconds;
  return RUN_OVERHEAD_SECONDS + 3 * runSeconds;
}

const fileSafe = (name: string): string => name.replace(/[^A-Za-z0-9._-]+/g, '_');

/**
 * A profile or workload reference as an absolute path, for a child that runs in another folder:
 * a bare name is folder/NAME.json, anything with a slash or .json a path (as loadProfile and
 * resolveWorkload read them).
 */
function absoluteReference(reference: string, folder: string): string {
  return reference.includes('/') || reference.endsWith('.json') ? resolve(reference) : resolve(folder, `${reference}.json`);
}

/** A path as the user would type it: relative inside the working directory, absolute outside. */
function shown(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside === '' || inside.startsWith('..') ? path : inside;
}

export async function profileCommand(argv: string[]): Promise<number> {
  const program = new Command('raftbench profile')
    .description(
      'Profile one profile × workload: run it in a child process under clinic (flame, doctor, bubbleprof) with node --cpu-prof alongside, ' +
        'or under --cpu-prof alone; write the reports under results/profiles/<stamp>-<profile>-<workload>-<tool>/ and print the top hotspots ' +
        '(self time) and the time by layer. If clinic cannot run, falls back to --cpu-prof and says so.',
    )
    .requiredOption('--profile <name>', 'profile name (profiles/NAME.json) or path')
    .requiredOption('--workload <name>', 'workload name (workloads/NAME.json), .json path or YCSB property file')
    .addOption(new Option('--tool <tool>', 'clinic flame / doctor / bubbleprof, or node --cpu-prof only').choices(PROFILE_TOOLS).default('flame'))
    .option('--duration <seconds>', "override the workload's measured duration", secondsOption('--duration'))
    .option('--warmup <seconds>', "override the workload's warm-up", secondsOption('--warmup'))
    .option('--records <n>', "override the workload's record count", integerOption('--records', 1, 1_000_000_000))
    .option('--concurrency <n>', "override the workload's client concurrency", integerOption('--concurrency', 1, 10_000))
    .option('--top <n>', 'hotspots to print', integerOption('--top', 1, 1000), 15)
    .option('--interval-us <µs>', 'cpu-prof sampling interval', integerOption('--interval-us', 50, 100_000), 1000)
    .option('--whole-run', 'hotspots of the whole child process (start-up, load phase, warm-up, shutdown), not only the measured run', false)
    .option('--out-root <dir>', 'where the report folder is made', join('results', 'profiles'))
    .option('--timeout <seconds>', 'kill the run of the tool asked for (clinic and all) after this long (default: 60 s + 3 × the workload\'s warm-up and duration, + 600 s for clinic\'s analysis)', secondsOption('--timeout'));
  const parsed = parseOptions<ProfileOptions>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const options = parsed.options;

  let profile: ResolvedProfile;
  let workload: Workload;
  try {
    profile = await loadProfile(options.profile);
    workload = withOverrides(await resolveWorkload(options.workload), options);
  } catch (error) {
    if (error instanceof ProfileError || error instanceof WorkloadError) {
      console.error(`raftbench profile: ${error.message}`);
      return 2;
    }
    throw error;
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = resolve(options.outRoot, `${stamp}-${fileSafe(profile.name)}-${fileSafe(workload.name)}-${options.tool}`);
  mkdirSync(outDir, { recursive: true });
  const loadAtStart = loadavg()[0]!;
  const runArgs = [
    '--profiles', absoluteReference(options.profile, 'profiles'),
    '--workloads', absoluteReference(options.workload, 'workloads'),
    ...(options.duration === undefined ? [] : ['--duration', String(options.duration)]),
    ...(options.warmup === undefined ? [] : ['--warmup', String(options.warmup)]),
    ...(options.records === undefined ? [] : ['--records', String(options.records)]),
    ...(options.concurrency === undefined ? [] : ['--concurrency', String(options.concurrency)]),
  ];
  // --timeout bounds the tool asked for; a fallback --cpu-prof run keeps the bound from the workload.
  const cpuProfSeconds = cpuProfTimeoutSeconds(workload);
  const timeoutSeconds = options.timeout ?? (options.tool === 'cpu-prof' ? cpuProfSeconds : cpuProfSeconds + CLINIC_ANALYSIS_SECONDS);
  console.error(`raftbench profile: ${profile.name} × ${workload.name} under ${options.tool} → ${shown(outDir)} (bounded at ${timeoutSeconds} s)`);
  let outcome: ProfileRunOutcome;
  try {
    outcome = await profileRun({
      tool: options.tool,
      outDir,
      runArgs,
      clinicTimeoutMs: timeoutSeconds * 1000,
      cpuProfTimeoutMs: (options.tool === 'cpu-prof' ? timeoutSeconds : cpuProfSeconds) * 1000,
      samplingIntervalUs: options.intervalUs,
      log: (line) => console.error(`  ${line}`),
    });
  } catch (error) {
    if (error instanceof ProfileRunError) {
      console.error(`raftbench profile: ${error.message}`);
      return 1;
    }
    throw error;
  }

  const text = describeProfile(outcome, { profile, workload, options, outDir, loadAtStart });
  console.log(text);
  writeFileSync(join(outDir, 'hotspots.txt'), `${text}\n`);
  return 0;
}

interface Context {
  readonly profile: ResolvedProfile;
  readonly workload: Workload;
  readonly options: ProfileOptions;
  readonly outDir: string;
  readonly loadAtStart: number;
}

function describeProfile(outcome: ProfileRunOutcome, context: Context): string {
  const { options, outDir } = context;
  const files = cpuProfileFiles(outcome.cpuProfileDir);
  // One process, so one main-thread file; should the child ever start another node, the busiest is ours.
  const mainFile = files.filter((file) => file.threadId === 0).sort((a, b) => statSync(b.path).size - statSync(a.path).size)[0]!;
  const locate = sourceMappedLocator();
  const window = options.wholeRun ? null : readMeasuredWindow(outcome.phaseMarksFile);
  const threadOf = (file: { path: string; threadId: number }, limit: number): ThreadProfile => ({
    threadId: file.threadId,
    file: shown(file.path),
    summary: summarizeCpuProfile(JSON.parse(readFileSync(file.path, 'utf8')) as CpuProfile, limit, { locate, ...(window === null ? {} : { windowUs: window }) }),
  });
  const main = threadOf(mainFile, options.top);
  const workers = files.filter((file) => file.threadId !== 0).map((file) => threadOf(file, 5));

  const run = loadRunFile(outcome.runFile);
  const cell = run.cells[0];
  const lines: string[] = [];
  lines.push(`# raftbench profile: ${context.profile.name} × ${context.workload.name}, ${options.tool === 'cpu-prof' ? 'node --cpu-prof' : `clinic ${options.tool}`}`);
  lines.push('');
  if (outcome.fallbackReason !== null) {
    lines.push(`FALLBACK: clinic ${options.tool} could not run — ${outcome.fallbackReason}.`);
    lines.push('          No clinic report was written; the hotspots below come from the run under node --cpu-prof, as always (open the .cpuprofile in Chrome DevTools → Performance).');
    lines.push('');
  }
  if (outcome.clinicHtml !== null) {
    lines.push(`clinic ${options.tool} report: ${shown(outcome.clinicHtml)}`);
    lines.push("  (the hotspots below come from a separate run under node --cpu-prof alone: clinic's instrumentation moves them)");
  }
  lines.push(`cpu profile:   ${main.file}${workers.length > 0 ? ` (+ ${workers.length} worker-thread profiles beside it)` : ''}`);
  lines.push(`hotspots text: ${shown(join(outDir, 'hotspots.txt'))}`);
  if (cell !== undefined) {
    const mode = cell.drive.mode === 'closed-loop' ? `closed loop, ${cell.drive.clients} clients` : `open loop at ${cell.drive.ratePerSecond}/s`;
    lines.push(
      `profiled run:  ${Math.round(cell.total.throughputPerSecond)} ops/s, p99 ${cell.total.latencyUs.p99} µs, ${cell.total.errorCount} errors (${mode}; under the profiler — not a benchmark figure)`,
    );
  }
  lines.push(
    window !== null
      ? `window:        the measured run only, ${((window.endUs - window.startUs) / 1e6).toFixed(1)} s after the warm-up (start-up, load phase, warm-up and shutdown left out; --whole-run keeps them)`
      : `window:        the whole child process: start-up, load phase, warm-up, run and shutdown${options.wholeRun ? '' : ' (the run marked no measured window)'}`,
  );
  lines.push(`load average:  ${context.loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end (${run.environment.cores} cores)`);
  lines.push('');
  lines.push(renderHotspots(main, workers, options.intervalUs));
  return lines.join('\n');
}

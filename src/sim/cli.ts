// `raftbench sim`: run the deterministic cluster simulation over many seeds, or replay one seed
// with a verbose trace. Exit code 0 when every seed passed, 1 when any failed, 2 on bad usage.

import { READ_MODES, type ReadMode } from '../server/node-options.js';
import { Command, InvalidArgumentError, integerOption, parseOptions } from '../cli/options.js';
import { DEFAULT_FAULT_TICKS, describeConfig, SEED_MAX, runRandomSeed, SimulationFailure, type RandomRunResult } from './random-run.js';

const FAILURE_REPORTS_SHOWN = 3;

interface SimOptions {
  seeds: number;
  firstSeed: number;
  seed?: number;
  nodes?: number;
  ticks: number;
  quiet?: boolean;
  readMode?: ReadMode;
  clockDrift?: number;
  brokenHost?: boolean;
}

function quantiles(values: readonly number[]): string {
  if (values.length === 0) return 'n/a';
  const sorted = values.slice().sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const ms = (us: number): string => `${(us / 1000).toFixed(1)} ms`;
  return `min ${ms(sorted[0]!)} / median ${ms(at(0.5))} / max ${ms(sorted[sorted.length - 1]!)}`;
}

function printSummary(results: readonly RandomRunResult[], failures: readonly SimulationFailure[], seconds: number, print: (line: string) => void): void {
  const seedsRun = results.length + failures.length;
  const sum = (pick: (result: RandomRunResult) => number): number => results.reduce((total, result) => total + pick(result), 0);
  const messagesByType = new Map<string, number>();
  for (const result of results) {
    for (const [type, count] of Object.entries(result.stats.messagesByType)) messagesByType.set(type, (messagesByType.get(type) ?? 0) + count);
  }
  print('');
  print(`seeds run          ${seedsRun} (${results.length} passed, ${failures.length} failed)`);
  print(`wall time          ${seconds.toFixed(2)} s (${(seedsRun / Math.max(seconds, 1e-9)).toFixed(1)} seeds/s)`);
  print(`simulated time     ${(sum((result) => result.simulatedUs) / 1e6).toFixed(1)} s`);
  print(`events             ${sum((result) => result.stats.events)}`);
  print(`elections won      ${sum((result) => result.elections)}`);
  print(`entries committed  ${sum((result) => result.entriesCommitted)} (client proposals acknowledged: ${sum((result) => result.acknowledged)})`);
  print(
    `KV history         ${sum((result) => result.history.operations)} operations checked linearizable (${sum((result) => result.history.answered)} answered, ` +
      `${sum((result) => result.history.unknown)} unknown outcome, ${sum((result) => result.history.failed)} failed; ${results.filter((result) => !result.history.checked).length} seeds undecided)`,
  );
  print(`messages sent      ${sum((result) => result.stats.messagesSent)} (${[...messagesByType].filter(([, count]) => count > 0).map(([type, count]) => `${type} ${count}`).join(', ')})`);
  print(
    `faults injected    ${sum((result) => result.stats.faultsInjected)} (crashes ${sum((result) => result.stats.crashes)} of which during sync ${sum((result) => result.stats.crashesDuringSync)}, restarts ${sum((result) => result.stats.restarts)}, ` +
      `snapshots taken ${sum((result) => result.stats.snapshotsTaken)}, installed ${sum((result) => result.stats.snapshotsInstalled)}, storage failures ${sum((result) => result.stats.storageFailures)}, lease reads ${sum((result) => result.stats.leaseReads)})`,
  );
  print(`time to elect      ${quantiles(results.flatMap((result) => (result.firstLeaderUs === null ? [] : [result.firstLeaderUs])))} (from start)`);
  print(`heal → leader      ${quantiles(results.map((result) => result.healToLeaderUs))}`);
  print(`heal → commit      ${quantiles(results.map((result) => result.healToCommitUs))}`);
  if (failures.length > 0) {
    print('');
    print(`FAILED seeds: ${failures.map((failure) => failure.seed).join(', ')}`);
    print(`replay the first with: ${failures[0]!.replayCommand}`);
  }
}

async function runSeeds(options: SimOptions): Promise<number> {
  const print = (line: string): void => console.log(line);
  if (options.seed !== undefined) {
    const settings = { seed: options.seed, nodes: options.nodes, faultTicks: options.ticks, readMode: options.readMode, clockDriftMax: options.clockDrift, unsafeSendBeforePersist: options.brokenHost };
    print(`replaying seed ${options.seed} (fault phase ${options.ticks} ticks), every event:`);
    const startMs = performance.now();
    try {
      const result = await runRandomSeed({ ...settings, verbose: options.quiet === true ? null : print });
      print(`config: ${describeConfig(result.config)}`);
      printSummary([result], [], (performance.now() - startMs) / 1000, print);
      print(`trace digest       ${result.digest}`);
      print(`PASSED seed ${options.seed}`);
      return 0;
    } catch (error) {
      if (!(error instanceof SimulationFailure)) throw error;
      print('');
      print(error.report());
      return 1;
    }
  }
  const results: RandomRunResult[] = [];
  const failures: SimulationFailure[] = [];
  const startMs = performance.now();
  const lastSeed = options.firstSeed + options.seeds - 1;
  if (lastSeed >= SEED_MAX) throw new InvalidArgumentError(`--first-seed + --seeds must stay below 2^52`);
  if (options.quiet !== true) print(`running seeds ${options.firstSeed}..${lastSeed} (fault phase ${options.ticks} ticks each)`);
  for (let seed = options.firstSeed; seed <= lastSeed; seed++) {
    try {
      results.push(await runRandomSeed({ seed, nodes: options.nodes, faultTicks: options.ticks, readMode: options.readMode, clockDriftMax: options.clockDrift, unsafeSendBeforePersist: options.brokenHost }));
    } catch (error) {
      if (!(error instanceof SimulationFailure)) throw error;
      failures.push(error);
      if (failures.length <= FAILURE_REPORTS_SHOWN) {
        print('');
        print(error.report());
      } else {
        print(`FAILED seed ${seed}: ${error.reason.split('\n')[0]} — replay: ${error.replayCommand}`);
      }
    }
  }
  printSummary(results, failures, (performance.now() - startMs) / 1000, print);
  return failures.length === 0 ? 0 : 1;
}

export async function simCommand(argv: string[]): Promise<number> {
  const program = new Command('raftbench sim')
    .description(
      'Run the deterministic Raft cluster simulation: per seed, a random cluster configuration (3/5/7 nodes, pre-vote, check-quorum, ' +
        'inflight window, batch limits, fsync latency, torn writes, compaction) and a random fault schedule (partitions, one-way cuts, loss, ' +
        'duplication, reordering, crashes — some aimed between a Ready\'s write and its fsync —, restarts, leadership transfers) while clients propose; then a heal phase that must reach ' +
        'liveness. Election safety, log matching, leader completeness, state-machine safety and monotonic progress are checked after ' +
        'every event. A failing seed replays exactly with --seed.',
    )
    .option('--seeds <n>', 'how many seeds to run', integerOption('--seeds', 1, 10_000_000), 300)
    .option('--first-seed <n>', 'the first seed of the range', integerOption('--first-seed', 0, SEED_MAX - 1), 1)
    .option('--seed <n>', 'replay one seed and print every event', integerOption('--seed', 0, SEED_MAX - 1))
    .option('--nodes <n>', 'cluster size for every seed (default: chosen by each seed among 3, 5, 7)', integerOption('--nodes', 1, 15))
    .option('--ticks <n>', 'length of the fault phase, in ticks of 10 ms simulated time', integerOption('--ticks', 1, 1_000_000), DEFAULT_FAULT_TICKS)
    .option('--quiet', 'print only the summary (and failures)')
    .option('--read-mode <mode>', `how the KV clients read, for every seed (default: chosen by each seed); one of ${READ_MODES.join(', ')} — 'stale' is unsafe`, (value: string) => {
      if (!(READ_MODES as readonly string[]).includes(value)) throw new InvalidArgumentError(`--read-mode must be one of ${READ_MODES.join(', ')}, got '${value}'`);
      return value as ReadMode;
    })
    .option('--clock-drift <fraction>', 'the simulated clocks\' real drift bound (the nodes assume 0.05; above it a lease is unsafe)', (value: string) => {
      const drift = Number(value);
      if (!(drift >= 0 && drift < 0.5)) throw new InvalidArgumentError(`--clock-drift must be a number in [0, 0.5), got '${value}'`);
      return drift;
    })
    .option('--broken-host', 'run a deliberately broken host that acknowledges before its writes are durable (to watch the checkers catch it)');
  const parsed = parseOptions<SimOptions>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  try {
    return await runSeeds(parsed.options);
  } catch (error) {
    if (error instanceof InvalidArgumentError) {
      console.error(`raftbench sim: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

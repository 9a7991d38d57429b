// Micro-benchmark of the `kv.lock` switch with real threads: read throughput of the shared-memory
// skip list with 1, 2 and 4 reader worker threads while the main thread (the apply path) writes
// a steady stream, under the ticket mutex and under the phase-fair rwlock.
//
//   npm run bench:micro:kv-threads               (default: 3 runs per cell, under ~2 minutes)
//   npm run bench:micro:kv-threads -- --quick    (1 run per cell, short runs)
//   options: --runs N  --duration-ms N  --write-rate N (writes/s; 0 = no writer)  --threads 1,2,4  --keys N
//            --max-batch-requests N (pool.get requests per message; 1 = unbatched)
//
// Data: 100 k keys of 16 B, values of 100 B. The writer replaces random existing keys with new
// 100 B values at a fixed rate (default 20 000 writes/s), paced by a 1 ms timer with catch-up,
// in one of two shapes: "lock per put" (every put takes the write lock: OrderedMap.put as is) or
// "lock per apply batch" (the writes owed at each timer turn, ≈ 20, inside one writeBatch, the
// way an apply loop applies a batch of committed entries).
//
// Two read paths are measured, because they answer different questions:
//   - "in-worker loop": each reader worker draws random keys itself and does get after get under
//     the lock, straight from shared memory (ReaderPool.runReadLoop). This isolates the lock and
//     the skip list: it is what the switch changes.
//   - "pool.get": the main thread issues gets through ReaderPool.get (512 outstanding), batched
//     to the workers and back. This is the end-to-end path the KV server would use; the main
//     thread (which also writes) encodes requests and settles promises, so it can be the limit.
// Runs are interleaved across cells (run 1 of every cell, then run 2 …) with the lock order
// alternating, so drifting background load hits both locks alike. Each cell reports the mean ±
// sample standard deviation over its runs, min … max, the write rate achieved, and the p99 / max
// write-lock hold (from asking for the lock to releasing it: one put, or one batch).
// Prints Markdown; writes results/micro-kv-threads-<timestamp>.json.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { createPrng, type Prng } from '../../random/prng.js';
import { LOCK_KINDS, type LockKind } from '../../kv/shared/lock.js';
import { ReaderPool } from '../../kv/shared/reader-pool.js';
import { SharedSkipList } from '../../kv/shared/shared-skip-list.js';
import { Command, integerListOption, integerOption, parseOptions, runMain } from '../../cli/options.js';

const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const POOL_GET_OUTSTANDING = 512;

interface Settings {
  readonly quick: boolean;
  readonly runs: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly writeRatePerSecond: number;
  readonly threads: readonly number[];
  readonly keyCount: number;
  /** ReaderPool batchRequestsMax: 1 sends every pool.get in its own message. */
  readonly batchRequestsMax: number;
}

type ReadPath = 'in-worker loop' | 'pool.get';
type WriteLocking = 'lock per put' | 'lock per apply batch';

interface Scenario {
  readonly reads: ReadPath;
  readonly writes: WriteLocking;
}

const SCENARIOS: readonly Scenario[] = [
  { reads: 'in-worker loop', writes: 'lock per put' },
  { reads: 'in-worker loop', writes: 'lock per apply batch' },
  { reads: 'pool.get', writes: 'lock per apply batch' },
];

function scenarioName(scenario: Scenario): string {
  return `${scenario.reads}, ${scenario.writes}`;
}

interface RunResult {
  readonly readsPerSecond: number;
  readonly writesPerSecond: number;
  /** Per write-lock hold (one put, or one apply batch): waiting for the lock plus the writes. */
  readonly writeHoldUsP50: number;
  readonly writeHoldUsP99: number;
  readonly writeHoldUsMax: number;
}

interface Summary {
  readonly mean: number;
  readonly standardDeviation: number;
  readonly min: number;
  readonly max: number;
}

interface Cell {
  readonly lock: LockKind;
  readonly readers: number;
  readonly scenario: Scenario;
  readonly runs: readonly RunResult[];
  readonly readsPerSecond: Summary;
  readonly writesPerSecond: Summary;
  readonly writeHoldUsP99: Summary;
  readonly writeHoldUsMax: Summary;
}

interface KvThreadsOptions {
  quick?: boolean;
  runs?: number;
  durationMs?: number;
  writeRate: number;
  threads: number[];
  keys: number;
  batchRequestsMax: number;
}

/** The settings, or the exit code when --help was asked for (0) or the options were wrong (2). */
function parseSettings(argv: readonly string[]): Settings | number {
  const program = new Command('npm run bench:micro:kv-threads --')
    .description(
      'Shared-memory skip list: total gets/s with N reader worker threads while the main thread writes at a steady rate, ' +
        'kv.lock mutex vs rwlock, lock per put and per apply batch, in-worker loops and end-to-end pool.get. ' +
        'Prints Markdown and writes raw JSON to results/.',
    )
    .option('--quick', 'one short run per cell (about 15 s)')
    .option('--runs <n>', 'runs per cell (default: 3, or 1 with --quick)', integerOption('--runs', 1, 100))
    .option('--duration-ms <n>', 'measured time per run (default: 1500, or 400 with --quick)', integerOption('--duration-ms', 1, 600_000))
    .option('--write-rate <n>', 'writes per second on the main thread (0: readers only)', integerOption('--write-rate', 0, 10_000_000), 20_000)
    .option('--threads <list>', 'reader thread counts to measure, comma-separated', integerListOption('--threads', 1, 64), [1, 2, 4])
    .option('--keys <n>', 'keys in the map', integerOption('--keys', 1, 10_000_000), 100_000)
    .option('--max-batch-requests <n>', 'requests per message to a reader worker', integerOption('--max-batch-requests', 1, 65_536), 256);
  const parsed = parseOptions<KvThreadsOptions>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const options = parsed.options;
  const quick = options.quick === true;
  return {
    quick,
    runs: options.runs ?? (quick ? 1 : 3),
    durationMs: options.durationMs ?? (quick ? 400 : 1500),
    warmupMs: quick ? 100 : 300,
    writeRatePerSecond: options.writeRate,
    threads: options.threads,
    keyCount: options.keys,
    batchRequestsMax: options.batchRequestsMax,
  };
}

function keyOf(index: number): Uint8Array {
  // "key:" + 12 decimal digits = 16 bytes; decimal with zero padding sorts like the index.
  return new Uint8Array(Buffer.from(`key:${String(index).padStart(12, '0')}`, 'latin1'));
}

function randomValue(prng: Prng): Uint8Array {
  const value = new Uint8Array(VALUE_BYTES);
  for (let i = 0; i < VALUE_BYTES; i += 4) {
    const word = prng.nextUint32();
    for (let j = 0; j < 4 && i + j < VALUE_BYTES; j++) value[i + j] = (word >>> (8 * j)) & 0xff;
  }
  return value;
}

/** A paced stream of puts on the main thread: a 1 ms timer, catching up on what is owed. */
class WriteStream {
  private writes = 0;
  private running = false;
  private startMs = 0;
  private stopMs = 0;
  private latenciesUs: Float64Array;
  private latencyCount = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly perTickMax: number;

  constructor(
    private readonly map: SharedSkipList,
    private readonly keys: readonly Uint8Array[],
    private readonly values: readonly Uint8Array[],
    private readonly prng: Prng,
    private readonly ratePerSecond: number,
    private readonly locking: WriteLocking,
    private version: number,
    durationMsMax: number,
  ) {
    // Room for every put of the run (bounded: rate × duration, at most 4 M samples).
    this.latenciesUs = new Float64Array(Math.min(4_000_000, Math.ceil((ratePerSecond * durationMsMax) / 1000) + 1024));
    // Catch up at most 20 ms of writes per tick, so a stall is not followed by a burst.
    this.perTickMax = Math.max(1, Math.ceil(ratePerSecond / 50));
  }

  start(): void {
    this.running = this.ratePerSecond > 0;
    this.writes = 0;
    this.latencyCount = 0;
    this.startMs = performance.now();
    this.tick();
  }

  stop(): { writesPerSecond: number; p50: number; p99: number; max: number; lastVersion: number } {
    this.running = false;
    this.stopMs = performance.now();
    if (this.timer !== null) clearTimeout(this.timer);
    const latencies = this.latenciesUs.subarray(0, this.latencyCount).sort();
    const at = (q: number): number => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!);
    return {
      writesPerSecond: (this.writes * 1000) / (this.stopMs - this.startMs),
      p50: at(0.5),
      p99: at(0.99),
      max: latencies.length === 0 ? 0 : latencies[latencies.length - 1]!,
      lastVersion: this.version,
    };
  }

  private tick(): void {
    if (!this.running) return;
    const owed = Math.floor(((performance.now() - this.startMs) * this.ratePerSecond) / 1000) - this.writes;
    const now = Math.min(owed, this.perTickMax);
    if (now > 0) {
      if (this.locking === 'lock per put') {
        for (let i = 0; i < now; i++) this.timed(() => this.putOne());
      } else {
        // The apply path's shape: everything committed since the last turn, in one critical section.
        this.timed(() => this.map.writeBatch(() => {
          for (let i = 0; i < now; i++) this.putOne();
        }));
      }
    }
    this.timer = setTimeout(() => this.tick(), 1);
  }

  private putOne(): void {
    const keyIndex = this.prng.nextInt(0, this.keys.length);
    const value = this.values[this.prng.nextInt(0, this.values.length)]!;
    this.map.put(this.keys[keyIndex]!, value, ++this.version);
    this.writes++;
  }

  private timed(body: () => void): void {
    const before = performance.now();
    body();
    const tookUs = (performance.now() - before) * 1000;
    if (this.latencyCount < this.latenciesUs.length) this.latenciesUs[this.latencyCount++] = tookUs;
  }
}

async function poolGetLoad(pool: ReaderPool, keys: readonly Uint8Array[], prng: Prng, durationMs: number): Promise<number> {
  const deadline = performance.now() + durationMs;
  let completed = 0;
  const client = async (): Promise<void> => {
    // Bounded by the deadline.
    while (performance.now() < deadline) {
      await pool.get(keys[prng.nextInt(0, keys.length)]!);
      completed++;
    }
  };
  const startMs = performance.now();
  await Promise.all(Array.from({ length: POOL_GET_OUTSTANDING }, client));
  return (completed * 1000) / (performance.now() - startMs);
}

function summarise(values: readonly number[]): Summary {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, standardDeviation: Math.sqrt(variance), min: Math.min(...values), max: Math.max(...values) };
}

function formatRate(value: number): string {
  return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M` : `${(value / 1e3).toFixed(1)} k`;
}

function formatSummary(summary: Summary, format: (v: number) => string): string {
  return `${format(summary.mean)} ± ${format(summary.standardDeviation)} (${format(summary.min)} … ${format(summary.max)})`;
}

function gitSha(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const settings = parseSettings(process.argv.slice(2));
  if (typeof settings === 'number') return settings;
  const prng = createPrng(20260);
  const keys = Array.from({ length: settings.keyCount }, (_, i) => keyOf(i));
  const values = Array.from({ length: 64 }, () => randomValue(prng));
  const environment = {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    logicalCores: cpus().length,
    totalMemoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    gitSha: gitSha(),
    loadAverageAtStart: loadavg(),
  };
  const cells: Cell[] = [];
  const started = performance.now();
  console.log(
    `# kv-threads: shared skip list, ${settings.keyCount.toLocaleString('en')} keys × ${KEY_BYTES} B keys / ${VALUE_BYTES} B values, ` +
      `writer at ${settings.writeRatePerSecond.toLocaleString('en')} writes/s, ${settings.runs} run(s) × ${settings.durationMs} ms per cell\n`,
  );
  console.log(`Machine: ${environment.cpuModel}, ${environment.logicalCores} logical cores, Node ${environment.node}, load average at start ${environment.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}\n`);

  // One map per lock, built once; each kept at its own version counter.
  const maps = new Map<LockKind, { map: SharedSkipList; version: number }>();
  for (const lock of LOCK_KINDS) {
    const buildStart = performance.now();
    const map = SharedSkipList.create({ lock, prng: createPrng(1), segmentSizeBytes: 16 * 1024 * 1024, segmentsMax: 64 });
    for (let i = 0; i < keys.length; i++) map.put(keys[i]!, values[i % values.length]!, i + 1);
    const stats = map.arenaStats();
    console.log(`Built ${lock} map in ${(performance.now() - buildStart).toFixed(0)} ms: ${stats.segmentCount} segment(s), ${(stats.liveBytes / keys.length).toFixed(1)} arena bytes per key.`);
    maps.set(lock, { map, version: keys.length });
  }

  // Runs are interleaved — run r of every cell, then run r + 1 — and the lock order alternates
  // per run, so a change in background load (this machine is shared) hits both locks alike
  // instead of whichever cell happened to run during it.
  const runsByCell = new Map<string, RunResult[]>();
  const cellKey = (lock: LockKind, readers: number, scenario: Scenario): string => `${lock}/${readers}/${scenarioName(scenario)}`;
  for (let run = -1; run < settings.runs; run++) {
    const warmUp = run < 0;
    const durationMs = warmUp ? settings.warmupMs : settings.durationMs;
    const lockOrder = run % 2 === 0 ? LOCK_KINDS : [...LOCK_KINDS].reverse();
    for (const readers of settings.threads) {
      for (const lock of lockOrder) {
        const entry = maps.get(lock)!;
        const pool = await ReaderPool.create({ map: entry.map, threads: readers, batchRequestsMax: settings.batchRequestsMax });
        try {
          for (const scenario of SCENARIOS) {
            const stream = new WriteStream(entry.map, keys, values, prng.fork(), settings.writeRatePerSecond, scenario.writes, entry.version, durationMs * 2 + 1000);
            stream.start();
            let readsPerSecond: number;
            if (scenario.reads === 'in-worker loop') {
              readsPerSecond = (await pool.runReadLoop({ keys, durationMs, seed: prng.nextUint32() })).getsPerSecond;
            } else {
              readsPerSecond = await poolGetLoad(pool, keys, prng.fork(), durationMs);
            }
            const written = stream.stop();
            entry.version = written.lastVersion;
            if (!warmUp) {
              const key = cellKey(lock, readers, scenario);
              const runs = runsByCell.get(key) ?? [];
              runs.push({ readsPerSecond, writesPerSecond: written.writesPerSecond, writeHoldUsP50: written.p50, writeHoldUsP99: written.p99, writeHoldUsMax: written.max });
              runsByCell.set(key, runs);
            }
            await delay(20);
          }
        } finally {
          await pool.close();
        }
      }
    }
    if (!warmUp) console.log(`  run ${run + 1} of ${settings.runs} done (load average ${loadavg()[0]!.toFixed(2)})`);
  }
  for (const lock of LOCK_KINDS) {
    for (const readers of settings.threads) {
      for (const scenario of SCENARIOS) {
        const runs = runsByCell.get(cellKey(lock, readers, scenario)) ?? [];
        cells.push({
          lock,
          readers,
          scenario,
          runs,
          readsPerSecond: summarise(runs.map((r) => r.readsPerSecond)),
          writesPerSecond: summarise(runs.map((r) => r.writesPerSecond)),
          writeHoldUsP99: summarise(runs.map((r) => r.writeHoldUsP99)),
          writeHoldUsMax: summarise(runs.map((r) => r.writeHoldUsMax)),
        });
      }
    }
  }

  const fmtUs = (v: number): string => v.toFixed(1);
  for (const scenario of SCENARIOS) {
    console.log(`\n## Reads: ${scenario.reads}; writes: ${scenario.writes} (gets/s across all readers, mean ± sd (min … max) over ${settings.runs} run(s))\n`);
    console.log('| readers | mutex gets/s | rwlock gets/s | rwlock ÷ mutex | writes/s achieved mutex / rwlock | write-lock hold p99 µs mutex / rwlock | hold max µs mutex / rwlock |');
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const readers of settings.threads) {
      const find = (lock: LockKind): Cell => cells.find((c) => c.lock === lock && c.readers === readers && c.scenario === scenario)!;
      const mutex = find('mutex');
      const rwlock = find('rwlock');
      console.log(
        `| ${readers} | ${formatSummary(mutex.readsPerSecond, formatRate)} | ${formatSummary(rwlock.readsPerSecond, formatRate)} | ` +
          `${(rwlock.readsPerSecond.mean / mutex.readsPerSecond.mean).toFixed(2)} × | ` +
          `${formatRate(mutex.writesPerSecond.mean)} / ${formatRate(rwlock.writesPerSecond.mean)} | ` +
          `${fmtUs(mutex.writeHoldUsP99.mean)} / ${fmtUs(rwlock.writeHoldUsP99.mean)} | ${fmtUs(mutex.writeHoldUsMax.mean)} / ${fmtUs(rwlock.writeHoldUsMax.mean)} |`,
      );
    }
  }
  const elapsedS = (performance.now() - started) / 1000;
  console.log(
    `\nWrite target ${settings.writeRatePerSecond.toLocaleString('en')} writes/s of random existing keys, paced by a 1 ms timer; "lock per put" takes the write lock for every put, ` +
      `"lock per apply batch" once per timer turn around all the writes owed (≈ rate / 1000), as the apply path applies a batch of committed entries. ` +
      `Write-lock hold = time from asking for the lock to releasing it (one put, or one batch). ` +
      `${environment.logicalCores} logical cores: with more readers than free cores, readers time-share cores, so totals reflect the OS scheduler as much as the lock. ` +
      `Load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}. Took ${elapsedS.toFixed(0)} s.`,
  );

  const directory = 'results';
  mkdirSync(directory, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const path = join(directory, `micro-kv-threads-${stamp}.json`);
  writeFileSync(
    path,
    JSON.stringify(
      {
        schema: 'raftbench.micro-kv-threads/1',
        createdAt: new Date().toISOString(),
        environment: { ...environment, loadAverageAtEnd: loadavg() },
        settings: { ...settings, keyBytes: KEY_BYTES, valueBytes: VALUE_BYTES, poolGetOutstanding: POOL_GET_OUTSTANDING },
        cells,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nWrote ${path}`);
  return 0;
}

runMain('bench:micro:kv-threads', main);

// Micro-benchmarks of the KV layer, single-threaded: the heap skip list's get / put / scan at
// several map sizes (16 B keys, 100 B values), its memory per key, the byte comparison it uses,
// and the state machine's apply throughput on a put-heavy log.
//
//   npm run bench:micro:kv               (default: 10 k, 100 k, 1 M keys; under ~2 minutes)
//   npm run bench:micro:kv -- --quick    (10 k and 100 k keys, shorter timings)
//
// Each tinybench iteration runs a batch of operations (timing one sub-microsecond call would
// measure the clock), so ops/s = batch size / mean iteration time. Memory per key needs
// --expose-gc (the npm script passes it); without it the figure is reported as unavailable.
// Prints Markdown tables and writes results/micro-kv-<timestamp>.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Bench, type Statistics } from 'tinybench';
import { createPrng, type Prng } from '../../random/prng.js';
import { SkipList, compareBytes } from '../../kv/skiplist.js';
import { KvStateMachine } from '../../kv/state-machine.js';
import { encodeRequest } from '../../kv/commands.js';
import type { Entry } from '../../raft/types.js';
import { Command, parseOptions, runMain } from '../../cli/options.js';

const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const BATCH_OPS = 1000;
const SCAN_LENGTH = 100;

interface Settings {
  readonly quick: boolean;
  readonly sizes: readonly number[];
  readonly taskTimeMs: number;
  readonly warmupTimeMs: number;
  readonly applyLogEntries: number;
  readonly applyRepeats: number;
}

interface TaskRow {
  readonly group: string;
  readonly task: string;
  readonly opsPerSecondMean: number;
  readonly opsPerSecondMin: number;
  readonly opsPerSecondMax: number;
  /** Relative margin of error of the mean iteration time, percent (95 %). */
  readonly rmePercent: number;
  readonly samples: number;
  readonly opsPerSample: number;
}

interface MemoryRow {
  readonly keys: number;
  readonly heapBytesPerKey: number | null;
  readonly arrayBufferBytesPerKey: number | null;
  readonly buildSeconds: number;
  readonly insertOpsPerSecond: number;
}

/** The settings, or the exit code when --help was asked for (0) or the options were wrong (2). */
function parseSettings(argv: readonly string[]): Settings | number {
  const program = new Command('npm run bench:micro:kv --')
    .description(
      'KV micro-benchmarks (single-threaded skip list): get / put / delete+put / scan ops/s at 10 k, 100 k and 1 M keys ' +
        '(16 B keys, 100 B values), memory per key, key comparison, and the state machine\'s apply rate on a put-heavy log. ' +
        'Prints Markdown and writes raw JSON to results/. Memory figures need node --expose-gc (the npm script passes it).',
    )
    .option('--quick', '10 k and 100 k keys only, shorter runs (about 10 s)');
  const parsed = parseOptions<{ quick?: boolean }>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const quick = parsed.options.quick === true;
  return quick
    ? { quick, sizes: [10_000, 100_000], taskTimeMs: 200, warmupTimeMs: 50, applyLogEntries: 50_000, applyRepeats: 3 }
    : { quick, sizes: [10_000, 100_000, 1_000_000], taskTimeMs: 700, warmupTimeMs: 150, applyLogEntries: 200_000, applyRepeats: 5 };
}

function randomBytes(prng: Prng, length: number): Uint8Array {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i += 4) {
    const word = prng.nextUint32();
    for (let j = 0; j < 4 && i + j < length; j++) bytes[i + j] = (word >>> (8 * j)) & 0xff;
  }
  return bytes;
}

function gcIfExposed(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  gc();
  gc();
  return true;
}

function rowFromStats(group: string, task: string, latency: Statistics, opsPerSample: number): TaskRow {
  // latency is in milliseconds per iteration (one batch).
  return {
    group,
    task,
    opsPerSecondMean: (opsPerSample * 1000) / latency.mean,
    opsPerSecondMin: (opsPerSample * 1000) / latency.max,
    opsPerSecondMax: (opsPerSample * 1000) / Math.max(latency.min, 1e-9),
    rmePercent: latency.rme,
    samples: latency.samplesCount,
    opsPerSample,
  };
}

async function runBench(settings: Settings, group: string, tasks: [string, () => void, number][]): Promise<TaskRow[]> {
  const bench = new Bench({ time: settings.taskTimeMs, warmupTime: settings.warmupTimeMs, throws: true });
  for (const [name, fn] of tasks) bench.add(name, fn);
  await bench.run();
  return bench.tasks.map((task, i) => {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`task ${group} / ${task.name} ended in state ${result.state}`);
    return rowFromStats(group, task.name, result.latency, tasks[i]![2]);
  });
}

/** Builds a map of `count` random 16-byte keys; returns it with the keys in insertion order. */
function buildMap(count: number, seed: number): { map: SkipList; keys: Uint8Array[]; memory: MemoryRow } {
  const prng = createPrng(seed);
  const keys = Array.from({ length: count }, () => randomBytes(prng, KEY_BYTES));
  const value = randomBytes(prng, VALUE_BYTES);
  const measured = gcIfExposed();
  const before = process.memoryUsage();
  const map = new SkipList(createPrng(seed + 1));
  const started = performance.now();
  for (let i = 0; i < count; i++) map.put(keys[i]!, value, i + 1);
  const buildSeconds = (performance.now() - started) / 1000;
  gcIfExposed();
  const after = process.memoryUsage();
  return {
    map,
    keys,
    memory: {
      keys: count,
      heapBytesPerKey: measured ? (after.heapUsed - before.heapUsed) / count : null,
      arrayBufferBytesPerKey: measured ? (after.arrayBuffers - before.arrayBuffers) / count : null,
      buildSeconds,
      insertOpsPerSecond: count / buildSeconds,
    },
  };
}

async function benchMap(settings: Settings, count: number): Promise<{ rows: TaskRow[]; memory: MemoryRow }> {
  const { map, keys, memory } = buildMap(count, count);
  const prng = createPrng(7);
  // Random access order, fixed up front so the loop measures the map, not the generator.
  const order = Uint32Array.from({ length: 1 << 16 }, () => prng.nextInt(0, count));
  const missKeys = Array.from({ length: 1024 }, () => randomBytes(prng, KEY_BYTES));
  const newValue = randomBytes(prng, VALUE_BYTES);
  let cursor = 0;
  let version = count + 1;
  let sink = 0;
  const group = `${count.toLocaleString('en-US')} keys`;
  const rows = await runBench(settings, group, [
    [
      'get (hit)',
      () => {
        for (let i = 0; i < BATCH_OPS; i++) sink += map.get(keys[order[cursor++ & 0xffff]!]!)!.version;
      },
      BATCH_OPS,
    ],
    [
      'get (miss)',
      () => {
        for (let i = 0; i < BATCH_OPS; i++) if (map.get(missKeys[cursor++ & 1023]!) === undefined) sink++;
      },
      BATCH_OPS,
    ],
    [
      'put (replace existing)',
      () => {
        for (let i = 0; i < BATCH_OPS; i++) map.put(keys[order[cursor++ & 0xffff]!]!, newValue, version++);
      },
      BATCH_OPS,
    ],
    [
      'delete + put (remove and re-insert)',
      () => {
        for (let i = 0; i < BATCH_OPS / 2; i++) {
          const key = keys[order[cursor++ & 0xffff]!]!;
          map.delete(key);
          map.put(key, newValue, version++);
        }
      },
      BATCH_OPS,
    ],
    [
      `scan (${SCAN_LENGTH} keys from a random start)`,
      () => {
        for (let i = 0; i < 10; i++) sink += map.scan(keys[order[cursor++ & 0xffff]!]!, null, SCAN_LENGTH).length;
      },
      10,
    ],
  ]);
  if (sink === 0.5) console.log('unreachable'); // keeps `sink` observable so the loops are not optimised away
  return { rows, memory };
}

async function benchCompare(settings: Settings): Promise<TaskRow[]> {
  const prng = createPrng(3);
  const random = Array.from({ length: 1024 }, () => randomBytes(prng, KEY_BYTES));
  // Keys sharing a 12-byte prefix, as neighbouring keys deep in a skip list search do.
  const prefix = randomBytes(prng, 12);
  const prefixed = Array.from({ length: 1024 }, () => Buffer.concat([prefix, randomBytes(prng, 4)]));
  let sink = 0;
  const pairs = (keys: Uint8Array[], compare: (a: Uint8Array, b: Uint8Array) => number) => () => {
    for (let i = 0; i < BATCH_OPS; i++) sink += compare(keys[i & 1023]!, keys[(i * 7 + 1) & 1023]!);
  };
  const rows = await runBench(settings, 'compare 16-byte keys', [
    ['hand loop, random keys', pairs(random, compareBytes), BATCH_OPS],
    ['Buffer.compare, random keys', pairs(random, Buffer.compare), BATCH_OPS],
    ['hand loop, 12-byte common prefix', pairs(prefixed, compareBytes), BATCH_OPS],
    ['Buffer.compare, 12-byte common prefix', pairs(prefixed, Buffer.compare), BATCH_OPS],
  ]);
  if (sink === 0.5) console.log('unreachable');
  return rows;
}

/**
 * A put-heavy log: 90 % puts, 5 % gets, 5 % cas, over 100 k keys, from 1 000 sessions registered
 * at the start of the log, each keeping up to APPLY_INFLIGHT_MAX requests unacknowledged (so every
 * session remembers that many responses and forgets one per request, as under an open-loop load
 * driver). Applied from scratch `applyRepeats` times; each run is one sample.
 */
const APPLY_SESSIONS = 1000;
const APPLY_INFLIGHT_MAX = 64;
function benchApply(settings: Settings): TaskRow {
  const prng = createPrng(11);
  const keySpace = Array.from({ length: 100_000 }, () => randomBytes(prng, KEY_BYTES));
  const value = randomBytes(prng, VALUE_BYTES);
  const sequences = new Array<number>(APPLY_SESSIONS).fill(0);
  const log: Entry[] = [];
  // Session i is registered by entry i + 1, so that is its id.
  for (let index = 1; index <= APPLY_SESSIONS; index++) log.push({ term: 1, index, data: encodeRequest({ type: 'register-session' }) });
  for (let index = APPLY_SESSIONS + 1; index <= APPLY_SESSIONS + settings.applyLogEntries; index++) {
    const session = prng.nextInt(0, APPLY_SESSIONS);
    const sequence = (sequences[session]! += 1);
    const key = keySpace[prng.nextInt(0, keySpace.length)]!;
    const pick = prng.nextInt(0, 100);
    const command =
      pick < 90
        ? ({ type: 'put', key, value } as const)
        : pick < 95
          ? ({ type: 'get', key } as const)
          : ({ type: 'cas', key, value, expectedVersion: 0 } as const);
    const lowestUnacknowledged = Math.max(1, sequence - APPLY_INFLIGHT_MAX + 1);
    log.push({ term: 1, index, data: encodeRequest({ type: 'command', sessionId: session + 1, sequence, lowestUnacknowledged, command }) });
  }
  const secondsPerRun: number[] = [];
  for (let run = 0; run < settings.applyRepeats + 1; run++) {
    const machine = new KvStateMachine(new SkipList(createPrng(run)));
    gcIfExposed();
    const started = performance.now();
    for (const entry of log) machine.apply(entry);
    const seconds = (performance.now() - started) / 1000;
    if (run > 0) secondsPerRun.push(seconds); // run 0 warms the JIT up
  }
  const rates = secondsPerRun.map((s) => log.length / s);
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const sd = Math.sqrt(rates.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, rates.length - 1));
  return {
    group: 'state machine',
    task: `apply, put-heavy log (${settings.applyLogEntries.toLocaleString('en-US')} entries, ${APPLY_SESSIONS.toLocaleString('en-US')} sessions × ${APPLY_INFLIGHT_MAX} unacknowledged, 100 k keys)`,
    opsPerSecondMean: mean,
    opsPerSecondMin: Math.min(...rates),
    opsPerSecondMax: Math.max(...rates),
    // 95 % margin of the mean rate relative to it (normal approximation; few samples, so indicative).
    rmePercent: ((1.96 * sd) / Math.sqrt(rates.length) / mean) * 100,
    samples: rates.length,
    opsPerSample: log.length,
  };
}

function formatRate(opsPerSecond: number): string {
  if (opsPerSecond >= 1e6) return `${(opsPerSecond / 1e6).toFixed(2)} M`;
  if (opsPerSecond >= 1e3) return `${(opsPerSecond / 1e3).toFixed(1)} k`;
  return opsPerSecond.toFixed(0);
}

function taskTable(rows: readonly TaskRow[]): string {
  const lines = ['| group | task | ops/s (mean) | ± rme | min … max ops/s | samples × ops |', '| --- | --- | ---: | ---: | --- | ---: |'];
  for (const row of rows) {
    lines.push(
      `| ${row.group} | ${row.task} | ${formatRate(row.opsPerSecondMean)} | ${row.rmePercent.toFixed(1)} % | ${formatRate(row.opsPerSecondMin)} … ${formatRate(row.opsPerSecondMax)} | ${row.samples} × ${row.opsPerSample} |`,
    );
  }
  return lines.join('\n');
}

function memoryTable(rows: readonly MemoryRow[]): string {
  const lines = ['| keys | heap B/key | ArrayBuffer B/key | build (s) | insert ops/s (one build) |', '| ---: | ---: | ---: | ---: | ---: |'];
  for (const row of rows) {
    const bytes = (value: number | null): string => (value === null ? 'n/a (no --expose-gc)' : value.toFixed(0));
    lines.push(`| ${row.keys.toLocaleString('en-US')} | ${bytes(row.heapBytesPerKey)} | ${bytes(row.arrayBufferBytesPerKey)} | ${row.buildSeconds.toFixed(2)} | ${formatRate(row.insertOpsPerSecond)} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const settings = parseSettings(process.argv.slice(2));
  if (typeof settings === 'number') return settings;
  const cpuList = cpus();
  const machine = {
    cpuModel: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    totalMemoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    gcExposed: gcIfExposed(),
  };
  const startedAt = new Date();
  console.log(`# KV micro-benchmarks${settings.quick ? ' (--quick)' : ''}\n`);
  console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.platform}; key ${KEY_BYTES} B, value ${VALUE_BYTES} B\n`);

  const rows: TaskRow[] = [];
  const memory: MemoryRow[] = [];
  for (const count of settings.sizes) {
    const result = await benchMap(settings, count);
    rows.push(...result.rows);
    memory.push(result.memory);
    gcIfExposed();
  }
  rows.push(...(await benchCompare(settings)));
  rows.push(benchApply(settings));

  console.log('## Throughput\n');
  console.log(taskTable(rows));
  console.log('\n## Memory and build\n');
  console.log(memoryTable(memory));
  console.log('\nrme: 95 % relative margin of error of the mean; min … max from the fastest and slowest sample.');

  const directory = 'results';
  mkdirSync(directory, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const path = join(directory, `micro-kv-${stamp}.json`);
  const document = {
    schema: 'raftbench.micro-kv/1',
    startedAt: startedAt.toISOString(),
    durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
    machine,
    settings: { ...settings, keyBytes: KEY_BYTES, valueBytes: VALUE_BYTES, batchOps: BATCH_OPS },
    tasks: rows,
    memory,
  };
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`\nwrote ${path}`);
  return 0;
}

runMain('bench:micro:kv', main);

// Micro-benchmarks of the storage layer:
//   1. raw fdatasync latency on this machine's temporary directory (the floor under 'always');
//   2. WAL appends/s and syncs per append for fsync always / batched / none, with 1, 16 and 64
//      concurrent appenders, 256 B and 4 KiB entries (each append = one entry + a hard state, as
//      a Ready usually carries);
//   3. codec throughput (MB/s compress and decompress, tinybench) and ratio for lz4 and zstd
//      levels 1/3/9 on random, text-like and JSON-like values (src/bench/micro/values.ts);
//   4. entry-vs-batch compression for the log: each entry compressed alone vs one batch record.
//
//   npm run bench:micro:storage               (default: under ~2 minutes)
//   npm run bench:micro:storage -- --quick    (shorter runs, fewer repeats)
//   ... -- --dir /some/disk                   (where the WAL files go; default os.tmpdir())
//
// Prints Markdown tables with the machine, run counts and spread; writes the raw figures to
// results/micro-storage-<timestamp>.json. Appends/s comes from timed runs repeated `repeats`
// times (mean ± sample standard deviation over the runs); codec figures from tinybench (mean ±
// relative margin of error at 95 %). Ratios are exact (deterministic data, seed 42).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'hdr-histogram-js';
import { Bench } from 'tinybench';
import { createPrng } from '../../random/prng.js';
import type { Entry, HardState } from '../../raft/types.js';
import { createCodec, decompressWith, parseCodecName, type Codec } from '../../storage/codec.js';
import type { FsyncPolicy } from '../../storage/options.js';
import { encodeEntries } from '../../storage/record.js';
import { Storage } from '../../storage/storage.js';
import { VALUE_KINDS, generateValue, generateValues, type ValueKind } from './values.js';
import { Command, parseOptions, runMain } from '../../cli/options.js';

const SEED = 42;
const POLICIES: readonly FsyncPolicy[] = ['always', 'batched', 'none'];
const APPENDERS: readonly number[] = [1, 16, 64];
const ENTRY_SIZES_BYTES: readonly number[] = [256, 4096];
const CODEC_NAMES: readonly string[] = ['lz4', 'zstd:1', 'zstd:3', 'zstd:9'];
const CODEC_BLOCK_BYTES = 64 * 1024;
const BATCH_ENTRY_BYTES = 256;
const BATCH_SIZES: readonly number[] = [16, 64];
const BATCH_CODECS: readonly string[] = ['lz4', 'zstd:3'];

interface Settings {
  readonly quick: boolean;
  readonly dir: string;
  readonly appendRunMs: number;
  readonly appendRepeats: number;
  readonly taskTimeMs: number;
  readonly warmupTimeMs: number;
  readonly fsyncSamples: number;
}

/** The settings, or the exit code when --help was asked for (0) or the options were wrong (2). */
function parseSettings(argv: readonly string[]): Settings | number {
  const program = new Command('npm run bench:micro:storage --')
    .description(
      'Storage micro-benchmarks: fdatasync latency; WAL appends/s and syncs per append for fsync always / batched / none (UNSAFE) ' +
        'with 1, 16 and 64 concurrent appenders and 256 B / 4 KiB records; codec ratio and MB/s (lz4, zstd 1/3/9) on random, ' +
        'text-like and JSON-like values; entry vs batch compression for the log. Prints Markdown and writes raw JSON to results/.',
    )
    .option('--quick', 'shorter runs (about 20 s instead of about 80 s)')
    .option('--dir <path>', 'the directory to create WAL files in (the disk under test)', tmpdir());
  const parsed = parseOptions<{ quick?: boolean; dir: string }>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const quick = parsed.options.quick === true;
  const dir = parsed.options.dir;
  return quick
    ? { quick, dir, appendRunMs: 300, appendRepeats: 2, taskTimeMs: 100, warmupTimeMs: 20, fsyncSamples: 100 }
    : { quick, dir, appendRunMs: 1000, appendRepeats: 3, taskTimeMs: 300, warmupTimeMs: 50, fsyncSamples: 400 };
}

function meanAndStdev(values: readonly number[]): { mean: number; stdev: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  if (values.length < 2) return { mean, stdev: 0 };
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, stdev: Math.sqrt(variance) };
}

function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function filesystemOf(path: string): string {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' '));
    let best: { mountPoint: string; type: string } = { mountPoint: '', type: 'unknown' };
    for (const [, mountPoint, type] of mounts) {
      if (mountPoint === undefined || type === undefined) continue;
      if (path.startsWith(mountPoint) && mountPoint.length > best.mountPoint.length) best = { mountPoint, type };
    }
    return `${best.type} (mounted at ${best.mountPoint})`;
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// 1. fdatasync latency
// ---------------------------------------------------------------------------------------------

interface FsyncResult {
  readonly samples: number;
  /** Bytes appended to the file before each fdatasync. */
  readonly writeBytes: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

/**
 * fdatasync after appending `writeBytes` to a file, `samples` times. The sizes bracket one small
 * append (336 B: a 256 B entry plus framing and a hard state) up to a 64-append group commit of
 * 4 KiB entries (~270 KiB), because the cost of a sync grows with the bytes it must flush.
 */
async function measureFdatasync(settings: Settings, writeBytes: number, samples: number): Promise<FsyncResult> {
  const dir = await mkdtemp(join(settings.dir, 'raftbench-fsync-'));
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  try {
    const handle = await open(join(dir, 'probe'), 'w');
    const block = new Uint8Array(writeBytes).fill(7);
    for (let i = 0; i < samples; i++) {
      await handle.write(block, 0, writeBytes, i * writeBytes);
      const start = performance.now();
      await handle.datasync();
      histogram.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)));
    }
    await handle.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return {
    samples,
    writeBytes,
    meanUs: histogram.mean,
    p50Us: histogram.getValueAtPercentile(50),
    p99Us: histogram.getValueAtPercentile(99),
    maxUs: histogram.maxValue,
  };
}

const FSYNC_WRITE_SIZES_BYTES: readonly number[] = [336, 4096, 21_504, 270_336];

// ---------------------------------------------------------------------------------------------
// 2. WAL appends
// ---------------------------------------------------------------------------------------------

interface AppendRow {
  readonly policy: FsyncPolicy;
  readonly appenders: number;
  readonly entryBytes: number;
  readonly runs: number;
  readonly runMs: number;
  readonly appendsPerSecond: readonly number[];
  readonly appendsPerSecondMean: number;
  readonly appendsPerSecondStdev: number;
  readonly syncsPerAppend: number;
  readonly syncP50Us: number;
  readonly syncP99Us: number;
}

async function appendRun(settings: Settings, policy: FsyncPolicy, appenders: number, data: Uint8Array): Promise<{ appendsPerSecond: number; appends: number; syncs: number; syncP50Us: number; syncP99Us: number }> {
  const dir = await mkdtemp(join(settings.dir, 'raftbench-wal-'));
  try {
    const { storage } = await Storage.open(dir, { fsync: policy, allowUnsafe: policy === 'none', onWarning: () => undefined });
    let nextIndex = 1;
    let stop = false;
    let completed = 0;
    const appender = async (): Promise<void> => {
      while (!stop) {
        const index = nextIndex++;
        const entries: Entry[] = [{ index, term: 1, data }];
        const hardState: HardState = { term: 1, vote: 1, commit: index - 1 };
        await storage.append(entries, hardState);
        completed++;
      }
    };
    const start = performance.now();
    const loops = Array.from({ length: appenders }, () => appender());
    await new Promise((resolve) => setTimeout(resolve, settings.appendRunMs));
    stop = true;
    const elapsedMs = performance.now() - start;
    const completedInWindow = completed;
    await Promise.all(loops);
    const counters = storage.counters();
    await storage.close();
    return {
      appendsPerSecond: completedInWindow / (elapsedMs / 1000),
      appends: counters.appends,
      syncs: counters.syncs,
      syncP50Us: counters.syncLatencyUs.p50,
      syncP99Us: counters.syncLatencyUs.p99,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs every configuration once per round, round after round (not all repeats of one
 * configuration back to back), so that load from other processes drifting over the run falls on
 * all policies alike and the batched/always comparison is made within each round.
 */
async function measureAppends(settings: Settings): Promise<AppendRow[]> {
  const prng = createPrng(SEED);
  const dataBySize = new Map<number, Uint8Array>();
  // Entries are text-like but the log codec is 'none' here: this table measures the fsync policy.
  for (const entryBytes of ENTRY_SIZES_BYTES) dataBySize.set(entryBytes, generateValue('text', prng, entryBytes));
  interface Accumulator {
    readonly policy: FsyncPolicy;
    readonly appenders: number;
    readonly entryBytes: number;
    readonly perRun: number[];
    appends: number;
    syncs: number;
    syncP50Us: number;
    syncP99Us: number;
  }
  const accumulators: Accumulator[] = [];
  for (const entryBytes of ENTRY_SIZES_BYTES) {
    for (const policy of POLICIES) {
      for (const appenders of APPENDERS) accumulators.push({ policy, appenders, entryBytes, perRun: [], appends: 0, syncs: 0, syncP50Us: 0, syncP99Us: 0 });
    }
  }
  for (let round = 0; round < settings.appendRepeats; round++) {
    for (const accumulator of accumulators) {
      const result = await appendRun(settings, accumulator.policy, accumulator.appenders, dataBySize.get(accumulator.entryBytes)!);
      accumulator.perRun.push(result.appendsPerSecond);
      accumulator.appends += result.appends;
      accumulator.syncs += result.syncs;
      accumulator.syncP50Us = Math.max(accumulator.syncP50Us, result.syncP50Us);
      accumulator.syncP99Us = Math.max(accumulator.syncP99Us, result.syncP99Us);
    }
    process.stderr.write(`  appends: round ${round + 1} of ${settings.appendRepeats} done\n`);
  }
  return accumulators.map((accumulator) => {
    const { mean, stdev } = meanAndStdev(accumulator.perRun);
    return {
      policy: accumulator.policy,
      appenders: accumulator.appenders,
      entryBytes: accumulator.entryBytes,
      runs: settings.appendRepeats,
      runMs: settings.appendRunMs,
      appendsPerSecond: accumulator.perRun,
      appendsPerSecondMean: mean,
      appendsPerSecondStdev: stdev,
      syncsPerAppend: accumulator.appends === 0 ? 0 : accumulator.syncs / accumulator.appends,
      syncP50Us: accumulator.syncP50Us,
      syncP99Us: accumulator.syncP99Us,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// 3. Codecs
// ---------------------------------------------------------------------------------------------

interface CodecRow {
  readonly codec: string;
  readonly kind: ValueKind;
  readonly rawBytes: number;
  readonly storedBytes: number;
  readonly ratio: number;
  readonly compressMBps: number;
  readonly compressRmePercent: number;
  readonly compressSamples: number;
  readonly decompressMBps: number;
  readonly decompressRmePercent: number;
  readonly decompressSamples: number;
}

interface TaskFigures {
  readonly meanMs: number;
  readonly rmePercent: number;
  readonly samples: number;
}

async function timeTasks(settings: Settings, tasks: readonly { name: string; run: () => Promise<unknown> }[]): Promise<Map<string, TaskFigures>> {
  const bench = new Bench({ time: settings.taskTimeMs, warmupTime: settings.warmupTimeMs });
  for (const task of tasks) bench.add(task.name, task.run);
  await bench.run();
  const figures = new Map<string, TaskFigures>();
  for (const task of bench.tasks) {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`benchmark task ${task.name} ended in state ${result.state}`);
    figures.set(task.name, { meanMs: result.latency.mean, rmePercent: result.latency.rme, samples: result.latency.samplesCount });
  }
  return figures;
}

function megabytesPerSecond(bytes: number, meanMs: number): number {
  return bytes / (1024 * 1024) / (meanMs / 1000);
}

async function measureCodecs(settings: Settings): Promise<CodecRow[]> {
  const rows: CodecRow[] = [];
  for (const kind of [...VALUE_KINDS, 'text-uniform' as const]) {
    const raw = generateValue(kind, createPrng(SEED), CODEC_BLOCK_BYTES);
    const prepared: { codec: Codec; stored: Uint8Array }[] = [];
    for (const name of CODEC_NAMES) {
      const codec = createCodec(parseCodecName(name));
      prepared.push({ codec, stored: await codec.compress(raw) });
    }
    const figures = await timeTasks(
      settings,
      prepared.flatMap(({ codec, stored }) => [
        { name: `compress ${codec.name}`, run: () => codec.compress(raw) },
        { name: `decompress ${codec.name}`, run: () => decompressWith(codec.id, stored) },
      ]),
    );
    for (const { codec, stored } of prepared) {
      const compress = figures.get(`compress ${codec.name}`)!;
      const decompress = figures.get(`decompress ${codec.name}`)!;
      rows.push({
        codec: codec.name,
        kind,
        rawBytes: raw.byteLength,
        storedBytes: stored.byteLength,
        ratio: raw.byteLength / stored.byteLength,
        compressMBps: megabytesPerSecond(raw.byteLength, compress.meanMs),
        compressRmePercent: compress.rmePercent,
        compressSamples: compress.samples,
        decompressMBps: megabytesPerSecond(raw.byteLength, decompress.meanMs),
        decompressRmePercent: decompress.rmePercent,
        decompressSamples: decompress.samples,
      });
    }
    process.stderr.write(`  codecs: ${kind} done\n`);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// 4. Entry vs batch compression
// ---------------------------------------------------------------------------------------------

interface EntryBatchRow {
  readonly codec: string;
  readonly kind: ValueKind;
  readonly entriesPerAppend: number;
  readonly entryBytes: number;
  readonly rawBytes: number;
  /** Each entry compressed alone; + 4 bytes per entry for its stored length. */
  readonly perEntryStoredBytes: number;
  readonly perEntryRatio: number;
  readonly perEntryMBps: number;
  readonly perEntryRmePercent: number;
  /** The whole append as one record payload (the WAL's choice). */
  readonly batchStoredBytes: number;
  readonly batchRatio: number;
  readonly batchMBps: number;
  readonly batchRmePercent: number;
}

async function measureEntryVsBatch(settings: Settings): Promise<EntryBatchRow[]> {
  const rows: EntryBatchRow[] = [];
  for (const kind of VALUE_KINDS) {
    for (const entriesPerAppend of BATCH_SIZES) {
      const values = generateValues(kind, createPrng(SEED + entriesPerAppend), entriesPerAppend, BATCH_ENTRY_BYTES);
      const entries: Entry[] = values.map((data, i) => ({ index: 1000 + i, term: 3, data }));
      const rawBatch = encodeEntries(entries);
      for (const name of BATCH_CODECS) {
        const codec = createCodec(parseCodecName(name));
        const compressEach = async (): Promise<number> => {
          let stored = 0;
          for (const entry of entries) stored += (await codec.compress(entry.data)).byteLength + 4;
          return stored;
        };
        const compressBatch = async (): Promise<number> => (await codec.compress(encodeEntries(entries))).byteLength;
        const perEntryStoredBytes = (await compressEach()) + 12 + 12 * entriesPerAppend; // same framing fields as the batch
        const batchStoredBytes = await compressBatch();
        const figures = await timeTasks(settings, [
          { name: 'per-entry', run: compressEach },
          { name: 'batch', run: compressBatch },
        ]);
        const perEntry = figures.get('per-entry')!;
        const batch = figures.get('batch')!;
        rows.push({
          codec: codec.name,
          kind,
          entriesPerAppend,
          entryBytes: BATCH_ENTRY_BYTES,
          rawBytes: rawBatch.byteLength,
          perEntryStoredBytes,
          perEntryRatio: rawBatch.byteLength / perEntryStoredBytes,
          perEntryMBps: megabytesPerSecond(rawBatch.byteLength, perEntry.meanMs),
          perEntryRmePercent: perEntry.rmePercent,
          batchStoredBytes,
          batchRatio: rawBatch.byteLength / batchStoredBytes,
          batchMBps: megabytesPerSecond(rawBatch.byteLength, batch.meanMs),
          batchRmePercent: batch.rmePercent,
        });
      }
    }
  }
  process.stderr.write('  entry vs batch: done\n');
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const settings = parseSettings(process.argv.slice(2));
  if (typeof settings === 'number') return settings;
  const startedAt = new Date();
  const cpu = cpus();
  const machine = {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    node: process.version,
    kernel: release(),
    walDirectory: settings.dir,
    filesystem: filesystemOf(settings.dir),
    loadAverageAtStart: loadavg(),
  };
  process.stderr.write(`bench:micro:storage ${settings.quick ? '(quick)' : ''} — fdatasync…\n`);
  const fsyncBySize: FsyncResult[] = [];
  for (const writeBytes of FSYNC_WRITE_SIZES_BYTES) {
    fsyncBySize.push(await measureFdatasync(settings, writeBytes, writeBytes >= 100_000 ? Math.ceil(settings.fsyncSamples / 4) : settings.fsyncSamples));
  }
  process.stderr.write('appends…\n');
  const appends = await measureAppends(settings);
  process.stderr.write('codecs…\n');
  const codecs = await measureCodecs(settings);
  const entryVsBatch = await measureEntryVsBatch(settings);
  const loadAverageAtEnd = loadavg();

  const out: string[] = [];
  out.push('# Storage micro-benchmarks');
  out.push('');
  out.push(
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, Linux ${machine.kernel}; WAL files in ${machine.walDirectory} on ${machine.filesystem}. ` +
      `Load average at start ${machine.loadAverageAtStart.map((v) => v.toFixed(2)).join(' / ')}, at end ${loadAverageAtEnd.map((v) => v.toFixed(2)).join(' / ')} ` +
      `(a load near or above the core count means the figures were taken under contention).`,
  );
  out.push(`Mode: ${settings.quick ? 'quick' : 'default'}. Seed ${SEED}.`);
  out.push('');
  out.push('## fdatasync latency (bytes appended to the file before each sync; a fresh file per size)');
  out.push('');
  out.push(
    table(
      ['bytes per sync', 'samples', 'mean µs', 'p50 µs', 'p99 µs', 'max µs', 'syncs/s at the mean'],
      fsyncBySize.map((row) => [fmt(row.writeBytes), String(row.samples), fmt(row.meanUs), fmt(row.p50Us), fmt(row.p99Us), fmt(row.maxUs), fmt(1e6 / row.meanUs)]),
    ),
  );
  out.push('');
  out.push(
    `## WAL appends (each append = 1 entry + hard state; ${settings.appendRepeats} rounds, each running every configuration for ${settings.appendRunMs} ms in a fresh directory; mean ± stdev over rounds)`,
  );
  out.push('');
  out.push(
    table(
      ['entry', 'fsync', 'appenders', 'appends/s', '± stdev', 'syncs/append', 'sync p50 µs', 'sync p99 µs'],
      appends.map((row) => [
        `${row.entryBytes} B`,
        row.policy === 'none' ? 'none (UNSAFE)' : row.policy,
        String(row.appenders),
        fmt(row.appendsPerSecondMean),
        `${fmt(row.appendsPerSecondStdev)} (${fmt((100 * row.appendsPerSecondStdev) / Math.max(1, row.appendsPerSecondMean), 1)} %)`,
        fmt(row.syncsPerAppend, 3),
        row.policy === 'none' ? '—' : fmt(row.syncP50Us),
        row.policy === 'none' ? '—' : fmt(row.syncP99Us),
      ]),
    ),
  );
  out.push('');
  out.push(`## Codecs (${CODEC_BLOCK_BYTES / 1024} KiB block per call; tinybench, ${settings.taskTimeMs} ms per task; MB/s of raw data, ± relative margin of error at 95 %)`);
  out.push('');
  out.push(
    table(
      ['value kind', 'codec', 'ratio (raw/stored)', 'compress MB/s', 'decompress MB/s', 'samples (c/d)'],
      codecs.map((row) => [
        row.kind,
        row.codec,
        `${row.ratio.toFixed(2)}×`,
        `${fmt(row.compressMBps)} ± ${row.compressRmePercent.toFixed(1)} %`,
        `${fmt(row.decompressMBps)} ± ${row.decompressRmePercent.toFixed(1)} %`,
        `${row.compressSamples} / ${row.decompressSamples}`,
      ]),
    ),
  );
  out.push('');
  out.push(`## Entry vs batch compression for the log (${BATCH_ENTRY_BYTES} B entries; per-entry counts a 4-byte length per entry and the same index/term fields as the batch)`);
  out.push('');
  out.push(
    table(
      ['value kind', 'codec', 'entries/append', 'per-entry ratio', 'batch ratio', 'per-entry MB/s', 'batch MB/s'],
      entryVsBatch.map((row) => [
        row.kind,
        row.codec,
        String(row.entriesPerAppend),
        `${row.perEntryRatio.toFixed(2)}×`,
        `${row.batchRatio.toFixed(2)}×`,
        `${fmt(row.perEntryMBps)} ± ${row.perEntryRmePercent.toFixed(1)} %`,
        `${fmt(row.batchMBps)} ± ${row.batchRmePercent.toFixed(1)} %`,
      ]),
    ),
  );
  out.push('');
  out.push('## Targets');
  out.push('');
  const targetRows: string[][] = [];
  for (const entryBytes of ENTRY_SIZES_BYTES) {
    const always = appends.find((row) => row.policy === 'always' && row.appenders === 64 && row.entryBytes === entryBytes)!;
    const batched = appends.find((row) => row.policy === 'batched' && row.appenders === 64 && row.entryBytes === entryBytes)!;
    const speedup = batched.appendsPerSecondMean / always.appendsPerSecondMean;
    // The same ratio within each round (both measured minutes apart at most), to show its spread.
    const perRound = batched.appendsPerSecond.map((value, round) => value / always.appendsPerSecond[round]!);
    const roundRange = `per round ${Math.min(...perRound).toFixed(1)}–${Math.max(...perRound).toFixed(1)}×`;
    targetRows.push([`batched ≥ 20× always, 64 appenders, ${entryBytes} B`, `${speedup.toFixed(1)}× (ratio of means; ${roundRange})`, speedup >= 20 ? 'met' : 'NOT met']);
  }
  const lz4Text = codecs.find((row) => row.codec === 'lz4' && row.kind === 'text')!;
  const zstdText = codecs.find((row) => row.codec === 'zstd:3' && row.kind === 'text')!;
  targetRows.push(['lz4 ≥ 2× smaller on text-like values', `${lz4Text.ratio.toFixed(2)}×`, lz4Text.ratio >= 2 ? 'met' : 'NOT met']);
  targetRows.push(['zstd:3 ≥ 3× smaller on text-like values', `${zstdText.ratio.toFixed(2)}×`, zstdText.ratio >= 3 ? 'met' : 'NOT met']);
  out.push(table(['target', 'measured', 'verdict'], targetRows));
  out.push('');
  const report = out.join('\n');
  console.log(report);

  mkdirSync('results', { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const path = join('results', `micro-storage-${stamp}.json`);
  const raw = { schema: 'raftbench.micro-storage/1', startedAt: startedAt.toISOString(), settings: { ...settings }, machine: { ...machine, loadAverageAtEnd }, fsync: fsyncBySize, appends, codecs, entryVsBatch };
  writeFileSync(path, `${JSON.stringify(raw, null, 2)}\n`);
  console.log(`Raw results: ${path} (took ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s)`);
  return 0;
}

runMain('bench:micro:storage', main);

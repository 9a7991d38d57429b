// `npm run bench:etcd`: etcd and raftbench side by side on the same machine, the same workload
// and the same requests. Starts a 3-member etcd (fsync on) on loopback, drives it with the
// autocannon closed loop (puts at 64 connections with 256 B values, and reads of loaded records —
// workloads/http-put.json and http-get.json), does the same against a raftbench cluster — three
// `raftbench node` processes it starts from --raftbench-profile (all-on: batched fsync, safe), or
// the one `--raftbench URL[,URL…]` names — and writes one Markdown report (results/etcd-<stamp>.md)
// beside the results file (results/etcd-<stamp>.json, readable by `raftbench report`).
//
// Cells run interleaved (repetition, then workload × connections, then target) so drift on a
// shared machine hits both targets alike. Ctrl-C stops the cell in flight, keeps what finished,
// and stops etcd; a second Ctrl-C stops etcd and exits at once. etcd never outlives this process
// by more than its lifetime bound (etcd-cluster.ts).

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { leaderUrl } from '../drive/http-leader.js';
import { writeRunFile } from '../results/load.js';
import type { CellResult } from '../results/schema.js';
import { RUN_SCHEMA } from '../results/schema.js';
import { captureEnvironment } from '../run/environment.js';
import { checkHttpWorkload, runHttpCell } from '../run/http-cell.js';
import { loadWorkload, WorkloadError, type Workload } from '../workload/index.js';
import { Command, InvalidArgumentError, integerListOption, integerOption, parseOptions, runMain } from '../../cli/options.js';
import { loadProfile } from '../../server/profile.js';
import { ProcessCluster } from '../../server/process-cluster.js';
import { ensureEtcd, ETCD_PATH_DEFAULT, startEtcdCluster, type EtcdCluster } from './etcd-cluster.js';
import { renderSideBySide, type SideBySideRow } from './etcd-report.js';

interface BenchEtcdOptions {
  raftbench?: string[];
  raftbenchName: string;
  raftbenchProfile: string;
  etcdOnly: boolean;
  workloads: string[];
  connections: number[];
  duration: number;
  warmup: number;
  repetitions: number;
  members: number;
  etcd: string;
  spread: boolean;
  out?: string;
}

const urlListOption = (value: string): string[] => {
  const urls = value.split(',').map((url) => url.trim()).filter((url) => url.length > 0);
  for (const url of urls) {
    if (!/^https?:\/\/[^/]+\/?$/.test(url)) throw new InvalidArgumentError(`--raftbench: '${url}' is not a base URL like http://127.0.0.1:8080`);
  }
  if (urls.length === 0) throw new InvalidArgumentError('--raftbench needs at least one URL');
  return urls.map((url) => url.replace(/\/$/, ''));
};

const secondsOption = (name: string) => (value: string): number => {
  const seconds = Number(value);
  if (!(seconds >= 0 && seconds <= 3600)) throw new InvalidArgumentError(`${name} must be a number of seconds from 0 to 3600, got '${value}'`);
  return seconds;
};

function etcdVersion(path: string): string {
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 5000 }).split('\n')[0]?.replace(/^etcd Version:\s*/, '') ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function resolveWorkload(reference: string, options: BenchEtcdOptions): Workload {
  const workload = loadWorkload(reference.includes('/') || reference.endsWith('.json') ? reference : join('workloads', `${reference}.json`));
  const adjusted = { ...workload, run: { ...workload.run, durationSeconds: options.duration, operationCount: undefined, warmupSeconds: options.warmup } } as Workload;
  checkHttpWorkload(adjusted);
  return adjusted;
}

interface Target {
  readonly name: string;
  readonly urls: readonly string[];
  readonly etcd: EtcdCluster | null;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('bench:etcd')
    .description(
      'etcd and raftbench side by side: start a 3-member etcd (fsync on) on 127.0.0.1, run the same autocannon closed-loop workloads (etcd v3 ' +
        'gateway requests) against it and against --raftbench URLs, write results/etcd-<stamp>.md and .json.',
    )
    .option('--raftbench <urls>', 'raftbench HTTP base URLs, comma-separated (default: a 3-process raftbench cluster this script starts from --raftbench-profile)', urlListOption)
    .option('--raftbench-profile <name>', 'the profile of the raftbench cluster started here (fsync on: the safe all-on by default)', 'all-on')
    .option('--etcd-only', 'measure etcd alone', false)
    .option('--raftbench-name <name>', 'what to call the raftbench target in the report', 'raftbench')
    .option('--workloads <list>', 'workload names or .json paths (closed loop, no readModifyWrite)', (value: string) => value.split(',').map((item) => item.trim()), ['http-put', 'http-get'])
    .option('--connections <list>', 'autocannon connections, comma-separated (each a separate cell)', integerListOption('--connections', 1, 4096), [64])
    .option('--duration <seconds>', 'measured seconds per cell', secondsOption('--duration'), 10)
    .option('--warmup <seconds>', 'unrecorded warm-up run before each cell', secondsOption('--warmup'), 2)
    .option('--repetitions <n>', 'runs of each cell, interleaved between targets', integerOption('--repetitions', 1, 100), 1)
    .option('--members <n>', 'etcd members', integerOption('--members', 1, 7), 3)
    .option('--etcd <path>', 'the etcd binary', ETCD_PATH_DEFAULT)
    .option('--spread', 'spread connections over every member instead of sending to the leader only', false)
    .option('--out <file>', 'the report (default results/etcd-<stamp>.md; the results file is beside it, .json)');
  const parsed = parseOptions<BenchEtcdOptions>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const options = parsed.options;
  let workloads: Workload[];
  try {
    workloads = options.workloads.map((reference) => resolveWorkload(reference, options));
  } catch (error) {
    if (error instanceof WorkloadError || error instanceof RangeError) {
      console.error(`bench:etcd: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (!(options.duration >= 1)) {
    console.error('bench:etcd: --duration must be at least 1 s (autocannon samples once a second)');
    return 2;
  }
  if (!ensureEtcd(options.etcd)) return 2;

  const environment = captureEnvironment();
  const stamp = environment.startedAt.replace(/[:.]/g, '-');
  const reportPath = options.out ?? join('results', `etcd-${stamp}.md`);
  const resultsPath = reportPath.replace(/\.md$/, '') + '.json';
  const cellsPerTarget = workloads.length * options.connections.length * options.repetitions;
  const targetsCount = options.etcdOnly ? 1 : 2;
  // Each cell: warm-up + duration + autocannon's last tick + a load phase; generous, still bounded.
  const lifetimeSecondsMax = 120 + cellsPerTarget * targetsCount * (options.warmup + options.duration + 60);

  const controller = new AbortController();
  let cluster: EtcdCluster | null = null;
  let raftbenchCluster: ProcessCluster | null = null;
  let raftbenchDescription: string | null = null;
  let raftbenchDataDir: string | null = null;
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts += 1;
    if (interrupts === 1) {
      console.error('\nbench:etcd: interrupted — stopping the cell in flight, then etcd (Ctrl-C again to stop etcd and exit now)');
      controller.abort();
    } else {
      void Promise.all([cluster?.stop(), raftbenchCluster?.stop()]).finally(() => process.exit(130));
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const rows: SideBySideRow[] = [];
  const cells: CellResult[] = [];
  const version = etcdVersion(options.etcd);
  try {
    console.error(`bench:etcd: starting etcd ${version}, ${options.members} members on 127.0.0.1 (fsync on; lifetime bound ${lifetimeSecondsMax} s)…`);
    cluster = await startEtcdCluster({ members: options.members, etcdPath: options.etcd, lifetimeSecondsMax });
    const etcdUrls = options.spread ? cluster.clientUrls : [await cluster.leaderUrl()];
    let raftbenchGiven = options.raftbench ?? null;
    if (raftbenchGiven !== null) raftbenchDescription = `${options.raftbenchName} at ${raftbenchGiven.join(', ')} (started outside this script)`;
    else if (!options.etcdOnly) {
      const profile = await loadProfile(options.raftbenchProfile);
      if (profile.unsafe) throw new Error(`--raftbench-profile ${profile.name} is unsafe (${profile.unsafeReasons.join('; ')}): etcd runs with fsync on, so the comparison needs a safe profile`);
      console.error(`bench:etcd: starting raftbench (${profile.name}), ${profile.cluster.nodes} node processes on 127.0.0.1…`);
      raftbenchCluster = await ProcessCluster.startOnSomePorts(
        {
          profile: profile.sources[0]!,
          nodes: profile.cluster.nodes,
          dataDir: (raftbenchDataDir = await mkdtemp(join(tmpdir(), 'raftbench-etcd-side-'))),
          // Node logs only when asked (RAFTBENCH_NODE_LOG=1).
          log: process.env['RAFTBENCH_NODE_LOG'] === undefined ? () => undefined : (line) => process.stderr.write(`${line}\n`),
        },
        30_000,
        3,
        controller.signal,
      );
      raftbenchGiven = raftbenchCluster.nodes.map((node) => `http://${node.http}`);
      raftbenchDescription = `${options.raftbenchName}, profile ${profile.name}: ${profile.cluster.nodes} \`raftbench node\` processes on 127.0.0.1 (TCP between them, HTTP API), started by this script`;
    }
    const raftbenchUrls = raftbenchGiven === null ? null : options.spread ? raftbenchGiven : [await leaderUrl(raftbenchGiven)];
    const targets: Target[] = [{ name: 'etcd', urls: etcdUrls, etcd: cluster }];
    if (raftbenchUrls !== null) targets.push({ name: options.raftbenchName, urls: raftbenchUrls, etcd: null });
    const loaded = new Set<string>();
    outer: for (let repetition = 1; repetition <= options.repetitions; repetition++) {
      for (const workload of workloads) {
        for (const connections of options.connections) {
          for (const target of targets) {
            if (controller.signal.aborted) break outer;
            // Records stay loaded in a target across cells: load each workload once per target.
            const loadKey = `${target.name}\u0000${workload.name}`;
            const cellWorkload: Workload = {
              ...workload,
              load: { ...workload.load, enabled: workload.load.enabled && !loaded.has(loadKey) },
              run: { ...workload.run, concurrency: connections },
            };
            console.error(`bench:etcd: ${target.name} × ${workload.name} × ${connections} connections #${repetition}${cellWorkload.load.enabled ? ` (loading ${workload.keys.recordCount} records first)` : ''}`);
            const loadBefore = loadavg()[0] ?? 0;
            const cpuBefore = process.cpuUsage();
            const etcdCpuBefore = target.etcd?.cpuSeconds() ?? null;
            const wallStart = performance.now();
            const { cell, drive } = await runHttpCell({ targetName: target.name, urls: target.urls, workload: cellWorkload, repetition }, { signal: controller.signal });
            if (controller.signal.aborted) break outer;
            loaded.add(loadKey);
            const wallSeconds = (performance.now() - wallStart) / 1000;
            const cpu = process.cpuUsage(cpuBefore);
            const etcdCpuAfter = target.etcd?.cpuSeconds() ?? null;
            cells.push(cell);
            rows.push({
              target: target.name,
              workload: workload.name,
              connections,
              repetition,
              cell,
              autocannon: drive.autocannon,
              statusCodes: drive.statusCodes,
              loadBefore,
              loadAfter: loadavg()[0] ?? 0,
              driverCpuPercent: ((cpu.user + cpu.system) / 1e6 / wallSeconds) * 100,
              etcdCpuPercent: etcdCpuBefore === null || etcdCpuAfter === null ? null : ((etcdCpuAfter - etcdCpuBefore) / wallSeconds) * 100,
            });
            console.error(`  ${cell.total.throughputPerSecond.toFixed(0)} req/s, p50 ${(cell.total.latencyUs.p50 / 1000).toFixed(1)} ms, p99 ${(cell.total.latencyUs.p99 / 1000).toFixed(1)} ms, errors ${cell.total.errorCount}`);
          }
        }
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cluster?.stop();
    await raftbenchCluster?.stop();
    if (raftbenchDataDir !== null) await rm(raftbenchDataDir, { recursive: true, force: true });
  }
  const interrupted = controller.signal.aborted;
  mkdirSync(dirname(reportPath), { recursive: true });
  writeRunFile(resultsPath, { schema: RUN_SCHEMA, environment, command: `npm run bench:etcd -- ${argv.join(' ')}`.trim(), cells, interrupted });
  const markdown = renderSideBySide({
    environment,
    loadAverageAtEnd: loadavg().map((value) => Math.round(value * 100) / 100),
    etcdVersion: version,
    etcdDescription: `${version}, ${options.members} members on 127.0.0.1, fsync on (no --unsafe-no-fsync), each member its own data directory in a temporary directory`,
    raftbenchDescription,
    targeting: options.spread ? 'spread' : 'leader',
    rows,
    resultsFile: resultsPath,
    interrupted,
  });
  writeFileSync(reportPath, markdown);
  console.log(markdown);
  console.error(`bench:etcd: report → ${reportPath}, results → ${resultsPath}`);
  return interrupted ? 130 : 0;
}

runMain('bench:etcd', () => main(process.argv.slice(2)));

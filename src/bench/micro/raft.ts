// The Raft core alone, at full speed: three RaftNodes in one thread on a loopback "host" with no
// disk and no state machine, so what is measured is the protocol core's own cost.
//
//   npm run bench:micro:raft               (the full matrix, about a minute)
//   npm run bench:micro:raft -- --quick    (shorter runs)
//   npm run bench:micro:raft -- --cpu-prof (also profile one configuration and print the top functions)
//
// The loopback host runs in turns. In each turn the leader takes `perTurn` proposals (one
// propose() call), then every node steps the messages that reached it in the previous turn, takes
// its Ready and advances it at once (persistence is instant), and the messages it sends arrive in
// the next turn. So a message takes one turn to cross, a round trip two, and with an inflight
// window of 1 the leader can have one append outstanding per follower per two turns. A tick is
// delivered every `turnsPerTick` turns (heartbeats, lease expiry).
//
// Measured per configuration: committed entries per second (leader's commit index over wall
// time), messages per committed entry, entries per AppendEntries; and reads per second through
// ReadIndex and through the lease, with the messages each costs. Every row is the median of
// `runs` runs with min … max. Prints Markdown and writes results/micro-raft-<timestamp>.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { RaftNode } from '../../raft/raft.js';
import type { Message, NodeId, RaftConfig } from '../../raft/types.js';
import { createPrng } from '../../random/prng.js';
import { Command, integerListOption, integerOption, parseOptions, runMain } from '../../cli/options.js';
import { summarizeCpuProfile, type CpuProfile } from '../profile/cpu-profile.js';

const VOTERS: readonly NodeId[] = [1, 2, 3];
const PAYLOAD_BYTES = 16;
const TURNS_PER_TICK = 64;

interface Settings {
  readonly perTurn: readonly number[];
  readonly windows: readonly number[];
  readonly runMs: number;
  readonly runs: number;
  readonly cpuProfile: boolean;
}

interface WriteRow {
  readonly perTurn: number;
  readonly inflightMax: number;
  readonly entriesPerSecond: number[];
  readonly messagesPerEntry: number;
  readonly entriesPerAppend: number;
}

interface ReadRow {
  readonly mode: 'read-index' | 'lease';
  readonly readsPerTurn: number;
  readonly readsPerSecond: number[];
  readonly messagesPerRead: number;
  readonly leaseShare: number;
}

function parseSettings(argv: readonly string[]): Settings | number {
  const program = new Command('npm run bench:micro:raft --')
    .description(
      'The Raft core alone: three nodes in one thread, no disk, no apply. Committed entries/s, messages per entry and ' +
        'entries per append at several proposals per turn × inflight windows; ReadIndex and lease reads/s. ' +
        'Prints Markdown and writes raw JSON to results/.',
    )
    .option('--quick', 'shorter runs (about 15 s)')
    .option('--per-turn <list>', 'proposals per turn, comma-separated', integerListOption('--per-turn', 1, 65_536), [1, 64, 1024])
    .option('--windows <list>', 'inflight windows, comma-separated', integerListOption('--windows', 1, 4096), [1, 4, 64])
    .option('--runs <n>', 'runs per configuration (median reported)', integerOption('--runs', 1, 100))
    .option('--cpu-prof', 'also profile the 1 024-per-turn, window-64 configuration and print the top functions by self time');
  const parsed = parseOptions<{ quick?: boolean; perTurn: number[]; windows: number[]; runs?: number; cpuProf?: boolean }>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const quick = parsed.options.quick === true;
  return {
    perTurn: parsed.options.perTurn,
    windows: parsed.options.windows,
    runMs: quick ? 300 : 1000,
    runs: parsed.options.runs ?? (quick ? 3 : 5),
    cpuProfile: parsed.options.cpuProf === true,
  };
}

function config(id: NodeId, inflightMax: number): RaftConfig {
  return {
    id,
    voters: VOTERS,
    electionTicks: 20,
    heartbeatTicks: 2,
    preVote: true,
    checkQuorum: true,
    inflightMax,
    batchEntriesMax: 4096,
    batchBytesMax: 4 * 1024 * 1024,
    uncommittedEntriesMax: 1 << 20,
    uncommittedBytesMax: 1 << 30,
    leaseTicks: 15,
    prng: createPrng(id),
  };
}

/** Three cores wired by per-turn inboxes; persistence and apply are instant. */
class LoopbackCluster {
  readonly nodes = new Map<NodeId, RaftNode>();
  private inboxes = new Map<NodeId, Message[]>();
  private turns = 0;
  messagesSent = 0;
  appends = 0;
  entriesAppended = 0;
  readStates = 0;
  leaseReads = 0;

  constructor(inflightMax: number) {
    for (const id of VOTERS) {
      this.nodes.set(id, new RaftNode(config(id, inflightMax)));
      this.inboxes.set(id, []);
    }
    // Elect node 1: it ticks until it campaigns, the others only answer.
    const first = this.nodes.get(1)!;
    for (let turn = 0; turn < 10_000 && first.status().role !== 'leader'; turn++) {
      if (turn % 4 === 0) first.tick();
      this.turn();
    }
    if (first.status().role !== 'leader') throw new Error('bench: node 1 was not elected');
    for (let k = 0; k < 8; k++) this.turn();
  }

  get leader(): RaftNode {
    return this.nodes.get(1)!;
  }

  turn(): void {
    this.turns += 1;
    const tick = this.turns % TURNS_PER_TICK === 0;
    const next = new Map<NodeId, Message[]>();
    for (const id of VOTERS) next.set(id, []);
    for (const [id, node] of this.nodes) {
      if (tick) {
        node.tick();
        // As a host would after a snapshot: keep the in-memory log short (the core never drops
        // entries without a LogReader, and this host has no storage).
        const status = node.status();
        if (status.applied - status.snapshotIndex > 100_000) node.compact({ index: status.applied, term: node.termAt(status.applied)!, config: { voters: VOTERS } });
      }
      const inbox = this.inboxes.get(id)!;
      for (const message of inbox) node.step(message);
      while (node.hasReady()) {
        const ready = node.ready();
        for (const message of ready.messages) this.route(next, message);
        for (const message of ready.messagesAfterPersist) this.route(next, message);
        this.readStates += ready.readStates.length;
        for (const read of ready.readStates) if (read.via === 'lease') this.leaseReads += 1;
        node.advance(ready);
      }
    }
    this.inboxes = next;
  }

  private route(next: Map<NodeId, Message[]>, message: Message): void {
    this.messagesSent += 1;
    if (message.type === 'AppendEntries' && message.entries.length > 0) {
      this.appends += 1;
      this.entriesAppended += message.entries.length;
    }
    next.get(message.to)!.push(message);
  }
}

function writeRun(perTurn: number, inflightMax: number, runMs: number): { entriesPerSecond: number; messagesPerEntry: number; entriesPerAppend: number } {
  const cluster = new LoopbackCluster(inflightMax);
  const leader = cluster.leader;
  const batch = Array.from({ length: perTurn }, (_, k) => new Uint8Array(PAYLOAD_BYTES).fill(k & 0xff));
  // Warm up the JIT on this configuration before measuring.
  for (let k = 0; k < 200; k++) {
    leader.propose(batch);
    cluster.turn();
  }
  const startCommit = leader.status().commit;
  const startMessages = cluster.messagesSent;
  const startAppends = cluster.appends;
  const startEntries = cluster.entriesAppended;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let k = 0; k < 16; k++) {
      const result = leader.propose(batch);
      if (!result.ok) throw new Error(`bench: proposal refused: ${result.reason}`);
      cluster.turn();
    }
    elapsed = performance.now() - start;
  } while (elapsed < runMs);
  const committed = leader.status().commit - startCommit;
  const appends = cluster.appends - startAppends;
  return {
    entriesPerSecond: (committed / elapsed) * 1000,
    messagesPerEntry: (cluster.messagesSent - startMessages) / committed,
    entriesPerAppend: appends === 0 ? 0 : (cluster.entriesAppended - startEntries) / appends,
  };
}

function readRun(mode: 'read-index' | 'lease', readsPerTurn: number, runMs: number): { readsPerSecond: number; messagesPerRead: number; leaseShare: number } {
  const cluster = new LoopbackCluster(64);
  const leader = cluster.leader;
  leader.propose([new Uint8Array(PAYLOAD_BYTES)]);
  for (let k = 0; k < TURNS_PER_TICK * 4; k++) cluster.turn(); // commit in term, confirm a round
  let context = 0;
  const startReads = cluster.readStates;
  const startLease = cluster.leaseReads;
  const startMessages = cluster.messagesSent;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let k = 0; k < 16; k++) {
      for (let r = 0; r < readsPerTurn; r++) {
        const result = mode === 'lease' ? leader.leaseRead(++context) : leader.readIndex(++context);
        if (!result.ok) throw new Error(`bench: read refused: ${result.reason}`);
      }
      cluster.turn();
    }
    elapsed = performance.now() - start;
  } while (elapsed < runMs);
  const reads = cluster.readStates - startReads;
  return {
    readsPerSecond: (reads / elapsed) * 1000,
    messagesPerRead: (cluster.messagesSent - startMessages) / reads,
    leaseShare: (cluster.leaseReads - startLease) / reads,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function rate(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
  return value.toFixed(0);
}

function spread(values: readonly number[]): string {
  return `${rate(median(values))}/s (${rate(Math.min(...values))} … ${rate(Math.max(...values))})`;
}

async function profileOnce(runMs: number): Promise<string> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  writeRun(1024, 64, runMs * 2);
  const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
  session.disconnect();
  mkdirSync('results', { recursive: true });
  const path = join('results', `micro-raft-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  writeFileSync(path, JSON.stringify(profile));
  const summary = summarizeCpuProfile(profile, 15);
  return [
    `### Where the time goes (1 024 per turn, window 64; ${path}, open in Chrome DevTools)`,
    '',
    '| self % | self ms | function | where |',
    '| ---: | ---: | --- | --- |',
    ...summary.top.map((row) => `| ${row.selfPercent.toFixed(1)} | ${row.selfMs.toFixed(0)} | ${row.functionName} | ${row.location} |`),
  ].join('\n');
}

async function main(): Promise<number> {
  const settings = parseSettings(process.argv.slice(2));
  if (typeof settings === 'number') return settings;
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg()[0]!.toFixed(2)} at start`;
  console.log(`# bench:micro:raft — the Raft core alone (3 nodes, one thread, no disk, no apply)\n\n${machine}; ${settings.runs} runs × ${settings.runMs} ms per row, median (min … max).\n`);

  const writeRows: WriteRow[] = [];
  console.log('| proposals per turn | inflight window | committed entries/s | messages per entry | entries per append |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const perTurn of settings.perTurn) {
    for (const inflightMax of settings.windows) {
      const runs = Array.from({ length: settings.runs }, () => writeRun(perTurn, inflightMax, settings.runMs));
      const row: WriteRow = {
        perTurn,
        inflightMax,
        entriesPerSecond: runs.map((run) => run.entriesPerSecond),
        messagesPerEntry: median(runs.map((run) => run.messagesPerEntry)),
        entriesPerAppend: median(runs.map((run) => run.entriesPerAppend)),
      };
      writeRows.push(row);
      console.log(`| ${perTurn} | ${inflightMax} | ${spread(row.entriesPerSecond)} | ${row.messagesPerEntry.toFixed(3)} | ${row.entriesPerAppend.toFixed(1)} |`);
    }
  }

  const readRows: ReadRow[] = [];
  console.log('\n| read mode | reads per turn | reads/s | messages per read | served by lease |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const mode of ['read-index', 'lease'] as const) {
    for (const readsPerTurn of [1, 64]) {
      const runs = Array.from({ length: settings.runs }, () => readRun(mode, readsPerTurn, settings.runMs));
      const row: ReadRow = {
        mode,
        readsPerTurn,
        readsPerSecond: runs.map((run) => run.readsPerSecond),
        messagesPerRead: median(runs.map((run) => run.messagesPerRead)),
        leaseShare: median(runs.map((run) => run.leaseShare)),
      };
      readRows.push(row);
      console.log(`| ${mode} | ${readsPerTurn} | ${spread(row.readsPerSecond)} | ${row.messagesPerRead.toFixed(4)} | ${(row.leaseShare * 100).toFixed(1)} % |`);
    }
  }

  const best = writeRows.filter((row) => row.perTurn === 1024).map((row) => median(row.entriesPerSecond));
  const targetMet = best.length > 0 && Math.max(...best) >= 1_000_000;
  const windowsAtSameTurn = settings.perTurn.map((perTurn) => writeRows.filter((row) => row.perTurn === perTurn));
  const windowKeepsBatches = windowsAtSameTurn.every((rows) => rows.every((row) => row.entriesPerAppend >= row.perTurn - 1e-9));
  const leaseRows = readRows.filter((row) => row.mode === 'lease');
  const leaseFree = leaseRows.every((row) => row.messagesPerRead < 0.05 && row.leaseShare > 0.95);
  console.log('\n## Targets\n');
  console.log(`- ≥ 1 M committed entries/s at 1 024 per turn: ${targetMet ? 'met' : 'NOT met'} (best ${rate(Math.max(0, ...best))}/s)`);
  console.log(`- a larger window never lowers entries per append below the proposals per turn: ${windowKeepsBatches ? 'met' : 'NOT met'}`);
  console.log(`- a lease read costs no message (heartbeats only, amortised): ${leaseFree ? 'met' : 'NOT met'} (${leaseRows.map((row) => row.messagesPerRead.toFixed(4)).join(', ')} messages per read)`);

  let profileSection = '';
  if (settings.cpuProfile) {
    profileSection = await profileOnce(settings.runMs);
    console.log(`\n${profileSection}`);
  }
  mkdirSync('results', { recursive: true });
  const path = join('results', `micro-raft-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, JSON.stringify({ benchmark: 'micro-raft', machine, settings, writeRows, readRows, targets: { targetMet, windowKeepsBatches, leaseFree } }, null, 2));
  console.log(`\nraw results: ${path}`);
  return 0;
}

runMain('bench:micro:raft', main);

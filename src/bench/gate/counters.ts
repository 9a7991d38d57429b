// The gate's exact leg: what a fixed write workload costs — fsyncs, bytes written, messages and
// bytes on the wire per put, entries per append — measured in the deterministic simulation, so
// the figures are the same on every machine and every run (the simulation runs the real KvNode,
// WAL and state machine over a simulated disk, network and clock from one seed; see
// src/sim/README.md). A change that moves one of them changed what the write path spends.
//
// Allocations are not counted: V8's allocation and GC figures depend on heap state, flags and
// the Node version, so they are not reproducible to the tight tolerance the gate uses.

import { KvClient } from '../../client/client.js';
import { createPrng } from '../../random/prng.js';
import type { NodeCountersSnapshot } from '../../server/node.js';
import { SimCluster } from '../../sim/cluster.js';
import { clusterOptions, DEFAULT_SWITCHES, type ClusterOptions } from '../../sim/cluster-options.js';
import { simEndpoints } from '../../sim/clients.js';
import { SimNodeRuntime } from '../../sim/runtime.js';
import { costsBetween } from '../run/costs.js';

/** The counters the gate compares, per configuration. */
export interface CounterValues {
  readonly putsAcknowledged: number;
  readonly fsyncsPerPut: number;
  readonly bytesWrittenPerPut: number;
  readonly messagesPerPut: number;
  readonly bytesOnWirePerPut: number;
  readonly entriesPerAppend: number;
  readonly proposalsPerBatch: number;
}

export const COUNTER_NAMES = ['putsAcknowledged', 'fsyncsPerPut', 'bytesWrittenPerPut', 'messagesPerPut', 'bytesOnWirePerPut', 'entriesPerAppend', 'proposalsPerBatch'] as const satisfies readonly (keyof CounterValues)[];
export type CounterName = (typeof COUNTER_NAMES)[number];

/** One deterministic configuration: which switches, and the fixed workload through them. */
export interface CounterConfiguration {
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  readonly clients: number;
  readonly putsPerClient: number;
  readonly valueBytes: number;
  readonly overrides: Partial<Omit<ClusterOptions, 'seed'>>;
}

/**
 * The naive write path (one fsync per entry, stop-and-wait, no batching) and the all-on one
 * (group commit, pipelining, AppendEntries and proposal batching, LZ4 log): a change to either
 * path moves the counters of at least one. Small enough that both run in about a second.
 */
export const COUNTER_CONFIGURATIONS: readonly CounterConfiguration[] = [
  {
    name: 'baseline',
    description: "3 nodes, fsync 'always', inflight 1, one entry per append, one proposal per batch",
    seed: 7,
    clients: 4,
    putsPerClient: 25,
    valueBytes: 100,
    overrides: {
      fsync: 'always',
      raft: { ...DEFAULT_SWITCHES, inflightMax: 1, batchEntriesMax: 1 },
      proposalBatchEntriesMax: 1,
      readiesInFlightMax: 1,
      sendBeforePersist: false,
    },
  },
  {
    name: 'all-on',
    description: "3 nodes, fsync 'batched', inflight 4, batches of 64, LZ4 log",
    seed: 7,
    clients: 16,
    putsPerClient: 25,
    valueBytes: 100,
    overrides: { fsync: 'batched', logCodec: 'lz4' },
  },
];

/** Simulated time a configuration may take before the gate calls it stuck. */
const RUN_US_MAX = 120_000_000;

function valueFor(client: number, put: number, valueBytes: number): Uint8Array {
  const value = new Uint8Array(valueBytes);
  // Text-like and varied, so the LZ4 log has something real to compress.
  const text = `client ${client} put ${put} `;
  for (let k = 0; k < valueBytes; k++) value[k] = text.charCodeAt(k % text.length);
  return value;
}

/** Runs one configuration's workload in the simulation and returns its counters. */
export async function measureCounters(configuration: CounterConfiguration): Promise<CounterValues> {
  const cluster = await SimCluster.create(clusterOptions(configuration.seed, configuration.overrides));
  try {
    if (!(await cluster.runUntil(() => cluster.leaders().length === 1, 10_000_000))) {
      throw new Error(`gate counters '${configuration.name}': no leader within 10 s of simulated time: ${cluster.describe()}`);
    }
    const snapshot = (): NodeCountersSnapshot[] => cluster.nodeIds.map((id) => cluster.kvNode(id)!.counterSnapshot());
    const before = snapshot();
    const endpoints = simEndpoints(cluster);
    const prng = createPrng(configuration.seed);
    const encoder = new TextEncoder();
    let acknowledged = 0;
    let finished = 0;
    const failures: string[] = [];
    for (let client = 1; client <= configuration.clients; client++) {
      const kvClient = new KvClient({ endpoints, readMode: 'log', requestTimeoutMs: 5_000, backoffMsMin: 1, backoffMsMax: 50, runtime: new SimNodeRuntime(cluster, 0, 1), prng: prng.fork() });
      void (async () => {
        for (let put = 0; put < configuration.putsPerClient; put++) {
          const result = await kvClient.put(encoder.encode(`key-${client}-${put % 8}`), valueFor(client, put, configuration.valueBytes));
          if (result.ok && result.response.type === 'ok') acknowledged++;
          else failures.push(result.ok ? `answer ${result.response.type}` : `${result.error}: ${result.reason}`);
        }
      })().finally(() => finished++);
    }
    if (!(await cluster.runUntil(() => finished === configuration.clients, RUN_US_MAX))) {
      throw new Error(`gate counters '${configuration.name}': the clients did not finish within ${RUN_US_MAX / 1e6} s of simulated time`);
    }
    if (failures.length > 0) throw new Error(`gate counters '${configuration.name}': ${failures.length} puts failed, first: ${failures[0]}`);
    const costs = costsBetween(before, snapshot(), acknowledged);
    return {
      putsAcknowledged: acknowledged,
      fsyncsPerPut: costs.perOperation.fsyncs,
      bytesWrittenPerPut: costs.perOperation.bytesWritten,
      messagesPerPut: costs.perOperation.messages,
      bytesOnWirePerPut: costs.perOperation.bytesOnWire,
      entriesPerAppend: costs.entriesPerAppend,
      proposalsPerBatch: costs.proposalsPerBatch,
    };
  } finally {
    cluster.dispose();
  }
}

export type CounterSet = Readonly<Record<string, CounterValues>>;

/** Every configuration's counters, by configuration name. */
export async function measureAllCounters(configurations: readonly CounterConfiguration[] = COUNTER_CONFIGURATIONS): Promise<CounterSet> {
  const result: Record<string, CounterValues> = {};
  for (const configuration of configurations) result[configuration.name] = await measureCounters(configuration);
  return result;
}

// Clients of the simulated cluster that use it as users do: the real client library (sessions,
// leader discovery, retries) sends puts, gets, cas and deletes on a few contended keys, with reads
// in the run's read mode, and every operation goes into a history — called at, answered at (or
// never: a request that timed out may or may not have taken effect), what it asked, what it got.
// At the end the linearizability checker (src/check/linearizability.ts) must find an order of the
// whole history that a single copy of the store would have produced; safe read modes must always
// pass, and the checker must catch the unsafe ones (stale reads, a lease whose clocks drift
// beyond its bound).

import { KvClient, type ClientResult, type NodeEndpoint } from '../client/client.js';
import { checkLinearizable, type LinearizabilityResult } from '../check/linearizability.js';
import type { GetOutput, Operation as HistoryOperation } from '../check/kv-history.js';
import { decodeResponse, type KvReadCommand, type KvResponse } from '../kv/commands.js';
import type { Prng } from '../random/prng.js';
import type { NodeId } from '../raft/types.js';
import type { NodeReply } from '../server/node.js';
import type { ReadMode } from '../server/node-options.js';
import type { SimCluster } from './cluster.js';
import { SimNodeRuntime } from './runtime.js';

export interface SimClientOptions {
  readonly clients: number;
  /** Keys the clients share (few, so operations contend). */
  readonly keys: number;
  readonly readMode: ReadMode;
  /** Pause between one client's operations, µs (seeded in [0, thinkUsMax]). */
  readonly thinkUsMax: number;
  readonly requestTimeoutMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A node of the simulated cluster as a client reaches it: its live incarnation, or "stopped". */
class SimEndpoint implements NodeEndpoint {
  constructor(
    private readonly cluster: SimCluster,
    readonly id: NodeId,
  ) {}

  submit(request: Uint8Array): Promise<NodeReply> {
    const node = this.cluster.kvNode(this.id);
    return node === null ? Promise.resolve(down(this.id)) : node.submit(request);
  }

  read(command: KvReadCommand, mode: ReadMode): Promise<NodeReply> {
    const node = this.cluster.kvNode(this.id);
    return node === null ? Promise.resolve(down(this.id)) : node.read(command, mode);
  }
}

function down(id: NodeId): NodeReply {
  return { ok: false, error: 'stopped', reason: `node ${id} is down`, leader: 0, outcome: 'not-applied' };
}

/**
 * A history and what goes into it: one operation per client request — answered (with what the
 * response says), unknown (no answer: it may have happened), or left out (certainly not applied,
 * or a read that failed). Shared by the random clients and the scenario steps.
 */
export class HistoryRecorder {
  private readonly history: HistoryOperation[] = [];
  /** Writes sent and not answered yet: at the end they count as unknown (they may have happened). */
  private readonly inFlight = new Map<number, HistoryOperation>();
  private nextOperationId = 1;
  private nextValue = 1;
  readonly counts = { issued: 0, answered: 0, unknown: 0, failed: 0 };

  constructor(private readonly clock: { readonly nowUs: number }) {}

  /** The history, with the writes still unanswered as unknown-outcome operations. */
  operations(): readonly HistoryOperation[] {
    return [...this.history, ...this.inFlight.values()];
  }

  check(): LinearizabilityResult {
    return checkLinearizable(this.operations());
  }

  /** A value no one wrote before (so a read tells which write it saw). */
  freshValue(clientId: number): string {
    return `c${clientId}.${this.nextValue++}`;
  }

  async put(client: KvClient, clientId: number, key: string, value: string): Promise<ClientResult> {
    const callUs = this.begin();
    const pending = this.pending({ type: 'put', key, value }, clientId, callUs);
    const result = await client.put(encoder.encode(key), encoder.encode(value));
    this.inFlight.delete(pending);
    this.record(result, callUs, clientId, { type: 'put', key, value }, (response) => (response.type === 'ok' ? { version: response.version } : undefined));
    return result;
  }

  async get(client: KvClient, clientId: number, key: string): Promise<ClientResult> {
    const callUs = this.begin();
    const result = await client.get(encoder.encode(key));
    this.record(result, callUs, clientId, { type: 'get', key }, getOutput);
    return result;
  }

  async cas(client: KvClient, clientId: number, key: string, expectedVersion: number, value: string): Promise<ClientResult> {
    const callUs = this.begin();
    const pending = this.pending({ type: 'cas', key, expectedVersion, value }, clientId, callUs);
    const result = await client.cas(encoder.encode(key), expectedVersion, encoder.encode(value));
    this.inFlight.delete(pending);
    this.record(result, callUs, clientId, { type: 'cas', key, expectedVersion, value }, (response) =>
      response.type === 'ok' ? { ok: true, version: response.version } : response.type === 'cas-mismatch' ? { ok: false, currentVersion: response.currentVersion } : undefined,
    );
    return result;
  }

  async delete(client: KvClient, clientId: number, key: string): Promise<ClientResult> {
    const callUs = this.begin();
    const pending = this.pending({ type: 'delete', key }, clientId, callUs);
    const result = await client.delete(encoder.encode(key));
    this.inFlight.delete(pending);
    this.record(result, callUs, clientId, { type: 'delete', key }, (response) =>
      response.type === 'ok' ? { deleted: true, version: response.version } : response.type === 'not-found' ? { deleted: false } : undefined,
    );
    return result;
  }

  /** A get sent straight to one node in one read mode (no client retries): for scenario rows. */
  async getFrom(node: NodeEndpoint, clientId: number, key: string, mode: ReadMode): Promise<NodeReply> {
    const callUs = this.begin();
    const reply = await node.read({ type: 'get', key: encoder.encode(key) }, mode);
    const result: ClientResult = reply.ok
      ? { ok: true, response: decodeResponse(reply.response), index: reply.index, attempts: 1 }
      : { ok: false, error: 'refused', outcome: reply.outcome, reason: reply.reason, attempts: 1 };
    this.record(result, callUs, clientId, { type: 'get', key }, getOutput);
    return reply;
  }

  private pending(input: HistoryOperation['input'], clientId: number, callUs: number): number {
    const id = this.nextOperationId++;
    this.inFlight.set(id, { clientId, callUs, returnUs: null, input, output: null } as unknown as HistoryOperation);
    return id;
  }

  private begin(): number {
    this.counts.issued += 1;
    return this.clock.nowUs;
  }

  private record<Input extends HistoryOperation['input'], Output>(
    result: ClientResult,
    callUs: number,
    clientId: number,
    input: Input,
    output: (response: KvResponse) => Output | undefined,
  ): void {
    if (result.ok) {
      const answer = output(result.response);
      if (answer === undefined) {
        // An error answer from the state machine (limits, session trouble): not applied.
        this.counts.failed += 1;
        return;
      }
      this.counts.answered += 1;
      this.history.push({ clientId, callUs, returnUs: this.clock.nowUs, input, output: answer } as unknown as HistoryOperation);
      return;
    }
    if (result.outcome === 'unknown' && input.type !== 'get') {
      this.counts.unknown += 1;
      this.history.push({ clientId, callUs, returnUs: null, input, output: null } as unknown as HistoryOperation);
      return;
    }
    this.counts.failed += 1;
  }
}

function getOutput(response: KvResponse): GetOutput | undefined {
  return response.type === 'value' ? { found: true, value: decoder.decode(response.value), version: response.version } : response.type === 'not-found' ? { found: false } : undefined;
}

export function simEndpoints(cluster: SimCluster): NodeEndpoint[] {
  return cluster.nodeIds.map((id) => new SimEndpoint(cluster, id));
}

/** Clients that run by themselves while the simulation runs (the random runs' load). */
export class SimKvClients {
  private readonly recorder: HistoryRecorder;
  private stopped = false;
  private running = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly prng: Prng,
    readonly options: SimClientOptions,
  ) {
    this.recorder = new HistoryRecorder(cluster);
  }

  get counts(): HistoryRecorder['counts'] {
    return this.recorder.counts;
  }

  /** Starts every client's loop (they run as the simulation runs). */
  start(): void {
    const endpoints = simEndpoints(this.cluster);
    for (let clientId = 1; clientId <= this.options.clients; clientId++) {
      const runtime = new SimNodeRuntime(this.cluster, 0, 1);
      const client = new KvClient({
        endpoints,
        readMode: this.options.readMode,
        requestTimeoutMs: this.options.requestTimeoutMs,
        backoffMsMin: 1,
        backoffMsMax: 50,
        runtime,
        prng: this.prng.fork(),
      });
      this.running += 1;
      void this.loop(clientId, client, runtime, this.prng.fork()).finally(() => (this.running -= 1));
    }
  }

  /** Stops issuing; what is in flight finishes (or stays unknown) as the simulation runs. */
  stop(): void {
    this.stopped = true;
  }

  get idle(): boolean {
    return this.running === 0;
  }

  operations(): readonly HistoryOperation[] {
    return this.recorder.operations();
  }

  check(): LinearizabilityResult {
    return this.recorder.check();
  }

  private async loop(clientId: number, client: KvClient, runtime: SimNodeRuntime, prng: Prng): Promise<void> {
    const recorder = this.recorder;
    const lastVersion = new Map<string, number>();
    while (!this.stopped) {
      await new Promise<void>((resolve) => runtime.setTimer(prng.nextInt(0, this.options.thinkUsMax + 1) / 1000, resolve));
      if (this.stopped) return;
      const key = `k${prng.nextInt(0, this.options.keys)}`;
      const roll = prng.nextFloat();
      if (roll < 0.4) {
        const result = await recorder.put(client, clientId, key, recorder.freshValue(clientId));
        if (result.ok && result.response.type === 'ok') lastVersion.set(key, result.response.version);
      } else if (roll < 0.85) {
        const result = await recorder.get(client, clientId, key);
        if (result.ok && result.response.type === 'value') lastVersion.set(key, result.response.version);
      } else if (roll < 0.95) {
        await recorder.cas(client, clientId, key, lastVersion.get(key) ?? 0, recorder.freshValue(clientId));
      } else {
        await recorder.delete(client, clientId, key);
        lastVersion.delete(key);
      }
    }
  }
}

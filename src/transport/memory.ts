// The in-process transport of an embedded cluster: nodes in one process hand each other message
// objects through a hub, with an optional injected one-way latency and jitter (e.g. 0.5 ms each
// way for a 1 ms round trip) and link cuts for tests. Messages are not encoded — there is no wire
// — but every message is sized with the wire codec, so "bytes on the wire" counts what TCP would
// carry.
//
// Delivery is asynchronous, never inside the sender's call: messages due now are delivered in one
// setImmediate batch (so a receiver sees every message of a turn together); a delay below the
// timer resolution (1 ms) is kept by polling the queue with setImmediate while messages wait,
// longer ones by a timer.

import { performance } from 'node:perf_hooks';
import type { InstallSnapshotRequest, Message, MessageType, NodeId } from '../raft/types.js';
import type { Prng } from '../random/prng.js';
import { emptyMessageCounts, type Transport, type TransportCountersSnapshot, type TransportHandler } from './transport.js';

export interface MemoryNetworkOptions {
  /** One-way delay added to every message (default 0). */
  readonly latencyUs?: number;
  /** Uniform extra delay in [0, jitterUs) (default 0). */
  readonly jitterUs?: number;
  /** Seeded source of the jitter. */
  readonly prng?: Prng;
  /** Bytes a message would take on the wire (the codec's size function). */
  readonly sizeOf: (message: Message) => number;
}

interface InFlight {
  readonly dueMs: number;
  readonly deliver: () => void;
}

/** Below this delay a timer would oversleep: poll instead. */
const POLL_BELOW_MS = 2;

export class MemoryNetwork {
  private readonly handlers = new Map<NodeId, TransportHandler>();
  private readonly cuts = new Set<string>();
  private queue: InFlight[] = [];
  private pumping = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly options: MemoryNetworkOptions) {}

  /** A transport endpoint for node `id`. */
  endpoint(id: NodeId): MemoryTransport {
    return new MemoryTransport(id, this);
  }

  /** Drops everything between `a` and `b`, both ways, until heal(). */
  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(linkKey(a, b));
  }

  isolate(id: NodeId, others: readonly NodeId[]): void {
    for (const other of others) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cuts.clear();
  }

  canReach(from: NodeId, to: NodeId): boolean {
    return !this.cuts.has(linkKey(from, to)) && this.handlers.has(to);
  }

  register(id: NodeId, handler: TransportHandler): void {
    this.handlers.set(id, handler);
  }

  unregister(id: NodeId): void {
    this.handlers.delete(id);
  }

  handlerOf(id: NodeId): TransportHandler | undefined {
    return this.handlers.get(id);
  }

  /** Schedules `deliver` after the configured latency and jitter. */
  schedule(deliver: () => void): void {
    const latencyUs = this.options.latencyUs ?? 0;
    const jitterUs = this.options.jitterUs ?? 0;
    const delayUs = latencyUs + (jitterUs > 0 && this.options.prng !== undefined ? this.options.prng.nextFloat() * jitterUs : 0);
    this.queue.push({ dueMs: performance.now() + delayUs / 1000, deliver });
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const next = (): void => {
      const nowMs = performance.now();
      const due: InFlight[] = [];
      const later: InFlight[] = [];
      for (const item of this.queue) (item.dueMs <= nowMs ? due : later).push(item);
      this.queue = later;
      for (const item of due) item.deliver();
      if (this.queue.length === 0) {
        this.pumping = false;
        return;
      }
      const waitMs = Math.min(...this.queue.map((item) => item.dueMs)) - performance.now();
      if (waitMs < POLL_BELOW_MS) setImmediate(next);
      else this.timer = setTimeout(next, Math.floor(waitMs));
    };
    setImmediate(next);
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.queue = [];
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

export class MemoryTransport implements Transport {
  private readonly counts = emptyMessageCounts();
  private messagesSent = 0;
  private bytesSent = 0;
  private messagesDropped = 0;
  private snapshotsSent = 0;
  private snapshotBytesSent = 0;

  constructor(
    readonly id: NodeId,
    private readonly network: MemoryNetwork,
  ) {}

  start(handler: TransportHandler): void {
    this.network.register(this.id, handler);
  }

  send(message: Message): void {
    this.count(message.type, this.network.options.sizeOf(message));
    if (!this.network.canReach(this.id, message.to)) {
      this.messagesDropped += 1;
      return;
    }
    this.network.schedule(() => {
      // A link cut or a node stopped while the message was in flight drops it too.
      if (this.network.canReach(this.id, message.to)) this.network.handlerOf(message.to)?.message(message);
    });
  }

  async sendSnapshot(message: InstallSnapshotRequest, body: AsyncIterable<Uint8Array>): Promise<void> {
    this.count('InstallSnapshot', this.network.options.sizeOf(message));
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    for await (const chunk of body) {
      if (!this.network.canReach(this.id, message.to)) throw new Error(`snapshot to node ${message.to}: link lost during the transfer`);
      // The receiver keeps the chunks: copy out of the reader's reused buffers.
      chunks.push(chunk.slice());
      bytes += chunk.byteLength;
    }
    this.snapshotsSent += 1;
    this.snapshotBytesSent += bytes;
    this.bytesSent += bytes;
    if (!this.network.canReach(this.id, message.to)) throw new Error(`snapshot to node ${message.to}: unreachable`);
    await new Promise<void>((resolve) => {
      this.network.schedule(() => {
        if (this.network.canReach(this.id, message.to)) this.network.handlerOf(message.to)?.snapshot(message, chunks);
        resolve();
      });
    });
  }

  counters(): TransportCountersSnapshot {
    return {
      messagesSent: this.messagesSent,
      bytesSent: this.bytesSent,
      messagesByType: { ...this.counts },
      messagesDropped: this.messagesDropped,
      snapshotsSent: this.snapshotsSent,
      snapshotBytesSent: this.snapshotBytesSent,
    };
  }

  async close(): Promise<void> {
    this.network.unregister(this.id);
  }

  private count(type: MessageType, bytes: number): void {
    this.messagesSent += 1;
    this.bytesSent += bytes;
    this.counts[type] += 1;
  }
}

// A node's Transport in the simulation: messages go through the seeded SimNetwork (latency, loss,
// duplication, reordering, cut links) as events of the receiving node. A snapshot's body is read
// from the sender's storage first (on the simulated disk), then travels as one message; its bytes
// count on the wire. One SimTransport per node incarnation: a crashed incarnation sends nothing.

import type { InstallSnapshotRequest, Message, NodeId } from '../raft/types.js';
import { emptyMessageCounts, type Transport, type TransportCountersSnapshot, type TransportHandler } from '../transport/transport.js';
import type { SimNetwork } from './network.js';

/** What the transport needs of the cluster. */
export interface SimWire {
  readonly network: SimNetwork;
  readonly nowUs: number;
  schedule(node: NodeId, delayUs: number, run: () => void): void;
  /** The handler of `node`'s live incarnation, or null if it is down. */
  handlerOf(node: NodeId): TransportHandler | null;
  register(node: NodeId, transport: SimTransport, handler: TransportHandler): void;
  /** Every message sent (for stats, checkers and the trace); `copies` as routed. */
  sent(message: Message, copies: number): void;
  delivered(message: Message): void;
  sizeOf(message: Message): number;
}

export class SimTransport implements Transport {
  private dead = false;
  private readonly counts = emptyMessageCounts();
  private messagesSent = 0;
  private bytesSent = 0;
  private messagesDropped = 0;
  private snapshotsSent = 0;
  private snapshotBytesSent = 0;

  constructor(
    private readonly wire: SimWire,
    readonly id: NodeId,
  ) {}

  kill(): void {
    this.dead = true;
  }

  start(handler: TransportHandler): void {
    this.wire.register(this.id, this, handler);
  }

  send(sent: Message): void {
    if (this.dead) return;
    this.count(sent);
    const network = this.wire.network;
    const message = network.rewrite === null ? sent : network.rewrite(sent);
    if (message === null) {
      this.wire.sent(sent, 0);
      this.messagesDropped += 1;
      return;
    }
    const copies = network.route(message.from, message.to);
    this.wire.sent(message, copies.length);
    if (copies.length === 0) this.messagesDropped += 1;
    for (const delayUs of copies) {
      this.wire.schedule(message.to, delayUs, () => {
        // A link cut while the message was in flight drops it too; so does a crashed receiver.
        if (!this.wire.network.canReach(message.from, message.to)) return;
        const handler = this.wire.handlerOf(message.to);
        if (handler === null) return;
        this.wire.delivered(message);
        handler.message(message);
      });
    }
  }

  async sendSnapshot(message: InstallSnapshotRequest, body: AsyncIterable<Uint8Array>): Promise<void> {
    if (this.dead) throw new Error('the sending node crashed');
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    for await (const chunk of body) {
      chunks.push(chunk.slice());
      bytes += chunk.byteLength;
    }
    if (this.dead) throw new Error('the sending node crashed');
    this.count(message);
    this.bytesSent += bytes;
    const copies = this.wire.network.route(message.from, message.to);
    this.wire.sent(message, Math.min(1, copies.length));
    if (copies.length === 0) {
      this.messagesDropped += 1;
      throw new Error(`snapshot to node ${message.to} lost`);
    }
    await new Promise<void>((resolve, reject) => {
      this.wire.schedule(message.to, copies[0]!, () => {
        const handler = this.wire.handlerOf(message.to);
        if (!this.wire.network.canReach(message.from, message.to) || handler === null) {
          reject(new Error(`snapshot to node ${message.to}: unreachable on arrival`));
          return;
        }
        this.snapshotsSent += 1;
        this.snapshotBytesSent += bytes;
        this.wire.delivered(message);
        handler.snapshot(message, chunks);
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
    this.dead = true;
  }

  private count(message: Message): void {
    this.messagesSent += 1;
    this.counts[message.type] += 1;
    this.bytesSent += this.wire.sizeOf(message);
  }
}

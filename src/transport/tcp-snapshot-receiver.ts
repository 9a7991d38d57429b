// The receiving side of snapshot transfers on one connection. A transfer is a run of snapshot-chunk
// frames with one transfer id: chunk 0 holds the encoded InstallSnapshot, chunks 1… the body, and
// the chunk flagged last ends it. Chunks must come in sequence; the body is bounded by
// `snapshotBytesMax`; a new chunk 0 replaces an unfinished transfer (the sender gave up on it).
// The body's chunks are kept as the frames' views into socket chunks (fresh buffers), not copied.

import type { InstallSnapshotRequest, Message, NodeId } from '../raft/types.js';
import { decodeMessage, type MessageDecodeOptions } from './codec.js';
import type { SnapshotChunkFrame } from './frame.js';

export type ChunkOutcome =
  | { readonly kind: 'pending' }
  | { readonly kind: 'complete'; readonly message: InstallSnapshotRequest; readonly body: readonly Uint8Array[] }
  /** The peer broke the protocol: close the connection with this reason. */
  | { readonly kind: 'error'; readonly reason: string };

interface Transfer {
  readonly id: number;
  readonly message: InstallSnapshotRequest;
  readonly chunks: Uint8Array[];
  bytes: number;
  nextSequence: number;
}

const PENDING: ChunkOutcome = { kind: 'pending' };

export class SnapshotReceiver {
  private transfer: Transfer | null = null;
  /** A transfer dropped by a partition: its remaining chunks are skipped, not errors. */
  private discardedId = 0;

  constructor(
    private readonly peer: NodeId,
    private readonly self: NodeId,
    private readonly snapshotBytesMax: number,
    private readonly decodeOptions: MessageDecodeOptions,
  ) {}

  /** Drops the transfer in progress (a partition): its later chunks are ignored. */
  discard(frame: SnapshotChunkFrame): void {
    if (this.transfer !== null) this.discardedId = this.transfer.id;
    else if (frame.sequence === 0) this.discardedId = frame.transferId;
    this.transfer = null;
  }

  accept(frame: SnapshotChunkFrame): ChunkOutcome {
    if (frame.sequence === 0) {
      let message: Message;
      try {
        message = decodeMessage(frame.data, this.decodeOptions);
      } catch (error) {
        return { kind: 'error', reason: `snapshot transfer ${frame.transferId}: ${error instanceof Error ? error.message : String(error)}` };
      }
      if (message.type !== 'InstallSnapshot' || message.from !== this.peer || message.to !== this.self) {
        return { kind: 'error', reason: `snapshot transfer ${frame.transferId}: chunk 0 must hold an InstallSnapshot from n${this.peer} to n${this.self}` };
      }
      this.transfer = { id: frame.transferId, message, chunks: [], bytes: 0, nextSequence: 1 };
    } else {
      const transfer = this.transfer;
      if (transfer === null && frame.transferId === this.discardedId) return PENDING;
      if (transfer === null || transfer.id !== frame.transferId || transfer.nextSequence !== frame.sequence) {
        const expected = transfer === null ? 'no transfer in progress' : `expected transfer ${transfer.id} chunk ${transfer.nextSequence}`;
        return { kind: 'error', reason: `snapshot chunk ${frame.sequence} of transfer ${frame.transferId}: ${expected}` };
      }
      transfer.nextSequence += 1;
      if (frame.data.length > 0) {
        transfer.chunks.push(frame.data);
        transfer.bytes += frame.data.length;
      }
      if (transfer.bytes > this.snapshotBytesMax) return { kind: 'error', reason: `snapshot transfer ${transfer.id}: more than snapshotBytesMax ${this.snapshotBytesMax} bytes` };
    }
    if (!frame.last) return PENDING;
    const done = this.transfer!;
    this.transfer = null;
    return { kind: 'complete', message: done.message, body: done.chunks };
  }
}

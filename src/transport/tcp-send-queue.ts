// The bounded send queue of one peer link: frames wait here for the connection (or for the
// socket's 'drain'), and what waits here plus what the socket holds unflushed never exceeds the
// bound — so a slow or unreading peer costs at most `bytesMax` of memory, whatever the sender does.

import type { FramedConnection } from './tcp-connection.js';

export interface QueuedFrame {
  readonly head: Uint8Array;
  readonly body: Uint8Array;
}

/** Above this many sent frames at the front, the array is compacted (no shift per frame). */
const COMPACT_AFTER_FRAMES = 1024;

export class SendQueue {
  private frames: QueuedFrame[] = [];
  /** frames[0 … start) are sent. */
  private start = 0;
  private bytes = 0;

  constructor(private readonly bytesMax: number) {}

  /** Bytes waiting here and, if given, unflushed in the connection's socket. */
  bytesWaiting(connection: FramedConnection | null): number {
    return this.bytes + (connection?.bufferedBytes ?? 0);
  }

  get empty(): boolean {
    return this.start === this.frames.length;
  }

  /** Queues `frame` unless that would exceed the bound; false: dropped (the caller counts it). */
  push(frame: QueuedFrame, connection: FramedConnection | null): boolean {
    const frameBytes = frame.head.length + frame.body.length;
    if (this.bytesWaiting(connection) + frameBytes > this.bytesMax) return false;
    this.frames.push(frame);
    this.bytes += frameBytes;
    return true;
  }

  /**
   * Writes queued frames to `connection` under one cork (one writev) until the socket asks to wait
   * for 'drain'; the caller calls this again on 'drain'.
   */
  flushTo(connection: FramedConnection): void {
    if (!connection.open || connection.blocked || this.empty) return;
    const socket = connection.socket;
    socket.cork();
    while (this.start < this.frames.length) {
      const frame = this.frames[this.start]!;
      this.start += 1;
      this.bytes -= frame.head.length + frame.body.length;
      if (!connection.write(frame.head, frame.body)) break;
    }
    socket.uncork();
    if (this.empty) {
      this.frames = [];
      this.start = 0;
    } else if (this.start > COMPACT_AFTER_FRAMES && this.start * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.start);
      this.start = 0;
    }
  }

  /** Empties the queue; returns how many frames were dropped. */
  clear(): number {
    const dropped = this.frames.length - this.start;
    this.frames = [];
    this.start = 0;
    this.bytes = 0;
    return dropped;
  }
}

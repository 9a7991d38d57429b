// One TCP (or TLS) connection carrying frames (frame.ts): cuts the incoming stream into frames,
// writes frames out with the socket's backpressure visible to the caller, and closes with a reason
// exactly once. What the frames mean — handshake, messages, snapshot transfers — is the transport's
// business (tcp.ts).

import type { Socket } from 'node:net';
import { FrameDecoder, type Frame } from './frame.js';
import type { NodeId } from '../raft/types.js';

export interface ConnectionEvents {
  /** A whole frame arrived (not called after close). */
  frame(connection: FramedConnection, frame: Frame): void;
  /**
   * The connection is closed: by us (`reason` says why), by the peer, or by a socket error.
   * `protocolError` is set when the peer sent something malformed or not allowed.
   */
  closed(connection: FramedConnection, reason: string, protocolError: boolean): void;
}

export class FramedConnection {
  /** The peer's id, once its hello was accepted (0 before). */
  peer: NodeId = 0;
  /** The handshake finished: messages may flow. */
  open = false;
  /** The peer's address:port, kept for log lines written after the socket is gone. */
  remote: string;
  private closedReason: string | null = null;
  private readonly decoder: FrameDecoder;
  private drainWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(
    readonly socket: Socket,
    /** 'dialed': we connected to the peer; 'accepted': the peer connected to us. */
    readonly direction: 'dialed' | 'accepted',
    frameBytesMax: number,
    private readonly events: ConnectionEvents,
  ) {
    this.decoder = new FrameDecoder({ frameBytesMax });
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('connect', () => {
      this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1_000);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('drain', () => this.drained());
    socket.on('error', (error: Error) => this.close(`socket error: ${error.message}`, false));
    socket.on('end', () => this.close('the peer closed the connection', false));
    socket.on('close', () => this.close('the connection closed', false));
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** Bytes written but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  /** The socket asked us to wait for 'drain' before writing more. */
  get blocked(): boolean {
    return this.socket.writableNeedDrain;
  }

  /** Writes one frame (head and body back to back, body not copied); false: wait for 'drain'. */
  write(head: Uint8Array, body: Uint8Array, done?: (error?: Error | null) => void): boolean {
    if (this.closed) {
      if (done !== undefined) queueMicrotask(() => done(new Error(`connection closed: ${this.closedReason}`)));
      return false;
    }
    if (body.length === 0) return this.socket.write(head, done);
    this.socket.write(head);
    return this.socket.write(body, done);
  }

  /**
   * Resolves when the socket takes more writes; rejects if the connection closes first. After
   * `stallTimeoutMs` without a 'drain' the peer is taken as stuck: the connection is closed.
   */
  waitWritable(stallTimeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`connection closed: ${this.closedReason}`));
    if (!this.blocked) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.close(`the peer read nothing for ${stallTimeoutMs} ms`, false), stallTimeoutMs);
      this.drainWaiters.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** Closes once, with the reason given to `events.closed`. */
  close(reason: string, protocolError: boolean): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.open = false;
    this.socket.destroy();
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter.reject(new Error(`connection closed: ${reason}`));
    this.events.closed(this, reason, protocolError);
  }

  private received(chunk: Buffer): void {
    if (this.closed) return;
    const { frames, error } = this.decoder.push(chunk);
    for (const frame of frames) {
      if (this.closed) return;
      this.events.frame(this, frame);
    }
    if (error !== null) this.close(error.message, true);
  }

  private drained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }
}
